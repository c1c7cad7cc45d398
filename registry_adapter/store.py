"""The embedded registry store: SQLite by default, PostgreSQL (or any tested URL) by config.

Change feed: every content change takes the next ``change_seq`` under the store's writer
lock; re-writing identical content takes none. Removal leaves a tombstone (content cleared,
``deleted`` set) so the feed can report it; :meth:`RegistryStore.purge_tombstones` drops old
tombstones and moves the feed's horizon, after which older watermarks are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fedlookup.errors import InputError, RegistryError
from registry_adapter import migrate as migrations
from registry_adapter.db import as_utc, create_engine, redact_url, translate_errors
from registry_adapter.identifiers import MakeAliases
from registry_adapter.importer import ImportSummary, import_file
from registry_adapter.models import Category, Change, Record
from registry_adapter.parse import FileFormat, Reject, Row, validate
from registry_adapter.schema import TOMBSTONE, records, state
from registry_adapter.source import RegistrySource
from registry_adapter.staging import (
    ApplyCounts,
    drop_staging,
    lock_state,
    new_staging_table,
    stage_and_apply,
)
from registry_adapter.stats import RegistryStats, compute_stats
from registry_adapter.watermark import check_watermark, format_watermark

__all__ = ["RegistryStore"]

_READ_BATCH = 5000
_RECORD_COLS = (
    records.c.record_id,
    records.c.make,
    records.c.model,
    records.c.caliber,
    records.c.serial,
    records.c.category,
    records.c.recorded_at,
    records.c.notes,
)


def _record(row: Any) -> Record:
    return Record(
        record_id=row.record_id,
        make=row.make,
        model=row.model or "",
        caliber=row.caliber or "",
        serial=row.serial,
        category=Category(row.category),
        recorded_at=as_utc(row.recorded_at),
        notes=row.notes or "",
    )


class RegistryStore(RegistrySource):
    """The node's own registry, read-write.

    Args:
        url: SQLAlchemy URL (``sqlite:///registry.db``, ``postgresql+psycopg://...``) or a
            bare path to a SQLite file.

    Raises:
        ConfigError: the URL is malformed or its database is not supported.

    Example:
        >>> import tempfile, pathlib
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> store = RegistryStore(str(tmp / "r.db"))
        >>> store.migrate() == migrations.head_revision()
        True
        >>> store.count()
        0
        >>> store.close()
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = create_engine(url)
        self._label = redact_url(url)
        self._checked = False

    def _errors(self, what: str) -> AbstractContextManager[None]:
        return translate_errors(f"{self._label}: {what}")

    # -- schema -------------------------------------------------------------------------

    def migrate(self) -> str:
        """Create or upgrade the schema to the newest revision; returns that revision.

        Raises:
            RegistryUnavailableError: the database cannot be reached.
        """
        with self._errors("migrating the registry schema"):
            migrations.upgrade(self._engine)
        self._checked = True
        return migrations.head_revision()

    def _require_schema(self, *, create: bool = False) -> None:
        if self._checked:
            return
        with self._errors("reading the registry schema"), self._engine.connect() as conn:
            current = migrations.current_revision(conn)
        head = migrations.head_revision()
        if current is None and create:
            self.migrate()
        elif current is None:
            raise RegistryError(
                "the registry database has no fedlookup schema yet: run "
                "`fedlookup registry migrate` or import a file"
            )
        elif current != head:
            raise RegistryError(
                f"the registry schema is at revision {current}, this version needs {head}: "
                "back the database up, then run `fedlookup registry migrate`"
            )
        self._checked = True

    # -- reading ------------------------------------------------------------------------

    def count(self) -> int:
        self._require_schema()
        with self._errors("counting records"), self._engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(records).where(~records.c.deleted)
            return int(conn.execute(query).scalar_one())

    def iter_records(self) -> Iterator[Record]:
        self._require_schema()
        query = sa.select(*_RECORD_COLS).where(~records.c.deleted).order_by(records.c.record_id)
        with self._errors("reading records"), self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=_READ_BATCH).execute(
                query
            )
            try:
                for row in result:
                    yield _record(row)
            finally:
                # a caller that stops early must not leave a server-side cursor open
                result.close()

    def _state(self, conn: sa.Connection) -> Any:
        return conn.execute(sa.select(state)).one()

    def watermark(self) -> str:
        self._require_schema()
        with self._errors("reading the change feed"), self._engine.connect() as conn:
            st = self._state(conn)
        return format_watermark(st.store_id, int(st.last_seq))

    def changes_since(self, watermark: str | None) -> Iterator[Change]:
        self._require_schema()
        with self._errors("reading the change feed"), self._engine.connect() as conn:
            st = self._state(conn)
            since = -1
            if watermark is not None:
                since = check_watermark(watermark, st.store_id, int(st.last_seq), int(st.horizon))
            query = (
                sa.select(*_RECORD_COLS, records.c.deleted)
                .where(records.c.change_seq > since)
                .order_by(records.c.change_seq)
            )
            if watermark is None:
                query = query.where(~records.c.deleted)
            result = conn.execution_options(stream_results=True, yield_per=_READ_BATCH).execute(
                query
            )
            try:
                for row in result:
                    yield Change(row.record_id, None if row.deleted else _record(row))
            finally:
                result.close()

    def last_change_at(self) -> datetime | None:
        """When the store's content last changed, ``None`` if never."""
        self._require_schema()
        with self._errors("reading the change feed"), self._engine.connect() as conn:
            value = self._state(conn).last_change_at
        return as_utc(value) if value is not None else None

    def removed_count(self) -> int:
        """Number of tombstones the change feed still holds."""
        self._require_schema()
        with self._errors("counting records"), self._engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(records).where(records.c.deleted)
            return int(conn.execute(query).scalar_one())

    # -- writing ------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        strict: bool = False,
        progress: Callable[[int], None] | None = None,
        *,
        fmt: FileFormat | None = None,
        replace: bool = False,
    ) -> ImportSummary:
        """Import a CSV or JSON Lines file (see :func:`registry_adapter.importer.import_file`).

        Creates the schema on first use. ``replace`` takes the file as the whole registry.
        """
        self._require_schema(create=True)
        return import_file(
            self._engine, path, strict=strict, fmt=fmt, progress=progress, replace=replace
        )

    def upsert(self, items: Iterable[Record]) -> ApplyCounts:
        """Insert or update records in one transaction; identical content changes nothing.

        Raises:
            InputError: a record is unusable (no usable serial or make) or an id appears
                twice; nothing is written. ``line`` is the record's 1-based position.
        """
        self._require_schema(create=True)

        def rows() -> Iterator[Row | Reject]:
            for n, rec in enumerate(items, start=1):
                values = {
                    "record_id": rec.record_id,
                    "make": rec.make,
                    "model": rec.model,
                    "caliber": rec.caliber,
                    "serial": rec.serial,
                    "category": rec.category.value,
                    "recorded_at": rec.recorded_at.isoformat(),
                    "notes": rec.notes,
                }
                yield validate(n, values)

        def fail(reject: Reject) -> None:
            raise InputError(reject.reason, line=reject.line, field=reject.field)

        staging = new_staging_table()
        with self._errors("writing records"), self._engine.connect() as conn:
            try:
                with conn.begin():
                    return stage_and_apply(conn, staging, rows(), fail)
            finally:
                drop_staging(conn, staging)

    def delete(self, record_ids: Iterable[str]) -> int:
        """Remove records, leaving tombstones for the change feed; returns how many.

        Unknown or already removed ids are ignored.
        """
        self._require_schema(create=True)
        with self._errors("removing records"), self._engine.begin() as conn:
            _, seq = lock_state(conn)
            now = datetime.now(UTC)
            removed = 0
            for rid in record_ids:
                stmt = (
                    sa.update(records)
                    .where(records.c.record_id == rid, ~records.c.deleted)
                    .values(**TOMBSTONE, change_seq=seq + 1, changed_at=now)
                )
                if conn.execute(stmt).rowcount:
                    seq += 1
                    removed += 1
            if removed:
                conn.execute(
                    sa.update(state).where(state.c.id == 1).values(last_seq=seq, last_change_at=now)
                )
        return removed

    def purge_tombstones(self, watermark: str) -> int:
        """Drop tombstones at or before ``watermark``; older watermarks become invalid.

        Call it with the oldest watermark every consumer of the feed has passed.

        Raises:
            WatermarkError: the watermark is not valid for this store.
        """
        self._require_schema()
        with self._errors("purging tombstones"), self._engine.begin() as conn:
            store_id, last_seq = lock_state(conn)
            horizon = int(conn.execute(sa.select(state.c.horizon)).scalar_one())
            seq = check_watermark(watermark, store_id, last_seq, horizon)
            gone = conn.execute(
                sa.delete(records).where(records.c.deleted, records.c.change_seq <= seq)
            ).rowcount
            conn.execute(sa.update(state).where(state.c.id == 1).values(horizon=seq))
        return int(gone)

    def tombstones_before(self, when: datetime) -> tuple[str, int]:
        """Where to purge so as to drop every tombstone made before ``when``, and how many.

        Args:
            when: removals older than this (an aware time; a naive one is taken as UTC).

        Returns:
            The watermark to hand :meth:`purge_tombstones` (the newest such tombstone's
            sequence, never below the feed's horizon) and the number of tombstones that
            purge would drop (0 and the current horizon when there is none).
        """
        when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        self._require_schema()
        with self._errors("reading the change feed"), self._engine.connect() as conn:
            st = self._state(conn)
            newest = conn.execute(
                sa.select(sa.func.max(records.c.change_seq)).where(
                    records.c.deleted, records.c.changed_at < when.astimezone(UTC)
                )
            ).scalar_one()
            seq = max(int(newest or 0), int(st.horizon))
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(records)
                .where(records.c.deleted, records.c.change_seq <= seq)
            ).scalar_one()
        return format_watermark(st.store_id, seq), int(count)

    def stats(self, aliases: MakeAliases | None = None) -> RegistryStats:
        """Counts by category, identifier collisions, tombstones and last change.

        Raises:
            RegistryUnavailableError: the database cannot be reached.
        """
        base = compute_stats(self, aliases)
        return dataclasses.replace(
            base, removed=self.removed_count(), last_change_at=self.last_change_at()
        )

    def close(self) -> None:
        self._engine.dispose()
