"""A read-only registry onto a table of an existing database, through a column mapping.

The operator keeps their registry where it is; the node only reads it (PostgreSQL sessions
are opened read-only). Rows that cannot yield identifiers (no usable make or serial) are
skipped and logged by record id, never by serial; a category code the mapping does not
know is a configuration error, since guessing a label would mislead a peer.

Change feed: snapshot diff (see :mod:`registry_adapter.snapshot`). A foreign schema rarely
has a trustworthy ``updated_at`` and never records deletions, so the adapter keeps a small
local table of ``(record_id, content digest, change_seq)`` and compares it with a scan of
the foreign table on each :meth:`MappedRegistry.watermark` and
:meth:`MappedRegistry.changes_since`. Added, changed and removed rows are all found, at the
cost of one streaming scan per call.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fedlookup.errors import ConfigError, InputError
from registry_adapter.canonical_v2 import identify
from registry_adapter.db import create_engine, translate_errors
from registry_adapter.mapping import ColumnMapping
from registry_adapter.models import Change, Record
from registry_adapter.snapshot import Snapshot
from registry_adapter.source import RegistrySource

__all__ = ["MappedRegistry"]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BATCH = 5000
_FETCH = 500


def _as_datetime(value: object) -> datetime:
    if value is None:
        return _EPOCH
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).strip())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class MappedRegistry(RegistrySource):
    """Read-only :class:`RegistrySource` onto a foreign table.

    Args:
        url: SQLAlchemy URL of the existing database.
        mapping: where each field lives.
        snapshot: SQLite file holding the change-feed snapshot; a temporary one (so every
            process starts a new feed and consumers rebuild) when ``None``.

    Raises:
        ConfigError: the table or a mapped column does not exist (naming it).
        RegistryUnavailableError: the database cannot be reached.
    """

    def __init__(self, url: str, mapping: ColumnMapping, *, snapshot: Path | None = None) -> None:
        self.url = url
        self.mapping = mapping
        engine = create_engine(url)
        if engine.dialect.name == "postgresql":
            engine = engine.execution_options(postgresql_readonly=True)
        self._engine = engine
        self._table = self._reflect()
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if snapshot is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="fedlookup-snapshot-")
            snapshot = Path(self._tmpdir.name) / "snapshot.db"
        self._snapshot = Snapshot(snapshot)
        self.skipped = 0

    def _reflect(self) -> sa.Table:
        schema, name = self.mapping.schema_and_table
        with translate_errors(f"reading table {self.mapping.table}"):
            try:
                table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=self._engine)
            except sa.exc.NoSuchTableError as exc:
                raise ConfigError(
                    "registry.mapping.table", f"no table {self.mapping.table!r}"
                ) from exc
        m = self.mapping
        for key in (
            "record_id",
            "make",
            "serial",
            "category",
            "model",
            "caliber",
            "recorded_at",
            "notes",
        ):
            column = getattr(m, key)
            if column is not None and column not in table.c:
                raise ConfigError(
                    f"registry.mapping.{key}", f"table {m.table!r} has no column {column!r}"
                )
        return table

    def _columns(self) -> list[sa.ColumnElement[Any]]:
        m, c = self.mapping, self._table.c
        return [
            c[m.record_id].label("record_id"),
            c[m.make].label("make"),
            c[m.serial].label("serial"),
            *(
                (c[col] if col is not None else sa.null()).label(key)
                for key, col in (
                    ("category", m.category),
                    ("model", m.model),
                    ("caliber", m.caliber),
                    ("recorded_at", m.recorded_at),
                    ("notes", m.notes),
                )
            ),
        ]

    def _to_record(self, row: Any) -> Record | None:
        rid = "" if row.record_id is None else str(row.record_id).strip()
        make = "" if row.make is None else str(row.make).strip()
        serial = "" if row.serial is None else str(row.serial).strip()
        try:
            if not rid:
                raise InputError("missing", field="record_id")
            identify(make, serial)  # the same validation as import and check (rules v2)
            recorded_at = _as_datetime(row.recorded_at)
        except (InputError, ValueError) as exc:
            self.skipped += 1
            fld = exc.field if isinstance(exc, InputError) else "recorded_at"
            log.warning("%s: record %r skipped: %s unusable", self.mapping.table, rid, fld)
            return None
        category = self.mapping.map_category(row.category)
        if category is None:
            raise ConfigError(
                "registry.mapping.category_values",
                f"no mapping for category value {row.category!r} (record {rid!r})",
            )
        return Record(
            record_id=rid,
            make=make,
            model="" if row.model is None else str(row.model).strip(),
            caliber="" if row.caliber is None else str(row.caliber).strip(),
            serial=serial,
            category=category,
            recorded_at=recorded_at,
            notes="" if row.notes is None else str(row.notes),
        )

    def _stream(self, query: sa.Select[Any]) -> Iterator[Record]:
        with translate_errors(f"reading {self.mapping.table}"), self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
            for row in result:
                rec = self._to_record(row)
                if rec is not None:
                    yield rec

    @staticmethod
    def _key_in(key: sa.Column[Any], wanted: list[str]) -> sa.ColumnElement[bool]:
        # Compare in the key's own type so the database can use its primary-key index;
        # a cast to text would scan the table once per batch.
        if isinstance(key.type, sa.Integer):
            return key.in_([int(w) for w in wanted if w.lstrip("-").isdigit()])
        if isinstance(key.type, sa.String):
            return key.in_(wanted)
        return sa.cast(key, sa.String).in_(wanted)

    def count(self) -> int:
        """Rows in the foreign table (including any :meth:`iter_records` would skip)."""
        with translate_errors(f"counting {self.mapping.table}"), self._engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(self._table)
            return int(conn.execute(query).scalar_one())

    def iter_records(self) -> Iterator[Record]:
        key = self._table.c[self.mapping.record_id]
        yield from self._stream(sa.select(*self._columns()).order_by(key))

    def watermark(self) -> str:
        return self._snapshot.refresh(self.iter_records())

    def changes_since(self, watermark: str | None) -> Iterator[Change]:
        if watermark is None:
            for rec in self.iter_records():
                yield Change(rec.record_id, rec)
            return
        self._snapshot.refresh(self.iter_records())
        ids = self._snapshot.changed_since(watermark)
        key = self._table.c[self.mapping.record_id]
        for batch in ids:
            wanted = [rid for rid, deleted in batch if not deleted]
            found: dict[str, Record] = {}
            if wanted:
                query = sa.select(*self._columns()).where(self._key_in(key, wanted))
                found = {r.record_id: r for r in self._stream(query)}
            for rid, _deleted in batch:
                yield Change(rid, found.get(rid))

    def close(self) -> None:
        self._engine.dispose()
        self._snapshot.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
