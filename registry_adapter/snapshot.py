"""Snapshot-diff change feed for registries we can only read.

A local SQLite file keeps, per record id, a digest of the record's content and the
sequence at which it last changed. :meth:`Snapshot.refresh` streams the current records
into a temporary table and lets SQLite compute what was added, changed or removed, in
constant Python memory. All changes found by one refresh share one sequence number.
The file is a cache: deleting it only starts a new feed (consumers then rebuild).
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from fedlookup.errors import RegistryUnavailableError
from registry_adapter.models import Record
from registry_adapter.watermark import check_watermark, format_watermark

__all__ = ["Snapshot", "record_digest"]

_BATCH = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    feed_id TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    horizon INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_records (
    record_id TEXT PRIMARY KEY,
    digest BLOB NOT NULL,
    deleted INTEGER NOT NULL,
    change_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_snapshot_seq ON snapshot_records (change_seq);
"""


def record_digest(rec: Record) -> bytes:
    """A 16-byte digest of everything a record holds (a change of any field is a change)."""
    text = "\x1f".join(
        (rec.make, rec.model, rec.caliber, rec.serial, rec.category.value,
         rec.recorded_at.isoformat(), rec.notes)
    )  # fmt: skip
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Snapshot:
    """The local state of a snapshot-diff feed.

    Args:
        path: SQLite file, created if absent.

    Raises:
        RegistryUnavailableError: the file cannot be opened or written.
    """

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO snapshot_state VALUES (1, ?, 0, 0)", (str(uuid.uuid4()),)
            )
        except sqlite3.Error as exc:
            raise RegistryUnavailableError(f"snapshot {path}: {exc}") from exc
        self.path = path

    def _state(self) -> tuple[str, int, int]:
        feed_id, last_seq, horizon = self._db.execute(
            "SELECT feed_id, last_seq, horizon FROM snapshot_state"
        ).fetchone()
        return str(feed_id), int(last_seq), int(horizon)

    def refresh(self, records: Iterable[Record]) -> str:
        """Compare the current records with the snapshot; returns the new watermark."""
        db = self._db
        try:
            db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS scan (record_id TEXT PRIMARY KEY, digest BLOB)"
            )
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM scan")
                it = iter(records)
                while batch := list(itertools.islice(it, _BATCH)):
                    db.executemany(
                        "INSERT INTO scan VALUES (?, ?) ON CONFLICT (record_id) DO NOTHING",
                        [(r.record_id, record_digest(r)) for r in batch],
                    )
                feed_id, last_seq, _ = self._state()
                seq = last_seq + 1
                changed = db.execute(
                    "INSERT INTO snapshot_records SELECT record_id, digest, 0, ? FROM scan WHERE 1 "
                    "ON CONFLICT (record_id) DO UPDATE SET digest = excluded.digest, deleted = 0, "
                    "change_seq = excluded.change_seq "
                    "WHERE snapshot_records.digest != excluded.digest OR snapshot_records.deleted",
                    (seq,),
                ).rowcount
                changed += db.execute(
                    "UPDATE snapshot_records SET deleted = 1, digest = x'', change_seq = ? "
                    "WHERE NOT deleted AND record_id NOT IN (SELECT record_id FROM scan)",
                    (seq,),
                ).rowcount
                if changed:
                    db.execute("UPDATE snapshot_state SET last_seq = ?", (seq,))
                    last_seq = seq
                db.execute("DELETE FROM scan")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise RegistryUnavailableError(f"snapshot {self.path}: {exc}") from exc
        return format_watermark(feed_id, last_seq)

    def changed_since(self, watermark: str) -> Iterator[list[tuple[str, bool]]]:
        """Batches of ``(record_id, deleted)`` changed after ``watermark``, oldest first.

        Raises:
            WatermarkError: the watermark is not valid for this snapshot (raised at once).
        """
        feed_id, last_seq, horizon = self._state()
        since = check_watermark(watermark, feed_id, last_seq, horizon)
        cursor = self._db.execute(
            "SELECT record_id, deleted FROM snapshot_records WHERE change_seq > ? "
            "ORDER BY change_seq, record_id",
            (since,),
        )

        def batches() -> Iterator[list[tuple[str, bool]]]:
            while rows := cursor.fetchmany(500):
                yield [(str(rid), bool(deleted)) for rid, deleted in rows]

        return batches()

    def close(self) -> None:
        """Close the file."""
        self._db.close()
