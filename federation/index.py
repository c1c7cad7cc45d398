"""The node's encrypted index: :class:`NodeIndex` (and, re-exported, :class:`IndexMirror`).

Each record contributes one entry per identifier: a tag and a sealed label (see
:mod:`federation.labels` for the derivations). The index is kept in SQLite
(:mod:`federation.index_store`) so that

* an update costs elliptic-curve work only for records whose identifiers changed (a record's
  identifier digest is stored; a label-only change re-seals without EC work);
* removing a record deletes its stored entries, no recomputation;
* every update is one transaction: a crash leaves the previous version whole;
* every version of the current epoch can get a delta (added entries, removed tags).

Occurrence slots stay dense: a new occurrence takes the lowest free slot of its identifier,
and when a removal leaves a hole, the identifier's highest slot moves into it (a new tag and
keystream, HMAC work only). The asker therefore stops probing at the first missing slot.

Example::

    index = NodeIndex(Path("data/index"), key=store.current(), country="DE")
    index.update([IndexInput("r1", (b"v1|MS|GLOCK|123", b"v1|S|123"), label)])
    blob = index.export(since_version=None, categories=None)
"""

from __future__ import annotations

import sqlite3
import struct
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from federation.index_build import Evaluated, Progress, evaluate_identifiers
from federation.index_format import IndexBlob, encode
from federation.index_mirror import IndexMirror
from federation.index_store import IndexStore
from federation.keys import EpochKey
from federation.labels import (
    Label,
    category_code,
    content_digest,
    parse_reference,
    plain_label,
    seal_label,
    seal_plain,
    slot_stream,
    slot_tag,
)
from fedlookup.errors import ConfigError, EpochMismatchError, IndexVersionError, InputError

__all__ = ["MAX_SLOTS", "IndexInput", "IndexMirror", "Label", "NodeIndex", "UpdateStats"]

#: Most records that may share one identifier; the asker probes at most this many slots.
MAX_SLOTS = 4096
_BATCH = 50_000
#: Values per ``IN (...)`` query (SQLite allows 32,766 parameters).
_IN = 500


@dataclass(frozen=True)
class IndexInput:
    """One change to index.

    Attributes:
        record_id: the registry's record id.
        identifiers: an object with ``make_serial``/``serial_only`` bytes, or a tuple of
            identifier bytes; ``None`` removes the record.
        label: the record's label (required unless removing).
    """

    record_id: str
    identifiers: Any
    label: Label | None = None

    def items(self) -> tuple[bytes, ...]:
        """Return the identifier bytes, make+serial first."""
        ids = self.identifiers
        if hasattr(ids, "make_serial"):
            return (ids.make_serial, ids.serial_only)
        items = tuple(ids)
        if not items or not all(isinstance(i, bytes) and i for i in items):
            raise InputError(f"record {self.record_id}: identifiers must be non-empty bytes")
        return items


@dataclass(frozen=True)
class UpdateStats:
    """What one :meth:`NodeIndex.update` did (counts of records and entries)."""

    version: int
    evaluated: int
    added: int
    removed: int
    resealed: int
    moved: int


class NodeIndex:
    """The node side of the encrypted index, persistent under ``directory``.

    Args:
        directory: where ``index.sqlite3`` lives.
        key: the epoch key new tags are derived under. When the stored index belongs to
            another epoch, the next update must be ``complete=True`` and re-tags everything.
        country: the node's country code (goes into references and exported headers).

    Raises:
        ConfigError: the stored index belongs to another country.
    """

    def __init__(self, directory: Path, *, key: EpochKey, country: str) -> None:
        self.key = key
        self.country = country.upper()
        self.store = IndexStore(Path(directory) / "index.sqlite3")
        self.last_update: UpdateStats | None = None
        # Read first: a serving process must not wait for an indexer's long write transaction.
        meta = self._meta()
        if not meta:
            with self.store.write() as db:
                if not IndexStore.get_meta(db):
                    IndexStore.set_meta(
                        db, epoch_id=key.epoch_id, version=0, epoch_start=0, size=0,
                        country=self.country, watermark="",
                    )  # fmt: skip
            meta = self._meta()
        if meta["country"] != self.country:
            raise ConfigError("country", f"index at {directory} is {meta['country']}")

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
        latest: dict[str, IndexInput] = {}
        for change in changes:
            if change.identifiers is not None and change.label is None:
                raise InputError(f"record {change.record_id}: no label", field="label")
            latest[change.record_id] = change
        with self.store.write() as db:
            job = _Update(self, db, latest, complete)
            stats = job.run(workers, progress, watermark)
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
                gone = db.execute("SELECT DISTINCT tag FROM removals WHERE version > ?", (base,))
                removed = array("q", sorted(t for (t,) in gone))
        blob = IndexBlob(
            country=self.country,
            epoch_id=meta["epoch_id"],
            base_version=base,
            version=version,
            tags=array("q", (t for t, _ in rows)),
            labels=b"".join(s for _, s in rows) if labels else None,
            removed=removed,
            total=total,
            delta=not full,
        )
        return encode(blob)

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


def _in_query(head: str, count: int) -> str:
    """``head IN (?, ...)`` with ``count`` placeholders: values are bound, never inlined."""
    return head + " IN (" + ",".join("?" * count) + ")"


def _pack(tags: list[int]) -> bytes:
    return struct.pack(f"<{len(tags)}q", *tags)


def _unpack(blob: bytes) -> list[int]:
    return [int.from_bytes(blob[i : i + 8], "little", signed=True) for i in range(0, len(blob), 8)]


class _Update:
    """One update transaction (kept apart so :class:`NodeIndex` stays readable)."""

    def __init__(
        self,
        index: NodeIndex,
        db: sqlite3.Connection,
        latest: dict[str, IndexInput],
        complete: bool,
    ) -> None:
        self.index, self.db, self.latest = index, db, latest
        meta = IndexStore.get_meta(db)
        self.version = int(meta["version"]) + 1
        self.size = int(meta["size"])
        self.rotating = meta["epoch_id"] != index.key.epoch_id
        if self.rotating and not complete:
            raise EpochMismatchError(
                f"index is under epoch {meta['epoch_id']}, key is {index.key.epoch_id}: "
                "a complete rebuild is needed"
            )
        if self.rotating:
            for table in ("entries", "records", "removals"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608
            self.size = 0
        self.fresh = db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is None
        if self.fresh:
            # A full build is faster without secondary indexes, created once at the end.
            IndexStore.drop_secondary(db)
        if complete and not self.fresh:
            for (rid,) in db.execute("SELECT record_id FROM records").fetchall():
                if rid not in latest:
                    latest[rid] = IndexInput(rid, None)
        self.freed: dict[bytes, set[int]] = {}
        self.removals: list[tuple[int, int]] = []
        self.new_tags: set[int] = set()
        self.absent: set[int] = set()  # tags known free in the database (see _prefetch)
        self.counts = {"evaluated": 0, "added": 0, "removed": 0, "resealed": 0, "moved": 0}

    def run(
        self, workers: int | None, progress: Progress | None, watermark: str | None
    ) -> UpdateStats:
        db, version = self.db, self.version
        pending: list[tuple[str, tuple[bytes, ...], int, bytes, bytes]] = []
        dropped: list[int] = []
        rids = list(self.latest)
        for start in range(0, len(rids), _IN):
            part = rids[start : start + _IN]
            rows: dict[str, tuple[bytes, int, bytes, bytes]] = {}
            if not self.fresh:
                found = db.execute(
                    _in_query(
                        "SELECT record_id, id_digest, category, reference, tags FROM records "
                        "WHERE record_id",
                        len(part),
                    ),
                    part,
                )
                rows = {r[0]: r[1:] for r in found}
            for rid in part:
                change, row = self.latest[rid], rows.get(rid)
                if change.identifiers is None or change.label is None:
                    if row is not None:
                        dropped.extend(_unpack(row[3]))
                        db.execute("DELETE FROM records WHERE record_id = ?", (rid,))
                    continue
                items = change.items()
                digest = content_digest(*items)
                cat = category_code(change.label.category)
                ref = parse_reference(change.label.reference)[1]
                if row is not None and row[0] == digest:
                    if (row[1], row[2]) != (cat, ref):
                        self._reseal(rid, row[3], cat, ref)
                    continue
                if row is not None:
                    dropped.extend(_unpack(row[3]))
                pending.append((rid, items, cat, ref, digest))
        self._drop(dropped)
        flat = [item for p in pending for item in p[1]]
        self.counts["evaluated"] = len(flat)
        chunks = evaluate_identifiers(
            self.index.key.secret, self.index.key.epoch_id, flat, workers=workers, progress=progress
        )
        self._insert(pending, chunks)
        self._compact()
        db.executemany("INSERT INTO removals VALUES (?, ?)", self.removals)
        if self.fresh:
            IndexStore.create_secondary(db)
        if not (flat or self.removals or self.rotating):
            version -= 1  # nothing changed: no new version
        size = self.size + self.counts["added"] - self.counts["removed"]
        values: dict[str, str | int] = {"version": version, "size": size}
        values["epoch_id"] = self.index.key.epoch_id
        if self.rotating:
            values["epoch_start"] = version
        if watermark is not None:
            values["watermark"] = watermark
        IndexStore.set_meta(db, **values)
        return UpdateStats(version=version, **self.counts)

    def _drop(self, tags: list[int]) -> None:
        for start in range(0, len(tags), _IN):
            part = tags[start : start + _IN]
            found = self.db.execute(
                _in_query("SELECT prk, slot FROM entries WHERE tag", len(part)),
                part,
            )
            for prk, slot in found:
                self.freed.setdefault(prk, set()).add(slot)
            self.db.executemany("DELETE FROM entries WHERE tag = ?", [(t,) for t in part])
        self.removals.extend((tag, self.version) for tag in tags)
        self.counts["removed"] += len(tags)

    def _reseal(self, rid: str, tags: bytes, cat: int, ref: bytes) -> None:
        for tag in _unpack(tags):
            prk, slot = self.db.execute(
                "SELECT prk, slot FROM entries WHERE tag = ?", (tag,)
            ).fetchone()
            sealed = seal_label(slot_stream(prk, slot), cat, ref)
            self.db.execute(
                "UPDATE entries SET sealed = ?, category = ?, version = ? WHERE tag = ?",
                (sealed, cat, self.version, tag),
            )
            self.removals.append((tag, self.version))
            self.counts["resealed"] += 1
        self.db.execute(
            "UPDATE records SET category = ?, reference = ?, version = ? WHERE record_id = ?",
            (cat, ref, self.version, rid),
        )

    def _prefetch(self, tags: list[int]) -> None:
        """Learn in a few batched queries which of ``tags`` are free in the database."""
        self.absent.clear()
        for start in range(0, len(tags), _IN):
            part = tags[start : start + _IN]
            found = self.db.execute(_in_query("SELECT tag FROM entries WHERE tag", len(part)), part)
            self.absent.update(set(part).difference(t for (t,) in found))

    def _taken(self, tag: int) -> bool:
        if tag in self.new_tags:
            return True
        if self.fresh or tag in self.absent:
            return False
        return self.db.execute("SELECT 1 FROM entries WHERE tag = ?", (tag,)).fetchone() is not None

    def _slot(self, rid: str, prk: bytes, tag0: int) -> tuple[int, int]:
        """The lowest slot of ``prk`` whose tag is free (slots are dense, so probe upward)."""
        slot, tag = 0, tag0
        while self._taken(tag):
            slot += 1
            if slot >= MAX_SLOTS:
                raise InputError(
                    f"record {rid}: identifier shared by more than {MAX_SLOTS} records"
                )
            tag = slot_tag(prk, slot)
        return slot, tag

    def _insert(
        self,
        pending: list[tuple[str, tuple[bytes, ...], int, bytes, bytes]],
        chunks: Iterator[Evaluated],
    ) -> None:
        rows: list[tuple[int, str, bytes, int, int, bytes, int]] = []
        records: list[tuple[str, bytes, int, bytes, bytes, int]] = []
        part = Evaluated([], [], [])
        pos, version, new_tags = 0, self.version, self.new_tags
        for rid, items, cat, ref, digest in pending:
            tags = []
            plain = plain_label(cat, ref)
            for _ in items:
                if pos == len(part.prks):
                    part, pos = next(chunks), 0
                    if not self.fresh:
                        self._prefetch(part.tags0)
                prk, tag = part.prks[pos], part.tags0[pos]
                if tag in new_tags or (not self.fresh and self._taken(tag)):
                    slot, tag = self._slot(rid, prk, tag)
                    stream = slot_stream(prk, slot)
                else:  # the common case: slot 0 is free
                    slot, stream = 0, part.streams0[pos]
                pos += 1
                new_tags.add(tag)
                self.absent.discard(tag)
                tags.append(tag)
                rows.append((tag, rid, prk, slot, cat, seal_plain(stream, plain), version))
            records.append((rid, digest, cat, ref, _pack(tags), version))
            if len(rows) >= _BATCH:
                self._flush(rows, records)
        self._flush(rows, records)
        self.new_tags.clear()
        self.absent.clear()

    def _flush(
        self,
        rows: list[tuple[int, str, bytes, int, int, bytes, int]],
        records: list[tuple[str, bytes, int, bytes, bytes, int]],
    ) -> None:
        # Sorted inserts touch each B-tree page once per batch instead of once per row.
        rows.sort()
        records.sort()
        self.db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", records)
        self.counts["added"] += len(rows)
        rows.clear()
        records.clear()
        if not self.fresh:
            self.new_tags.clear()  # flushed rows are found in the database from now on

    def _needs_compaction(self) -> list[tuple[bytes, set[int]]]:
        """The touched identifiers that may have an occupied slot above a hole.

        Most removals free one slot ``s`` of an identifier; it needs work only if slot
        ``s + 1`` is occupied, which one batched query answers for all of them.
        """
        single = [(prk, next(iter(f))) for prk, f in self.freed.items() if len(f) == 1]
        out = [(prk, f) for prk, f in self.freed.items() if len(f) > 1]
        above = [slot_tag(prk, s + 1) for prk, s in single]
        present: set[int] = set()
        for start in range(0, len(above), _IN):
            part = above[start : start + _IN]
            found = self.db.execute(
                _in_query("SELECT tag FROM entries WHERE tag", len(part)),
                part,
            )
            present.update(t for (t,) in found)
        out.extend(
            (prk, {s}) for (prk, s), tag in zip(single, above, strict=True) if tag in present
        )
        return out

    def _compact(self) -> None:
        """Move each touched identifier's highest slots down into holes left by removals."""
        for prk, freed in self._needs_compaction():
            present: dict[int, tuple[int, str]] = {}
            slot, top_freed = 0, max(freed)
            while slot < MAX_SLOTS:
                row = self.db.execute(
                    "SELECT prk, record_id FROM entries WHERE tag = ?", (slot_tag(prk, slot),)
                ).fetchone()
                if row is not None and row[0] == prk:
                    present[slot] = (slot_tag(prk, slot), row[1])
                elif row is None and slot > top_freed:
                    break
                slot += 1
            holes = [s for s in sorted(freed) if s not in present]
            for hole in holes:
                top = max(present, default=-1)
                if top < hole:
                    break
                new_tag = slot_tag(prk, hole)
                if self._taken(new_tag):
                    break  # a 64-bit collision with another identifier: leave the gap
                old_tag, rid = present.pop(top)
                self._move(prk, rid, old_tag, new_tag, hole)

    def _move(self, prk: bytes, rid: str, old_tag: int, new_tag: int, slot: int) -> None:
        tags, cat, ref = self.db.execute(
            "SELECT tags, category, reference FROM records WHERE record_id = ?", (rid,)
        ).fetchone()
        sealed = seal_label(slot_stream(prk, slot), cat, ref)
        self.db.execute(
            "UPDATE entries SET tag = ?, slot = ?, sealed = ?, version = ? WHERE tag = ?",
            (new_tag, slot, sealed, self.version, old_tag),
        )
        moved = [new_tag if t == old_tag else t for t in _unpack(tags)]
        self.db.execute("UPDATE records SET tags = ? WHERE record_id = ?", (_pack(moved), rid))
        self.removals.append((old_tag, self.version))
        self.counts["moved"] += 1
