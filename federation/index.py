"""The node's encrypted index: :class:`NodeIndex` (and, re-exported, :class:`IndexMirror`).

Each record contributes one entry per identifier: a tag and a sealed label (see
:mod:`federation.labels` for the derivations). The index is kept in SQLite
(:mod:`federation.index_store`) so that

* an update costs elliptic-curve work only for records whose identifiers changed (a record's
  identifier digest is stored; a label-only change re-seals without EC work);
* removing a record deletes its stored entries, no recomputation;
* every update is one transaction: a crash leaves the previous version whole;
* every version of the current epoch can get a delta (added entries, removed tags).

Occurrence slots are numbered per identifier *and category* (ADR 0006), and each such chain
stays dense: a new occurrence takes the lowest free slot of its chain, and when a removal
leaves a hole, the chain's highest slot moves into it (a new tag and keystream, HMAC work
only). The asker therefore stops probing a chain at its first missing slot, and a peer
restricted to some categories receives exactly their chains, dense, with no trace of the
others: exports and deltas (removed tags included) are filtered to the peer's view.

Example::

    index = NodeIndex(Path("data/index"), key=store.current(), country="DE")
    index.update([IndexInput("r1", (b"v1|MS|GLOCK|123", b"v1|S|123"), label)])
    blob = index.export(since_version=None, categories=None)
"""

from __future__ import annotations

import logging
import struct
import time
from array import array
from collections.abc import Iterable
from pathlib import Path

from federation.index_build import Progress
from federation.index_floor import VersionFloor, floor_path
from federation.index_format import IndexBlob, encode
from federation.index_mirror import IndexMirror
from federation.index_store import LAYOUT, IndexStore, damaged
from federation.index_update import MAX_SLOTS, IndexInput, IndexUpdate, UpdateStats
from federation.keys import EpochKey
from federation.labels import (
    LABEL_LENGTH,
    Label,
    category_code,
    parse_reference,
)
from fedlookup.errors import (
    ConfigError,
    FedlookupError,
    IndexIntegrityError,
    IndexVersionError,
    InputError,
)

_log = logging.getLogger("fedlookup.index")

__all__ = ["MAX_SLOTS", "IndexInput", "IndexMirror", "Label", "NodeIndex", "UpdateStats"]


class NodeIndex:
    """The node side of the encrypted index, persistent under ``directory``.

    Args:
        directory: where ``index.sqlite3`` lives.
        key: the epoch key new tags are derived under. When the stored index belongs to
            another epoch, the next update must be ``complete=True`` and re-tags everything.
        country: the node's country code (goes into references and exported headers).

        set_aside_damaged: check the whole store first and, when it is damaged, rename it
            ``index.sqlite3.damaged-<time>`` and start an empty one (``node index --full``).

    Raises:
        ConfigError: the stored index belongs to another country.
        IndexIntegrityError: the store is damaged (and ``set_aside_damaged`` is not set).
        RegistryUnavailableError: the store is locked or unreadable.
    """

    def __init__(
        self, directory: Path, *, key: EpochKey, country: str, set_aside_damaged: bool = False
    ) -> None:
        self.key = key
        self.country = country.upper()
        path = Path(directory) / "index.sqlite3"
        self.last_update: UpdateStats | None = None
        #: The highest version published per epoch, kept beside the index folder.
        self.floor = VersionFloor(floor_path(Path(directory)))
        #: Where a damaged store was moved to by ``set_aside_damaged``, else ``None``.
        self.set_aside: Path | None = None
        opened: IndexStore | None = None
        try:
            self.store = opened = IndexStore(path)
            if set_aside_damaged:
                self.store.check()
            meta = self._init_meta()
        except IndexIntegrityError:
            if not set_aside_damaged:
                raise
            if opened is not None:
                opened.close()
            meta = self._start_over(path)
        if meta["country"] != self.country:
            raise ConfigError("country", f"index at {directory} is {meta['country']}")

    def _init_meta(self, version_floor: int = 0) -> dict[str, str]:
        # Read first: a serving process must not wait for an indexer's long write transaction.
        meta = self._meta()
        if not meta:
            floor = {"version_floor": version_floor} if version_floor else {}
            with self.store.write() as db:
                if not IndexStore.get_meta(db):
                    IndexStore.set_meta(
                        db, epoch_id=self.key.epoch_id, version=0, epoch_start=0, size=0,
                        country=self.country, watermark="", layout=LAYOUT, **floor,
                    )  # fmt: skip
            meta = self._meta()
        return meta

    def _start_over(self, path: Path) -> dict[str, str]:
        """Replace a damaged store at ``path`` by an empty, initialised one."""
        fresh = _clear(path.with_name(path.name + ".new"))
        self.store = IndexStore(fresh)
        # Version 0 until the rebuild commits (a serving node reports not ready meanwhile,
        # never an empty index); then above the floor, the time in seconds, so it is
        # above any version a peer holds from the damaged store and every mirror syncs in
        # full.
        self._init_meta(version_floor=int(time.time()))
        self.store.close()
        self.set_aside = IndexStore.set_aside(path, fresh)
        _log.warning("index store damaged: moved to %s, building a new one", self.set_aside)
        self.store = IndexStore(path)
        return self._meta()

    def _meta(self) -> dict[str, str]:
        with self.store.read() as db:
            return IndexStore.get_meta(db)

    @property
    def epoch_id(self) -> str:
        """Epoch the stored entries are derived under."""
        return self._meta()["epoch_id"]

    @property
    def version(self) -> int:
        """Current version (grows by one per update that changed something)."""
        return int(self._meta()["version"])

    @property
    def size(self) -> int:
        """Number of entries (identifier occurrences)."""
        return int(self._meta()["size"])

    @property
    def watermark(self) -> str | None:
        """Change-feed position of the last update, ``None`` before the first."""
        return self._meta()["watermark"] or None

    @property
    def stale(self) -> bool:
        """Whether the stored entries belong to an older epoch than ``key``."""
        return self.epoch_id != self.key.epoch_id

    def update(
        self,
        changes: Iterable[IndexInput],
        *,
        workers: int | None = None,
        progress: Progress | None = None,
        watermark: str | None = None,
        complete: bool = False,
    ) -> int:
        """Apply changes in one transaction and return the new version.

        Args:
            changes: records added, changed or removed (the last change per id wins).
            workers: worker processes for the EC work (default: every core).
            progress: ``(done, total)`` identifiers evaluated.
            watermark: change-feed position to store with this version.
            complete: ``changes`` is the whole registry: records not in it are removed.
                Required when the epoch changed (rotation).

        Raises:
            EpochMismatchError: the key changed and ``complete`` is not set.
            InputError: a change without a label, or an identifier shared by more than
                :data:`MAX_SLOTS` records.
        """
        latest = _latest(changes)
        with self.store.write() as db:
            published = self.floor.get(self.key.epoch_id)
            job = IndexUpdate(self.key, db, latest, complete, published)
            stats = job.run(workers, progress, watermark)
            # Before the commit: a version is never served before the floor covers it.
            self.floor.raise_to(self.key.epoch_id, stats.version)
        self.last_update = stats
        return stats.version

    def rebuild(
        self,
        records: Iterable[IndexInput],
        *,
        workers: int | None = None,
        progress: Progress | None = None,
        watermark: str | None = None,
    ) -> int:
        """Build the whole index anew beside the current store, then swap it in.

        What ``fedlookup node index --full`` does: the new store is built from ``records``
        (the whole registry) exactly as a first build is, whatever state the current store
        is in, so it succeeds whenever a first build would. A serving node keeps answering
        from the current store until the swap, then moves to the new one. The new store
        publishes a version above every version published under the epoch (the floor kept
        outside the store, the current store's version, and the time in seconds), in a new
        delta range, so every mirror takes a full snapshot.

        Args:
            records: every record of the registry.
            workers, progress, watermark: as for :meth:`update`.

        Returns:
            The new version.

        Raises:
            InputError: as for :meth:`update` (the current store is then untouched).
            IndexIntegrityError: the version floor file is damaged.
        """
        latest = _latest(records)
        try:
            current = self.version
        except FedlookupError:
            current = 0  # a damaged store: the floor file and the time still bound it
        floor = max(current, self.floor.get(self.key.epoch_id), int(time.time()))
        path = self.store.path
        side = IndexStore(_clear(path.with_name(path.name + ".new")))
        try:
            with side.write() as db:
                IndexStore.set_meta(
                    db, epoch_id=self.key.epoch_id, version=0, epoch_start=0, size=0,
                    country=self.country, watermark="", layout=LAYOUT, version_floor=floor,
                )  # fmt: skip
                job = IndexUpdate(self.key, db, latest, True, floor)
                stats = job.run(workers, progress, watermark)
                self.floor.raise_to(self.key.epoch_id, stats.version)
        except BaseException:
            side.close()
            _clear(side.path)
            raise
        side.close()
        self.store.close()
        _clear(IndexStore.set_aside(path, side.path, label="replaced"))
        self.store = IndexStore(path)
        self.last_update = stats
        return stats.version

    def export(
        self,
        *,
        since_version: int | None,
        categories: frozenset[str] | None = None,
        labels: bool = True,
        epoch_id: str | None = None,
    ) -> bytes:
        """Serialize the index, or the delta since ``since_version``, for one peer.

        A full snapshot is produced when ``since_version`` is ``None`` or 0, when
        ``epoch_id`` (the peer's mirror epoch) differs from the index's, or when the version
        predates the current epoch.

        Args:
            since_version: the version the peer holds.
            categories: categories the peer may see (``None``: all).
            labels: ``False`` for cardinality-only peers (tags only).
            epoch_id: the epoch of the peer's mirror, when known.

        Raises:
            IndexVersionError: ``since_version`` is newer than this index.
            IndexIntegrityError: the store is damaged.
        """
        codes = sorted({category_code(c) for c in categories}) if categories is not None else None
        where = f"category IN ({','.join(map(str, codes))})" if codes is not None else "1"
        with self.store.read() as db:
            meta = IndexStore.get_meta(db)
            version, start = int(meta["version"]), int(meta["epoch_start"])
            if since_version is not None and since_version > version:
                raise IndexVersionError(f"version {since_version} is newer than {version}")
            full = (
                not since_version
                or since_version < start
                or epoch_id not in (None, meta["epoch_id"])
            )
            base = 0 if full else int(since_version or 0)
            rows = db.execute(
                f"SELECT tag, sealed FROM entries WHERE {where} AND version > ? ORDER BY tag",  # noqa: S608
                (base,),
            ).fetchall()
            removed = array("q")
            if full:
                total = len(rows)
            else:
                total = db.execute(f"SELECT COUNT(*) FROM entries WHERE {where}").fetchone()[0]  # noqa: S608
                gone = db.execute(
                    f"SELECT DISTINCT tag FROM removed WHERE {where} AND version > ?",  # noqa: S608
                    (base,),
                )
                removed = array("q", sorted(t for (t,) in gone))
        try:
            sealed = b"".join(s for _, s in rows) if labels else None
            if sealed is not None and len(sealed) != len(rows) * LABEL_LENGTH:
                raise ValueError(f"{len(sealed)} label bytes for {len(rows)} entries")
            blob = IndexBlob(
                country=self.country,
                epoch_id=meta["epoch_id"],
                base_version=base,
                version=version,
                tags=array("q", (t for t, _ in rows)),
                labels=sealed,
                removed=removed,
                total=total,
                delta=not full,
            )
            return encode(blob)
        except (TypeError, ValueError, OverflowError, struct.error) as exc:
            # Rows of the wrong type or size: the file was damaged below SQLite's checks.
            raise damaged(f"entries: {exc}", self.store.path) from exc

    def resolve_reference(self, reference: str) -> str:
        """Map a follow-up reference given to a peer back to the local record id.

        Raises:
            InputError: malformed reference, another country's, or unknown here.
        """
        country, raw = parse_reference(reference)
        if country != self.country:
            raise InputError(f"reference {reference} belongs to {country}", field="reference")
        with self.store.read() as db:
            row = db.execute("SELECT record_id FROM records WHERE reference = ?", (raw,)).fetchone()
        if row is None:
            raise InputError(f"unknown reference {reference}", field="reference")
        return str(row[0])

    def close(self) -> None:
        """Close this thread's database connection."""
        self.store.close()


def _latest(changes: Iterable[IndexInput]) -> dict[str, IndexInput]:
    """The last change per record id.

    Raises:
        InputError: a change without a label.
    """
    latest: dict[str, IndexInput] = {}
    for change in changes:
        if change.identifiers is not None and change.label is None:
            raise InputError(f"record {change.record_id}: no label", field="label")
        latest[change.record_id] = change
    return latest


def _clear(path: Path) -> Path:
    """Remove what an earlier, interrupted build left at ``path`` (and its WAL files)."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path
