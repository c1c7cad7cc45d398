"""SQLite state of the node's encrypted index (stdlib ``sqlite3``; one file, WAL, 0600).

Tables::

    meta      key -> value: epoch_id, version, epoch_start, watermark, country, size
    records   record_id, id_digest, category, reference, tags (its entries), version
    entries   tag (rowid), record_id, prk, slot, category, sealed, version
    removals  tag, version

``entries`` keeps, per identifier occurrence, everything needed to export it (tag, sealed
label) and to move it to another slot without elliptic-curve work (``prk``). Only the
indexes that exports and updates need exist (each costs the full build about 2 us a row):
an identifier's occupied slots are found by probing its tags, as the asker does.
``removals`` keeps the tags removed since the epoch started, so any version of this epoch
can get a delta.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedlookup.errors import RegistryUnavailableError

__all__ = ["IndexStore"]

_SECONDARY = (
    "CREATE INDEX IF NOT EXISTS records_reference ON records (reference)",
    "CREATE INDEX IF NOT EXISTS entries_version ON entries (version)",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY, id_digest BLOB NOT NULL, category INTEGER NOT NULL,
    reference BLOB NOT NULL, tags BLOB NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    tag INTEGER PRIMARY KEY, record_id TEXT NOT NULL, prk BLOB NOT NULL, slot INTEGER NOT NULL,
    category INTEGER NOT NULL, sealed BLOB NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS removals (tag INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removals_version ON removals (version);
"""


class IndexStore:
    """Connections to the index database, one per thread.

    Args:
        path: the database file (created 0600 with its directory if absent).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        self.connect()

    def connect(self) -> sqlite3.Connection:
        """Return this thread's connection (autocommit; transactions are explicit)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
                for statement in _SECONDARY:
                    db.execute(statement)
                # The WAL files hold the same secrets as the database: same mode.
                for suffix in ("-wal", "-shm"):
                    side = self.path.with_name(self.path.name + suffix)
                    if side.exists():
                        side.chmod(0o600)
            except sqlite3.Error as exc:
                raise RegistryUnavailableError(f"index database {self.path}: {exc}") from exc
            self._local.db = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it (crash included)."""
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise RegistryUnavailableError(f"index database {self.path}: {exc}") from exc
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot while a writer commits."""
        db = self.connect()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    @staticmethod
    def drop_secondary(db: sqlite3.Connection) -> None:
        """Drop the secondary indexes (inside a transaction, before a bulk load)."""
        db.execute("DROP INDEX IF EXISTS records_reference")
        db.execute("DROP INDEX IF EXISTS entries_version")

    @staticmethod
    def create_secondary(db: sqlite3.Connection) -> None:
        """Create the secondary indexes (after a bulk load, same transaction)."""
        for statement in _SECONDARY:
            db.execute(statement)

    @staticmethod
    def get_meta(db: sqlite3.Connection) -> dict[str, str]:
        """Return the ``meta`` table as a dict."""
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    @staticmethod
    def set_meta(db: sqlite3.Connection, **values: str | int) -> None:
        """Upsert ``meta`` values."""
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )
