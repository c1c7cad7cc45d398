"""SQLite state of the node's encrypted index (stdlib ``sqlite3``; one file, WAL, 0600).

Tables::

    meta      key -> value: epoch_id, version, epoch_start, watermark, country, size,
              layout (of the entries: "2", slot chains per category), and version_floor
              in a store rebuilt after damage (the next version is above it)
    records   record_id, id_digest, category, reference, tags (its entries), version
    entries   tag (rowid), record_id, prk, slot, category, sealed, version
    removed   tag, category, version

``entries`` keeps, per identifier occurrence, everything needed to export it (tag, sealed
label) and to move it to another slot without elliptic-curve work (``prk``). Only the
indexes that exports and updates need exist (each costs the full build about 2 us a row):
an identifier's occupied slots are found by probing its tags, as the asker does.
``removed`` keeps the tags removed since the epoch started, with their category, so any
version of this epoch can get a delta filtered to a peer's view. A store written by an
earlier layout (one slot chain per identifier, table ``removals``) is refused as needing a
rebuild.

Every SQLite error is translated here: a busy, locked or unwritable file is
:class:`~fedlookup.errors.RegistryUnavailableError` (it may pass), a damaged one (malformed
pages, not a database, text that does not decode, missing or mistyped ``meta`` rows) is
:class:`~fedlookup.errors.IndexIntegrityError` telling the operator to rebuild with
``fedlookup node index --full``, which sets the damaged file aside
(:meth:`IndexStore.set_aside`) and builds anew.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedlookup.errors import FedlookupError, IndexIntegrityError, RegistryUnavailableError

__all__ = ["LAYOUT", "META_KEYS", "REBUILD_HINT", "IndexStore", "damaged"]

#: The layout of stored entries this code writes (slot chains per category, ADR 0006).
LAYOUT = "2"
#: What the operator is told to do about a damaged store.
REBUILD_HINT = "rebuild it with `fedlookup node index --full`"
#: Rows every initialised ``meta`` table holds; the integer ones must parse.
META_KEYS = ("epoch_id", "version", "epoch_start", "size", "country", "watermark")
_META_INTS = ("version", "epoch_start", "size")
#: SQLite primary result codes of a file that may work again later (busy, locked, I/O,
#: full, permissions); every other error means the file itself is damaged.
_TRANSIENT = {3, 5, 6, 7, 8, 9, 10, 13, 14, 15}
_DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)

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
CREATE TABLE IF NOT EXISTS removed (
    tag INTEGER NOT NULL, category INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_version ON removed (version);
"""


def damaged(detail: str, path: Path | None = None) -> IndexIntegrityError:
    """The error for a damaged index store (names the file when known, and the remedy)."""
    where = f" {path}" if path is not None else ""
    return IndexIntegrityError(f"index store{where} is damaged ({detail}); {REBUILD_HINT}")


def _translate(exc: Exception, path: Path) -> FedlookupError:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _TRANSIENT:
        return RegistryUnavailableError(f"index database {path}: {exc}")
    return damaged(f"{type(exc).__name__}: {exc}", path)


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
        """Return this thread's connection (autocommit; transactions are explicit).

        Raises:
            IndexIntegrityError: the file is damaged.
            RegistryUnavailableError: the file is busy, locked or unreadable.
        """
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None and self._file_id() not in (None, self._local.file_id):
            # The file was replaced (a damaged store set aside and rebuilt by
            # `node index --full`): a serving node moves to the new one by itself.
            self.close()
            db = None
        if db is None:
            try:
                self._local.file_id = self._file_id()
                db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            except _DB_ERRORS as exc:
                raise _translate(exc, self.path) from exc
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
                for statement in _SECONDARY:
                    db.execute(statement)
            except _DB_ERRORS as exc:
                db.close()
                raise _translate(exc, self.path) from exc
            # The WAL files hold the same secrets as the database: same mode.
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.chmod(0o600)
            self._local.db = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it (crash included).

        Raises:
            IndexIntegrityError, RegistryUnavailableError: as for :meth:`connect`, from any
                statement of the transaction.
        """
        with self._transaction("BEGIN IMMEDIATE") as db:
            yield db

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot while a writer commits.

        Raises:
            IndexIntegrityError, RegistryUnavailableError: as for :meth:`write`.
        """
        with self._transaction("BEGIN") as db:
            yield db

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        db = self.connect()
        try:
            db.execute(begin)
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except _DB_ERRORS as exc:
            raise _translate(exc, self.path) from exc

    def check(self) -> None:
        """Check every page of the file (``PRAGMA quick_check``) and the ``meta`` rows.

        Raises:
            IndexIntegrityError: the file is damaged.
        """
        with self.read() as db:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check").fetchall()]
            if found != ["ok"]:
                raise damaged("; ".join(found[:3]), self.path)
            self.get_meta(db)

    @staticmethod
    def set_aside(path: Path, replacement: Path, *, label: str = "damaged") -> Path:
        """Rename a store file (and its WAL files) to ``<name>.<label>-<UTC time>`` and move
        ``replacement`` (a closed, initialised store) into its place.

        The WAL files move with their database: left behind, they would be replayed into
        the replacement.

        Close this process's connections to both first. Other processes' connections (a
        serving node) move to the new file at their next transaction (:meth:`connect`
        compares the file's identity); while the path is missing they keep the old one.

        Returns:
            The new path of the old file.
        """
        path = Path(path)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = path.with_name(f"{path.name}.{label}-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        os.replace(replacement, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the renames survive a crash
        finally:
            os.close(dir_fd)
        return target

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

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
        """Return the ``meta`` table as a dict: empty for a new store, else every one of
        :data:`META_KEYS`, the integer ones parsable.

        Raises:
            IndexIntegrityError: a row is missing or mistyped, or the table is empty while
                the store holds entries.
        """
        meta: dict[str, str] = {}
        for key, value in db.execute("SELECT key, value FROM meta").fetchall():
            if not isinstance(key, str) or not isinstance(value, str):
                raise damaged(f"meta row {key!r} is not text")
            meta[key] = value
        if not meta:
            if db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None:
                raise damaged("meta table empty but entries present")
            return meta
        for key in META_KEYS:
            if key not in meta:
                raise damaged(f"meta row {key!r} missing")
        for key in (*_META_INTS, "version_floor"):
            value = meta.get(key, "0")  # version_floor is optional
            if not (value.isascii() and value.isdigit()):
                raise damaged(f"meta row {key!r} is not a count")
        if meta.get("layout", "1") != LAYOUT and meta["size"] != "0":
            raise IndexIntegrityError(
                f"index store built by an earlier fedlookup (layout {meta.get('layout', '1')}, "
                f"this one writes {LAYOUT}); {REBUILD_HINT}"
            )
        return meta

    @staticmethod
    def set_meta(db: sqlite3.Connection, **values: str | int) -> None:
        """Upsert ``meta`` values."""
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )
