"""One transaction of the node index (:class:`IndexUpdate`) and its input type.

Kept apart from :mod:`federation.index` so each module holds one idea: this one decides,
per change, what costs elliptic-curve work (new or changed identifiers), what only HMAC work
(a category change moves the record's entries to the new category's chains, a slot move
re-tags) and what none (removals delete rows), and keeps each chain of occurrence slots
(one per identifier and category) dense.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from federation.index_build import Evaluated, Progress, evaluate_identifiers
from federation.index_store import LAYOUT, IndexStore, damaged
from federation.keys import EpochKey
from federation.labels import (
    MAX_SLOTS,
    Label,
    category_code,
    content_digest,
    generation_of,
    parse_reference,
    plain_label,
    seal_label,
    seal_plain,
    slot_keys,
    slot_stream,
    slot_tag,
)
from fedlookup.errors import EpochMismatchError, InputError
from fedlookup.identifiers import Identifiers

__all__ = ["MAX_SLOTS", "IndexInput", "IndexUpdate", "UpdateStats"]

_BATCH = 50_000
#: Values per ``IN (...)`` query (SQLite allows 32,766 parameters).
_IN = 500


@dataclass(frozen=True)
class IndexInput:
    """One change to index.

    Attributes:
        record_id: the registry's record id.
        identifiers: the record's :class:`~fedlookup.identifiers.Identifiers`, or a tuple
            of identifier bytes; ``None`` removes the record.
        label: the record's label (required unless removing).
    """

    record_id: str
    identifiers: Identifiers | tuple[bytes, ...] | None
    label: Label | None = None

    def items(self) -> tuple[bytes, ...]:
        """Return the identifier bytes, make+serial first."""
        ids = self.identifiers
        if isinstance(ids, Identifiers):
            return ids.items()
        items = tuple(ids or ())
        if not items or not all(isinstance(i, bytes) and i for i in items):
            raise InputError(f"record {self.record_id}: identifiers must be non-empty bytes")
        return items


@dataclass(frozen=True)
class UpdateStats:
    """What one :meth:`NodeIndex.update` did (counts of entries; ``resealed`` includes the
    entries of records whose category changed, moved to the new category's chains)."""

    version: int
    evaluated: int
    added: int
    removed: int
    resealed: int
    moved: int


#: A record to (re)insert: id, identifiers, category, reference, identifier digest, and the
#: HKDF keys of its identifiers when they are already known (a category change: no EC work).
Pending = tuple[str, tuple[bytes, ...], int, bytes, bytes, list[bytes] | None]


def _in_query(head: str, count: int) -> str:
    """``head IN (?, ...)`` with ``count`` placeholders: values are bound, never inlined."""
    return head + " IN (" + ",".join("?" * count) + ")"


def _pack(tags: list[int]) -> bytes:
    return struct.pack(f"<{len(tags)}q", *tags)


def _unpack(blob: bytes) -> list[int]:
    return [int.from_bytes(blob[i : i + 8], "little", signed=True) for i in range(0, len(blob), 8)]


class IndexUpdate:
    """One update transaction, run inside :meth:`federation.index.NodeIndex.update`."""

    def __init__(
        self,
        key: EpochKey,
        db: sqlite3.Connection,
        latest: dict[str, IndexInput],
        complete: bool,
        published: int = 0,
    ) -> None:
        self.key, self.db, self.latest = key, db, latest
        meta = IndexStore.get_meta(db)
        # A store rebuilt after damage, new beside a lost one, or restored from an older
        # backup starts above every version published under the epoch (``published``, the
        # floor kept outside the store), in a new delta range: every mirror syncs in full.
        floor = max(int(meta.get("version_floor", 0)), published)
        self.restart = int(meta["version"]) < floor
        self.version = max(int(meta["version"]), floor) + 1
        # Everything sealed in this version takes this generation's keystreams.
        self.generation = generation_of(self.version)
        self.size = int(meta["size"])
        self.rotating = meta["epoch_id"] != key.epoch_id
        if self.rotating and not complete:
            raise EpochMismatchError(
                f"index is under epoch {meta['epoch_id']}, key is {key.epoch_id}: "
                "a complete rebuild is needed"
            )
        if self.rotating:
            for table in ("entries", "records", "removed"):
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
        self.freed: dict[tuple[bytes, int], set[int]] = {}  # (prk, category) -> slots
        self.removals: list[tuple[int, int, int]] = []  # (tag, category, version)
        self.new_tags: set[int] = set()
        self.absent: set[int] = set()  # tags known free in the database (see _prefetch)
        self.counts = {"evaluated": 0, "added": 0, "removed": 0, "resealed": 0, "moved": 0}

    def run(
        self, workers: int | None, progress: Progress | None, watermark: str | None
    ) -> UpdateStats:
        db, version = self.db, self.version
        pending: list[Pending] = []
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
                if row is not None and row[0] == digest and row[1] == cat:
                    if row[2] != ref:
                        self._reseal(rid, row[3], cat, ref)
                    continue
                known = None
                if row is not None:
                    tags = _unpack(row[3])
                    if row[0] == digest:  # a category change: same identifiers, new chains
                        known = self._prks(tags)
                    dropped.extend(tags)
                pending.append((rid, items, cat, ref, digest, known))
        self._drop(dropped)
        flat = [item for p in pending if p[5] is None for item in p[1]]
        cats = [p[2] for p in pending if p[5] is None for _ in p[1]]
        self.counts["evaluated"] = len(flat)
        chunks = evaluate_identifiers(
            self.key.secret, self.key.epoch_id, flat, cats, generation=self.generation,
            workers=workers, progress=progress,
        )  # fmt: skip
        self._insert(pending, chunks)
        # Entries moved to another category's chain are reported as re-sealed (no EC work).
        relabelled = sum(len(p[1]) for p in pending if p[5] is not None)
        self.counts["added"] -= relabelled
        self.counts["removed"] -= relabelled
        self.counts["resealed"] += relabelled
        self._compact()
        db.executemany("INSERT INTO removed VALUES (?, ?, ?)", self.removals)
        if self.fresh:
            IndexStore.create_secondary(db)
        if not (flat or self.removals or self.rotating or self.restart):
            version -= 1  # nothing changed: no new version
        size = self.size + self.counts["added"] - self.counts["removed"]
        values: dict[str, str | int] = {"version": version, "size": size, "layout": LAYOUT}
        values["epoch_id"] = self.key.epoch_id
        if self.rotating or self.restart:
            values["epoch_start"] = version
        if watermark is not None:
            values["watermark"] = watermark
        IndexStore.set_meta(db, **values)
        return UpdateStats(version=version, **self.counts)

    def _drop(self, tags: list[int]) -> None:
        for start in range(0, len(tags), _IN):
            part = tags[start : start + _IN]
            found = self.db.execute(
                _in_query("SELECT tag, prk, slot, category FROM entries WHERE tag", len(part)),
                part,
            )
            for tag, prk, slot, cat in found:
                self.freed.setdefault((prk, cat), set()).add(slot)
                self.removals.append((tag, cat, self.version))
            self.db.executemany("DELETE FROM entries WHERE tag = ?", [(t,) for t in part])
        self.counts["removed"] += len(tags)

    def _prks(self, tags: list[int]) -> list[bytes]:
        """The HKDF keys of a record's entries, in its identifiers' order (no EC work)."""
        out = []
        for tag in tags:
            row = self.db.execute("SELECT prk FROM entries WHERE tag = ?", (tag,)).fetchone()
            if row is None:
                raise damaged(f"record entry {tag} missing")
            out.append(row[0])
        return out

    def _reseal(self, rid: str, tags: bytes, cat: int, ref: bytes) -> None:
        for tag in _unpack(tags):
            prk, slot = self.db.execute(
                "SELECT prk, slot FROM entries WHERE tag = ?", (tag,)
            ).fetchone()
            gen = self.generation
            sealed = seal_label(slot_stream(prk, cat, slot, gen), cat, ref, gen)
            self.db.execute(
                "UPDATE entries SET sealed = ?, version = ? WHERE tag = ?",
                (sealed, self.version, tag),
            )
            self.removals.append((tag, cat, self.version))
            self.counts["resealed"] += 1
        self.db.execute(
            "UPDATE records SET category = ?, reference = ?, version = ? WHERE record_id = ?",
            (cat, ref, self.version, rid),
        )

    def _prefetch(self, tags: list[int]) -> None:
        """Learn in a few batched queries which of ``tags`` are free in the database.

        A tag written earlier in this update but not flushed yet is not in the database
        either, yet it is taken: it must not count as free, or once the pending rows are
        flushed (and :attr:`new_tags` forgets them) a second occurrence of the same
        identifier would take the same slot again (the UNIQUE failure of bulk updates).
        """
        self.absent.clear()
        for start in range(0, len(tags), _IN):
            part = tags[start : start + _IN]
            found = self.db.execute(_in_query("SELECT tag FROM entries WHERE tag", len(part)), part)
            free = set(part).difference(t for (t,) in found)
            self.absent.update(free.difference(self.new_tags))

    def _taken(self, tag: int) -> bool:
        if tag in self.new_tags:
            return True
        if self.fresh or tag in self.absent:
            return False
        return self.db.execute("SELECT 1 FROM entries WHERE tag = ?", (tag,)).fetchone() is not None

    def _slot(self, rid: str, prk: bytes, cat: int, tag0: int) -> tuple[int, int]:
        """The lowest slot of the chain ``(prk, cat)`` whose tag is free (chains are dense,
        so probe upward)."""
        slot, tag = 0, tag0
        while self._taken(tag):
            slot += 1
            if slot >= MAX_SLOTS:
                raise InputError(
                    f"record {rid}: identifier shared by more than {MAX_SLOTS} records "
                    "of one category"
                )
            tag = slot_tag(prk, cat, slot)
        return slot, tag

    def _insert(self, pending: list[Pending], chunks: Iterator[Evaluated]) -> None:
        rows: list[tuple[int, str, bytes, int, int, bytes, int]] = []
        records: list[tuple[str, bytes, int, bytes, bytes, int]] = []
        part = Evaluated([], [], [])
        pos, version, new_tags, gen = 0, self.version, self.new_tags, self.generation
        for rid, items, cat, ref, digest, known in pending:
            tags = []
            plain = plain_label(cat, ref)
            for k in range(len(items)):
                if known is not None:  # moved to another category: the HKDF key is stored
                    prk = known[k]
                    tag, stream0 = slot_keys(prk, cat, 0, gen)
                else:
                    if pos == len(part.prks):
                        part, pos = next(chunks), 0
                        if not self.fresh:
                            self._prefetch(part.tags0)
                    prk, tag, stream0 = part.prks[pos], part.tags0[pos], part.streams0[pos]
                    pos += 1
                if tag in new_tags or (not self.fresh and self._taken(tag)):
                    slot, tag = self._slot(rid, prk, cat, tag)
                    stream = slot_stream(prk, cat, slot, gen)
                else:  # the common case: slot 0 is free
                    slot, stream = 0, stream0
                new_tags.add(tag)
                self.absent.discard(tag)
                tags.append(tag)
                rows.append((tag, rid, prk, slot, cat, seal_plain(stream, plain, gen), version))
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

    def _needs_compaction(self) -> list[tuple[tuple[bytes, int], set[int]]]:
        """The touched chains that may have an occupied slot above a hole.

        Most removals free one slot ``s`` of a chain; it needs work only if slot ``s + 1``
        is occupied, which one batched query answers for all of them.
        """
        single = [(chain, next(iter(f))) for chain, f in self.freed.items() if len(f) == 1]
        out = [(chain, f) for chain, f in self.freed.items() if len(f) > 1]
        above = [slot_tag(prk, cat, s + 1) for (prk, cat), s in single]
        present: set[int] = set()
        for start in range(0, len(above), _IN):
            part = above[start : start + _IN]
            found = self.db.execute(
                _in_query("SELECT tag FROM entries WHERE tag", len(part)),
                part,
            )
            present.update(t for (t,) in found)
        out.extend(
            (chain, {s}) for (chain, s), tag in zip(single, above, strict=True) if tag in present
        )
        return out

    def _compact(self) -> None:
        """Move each touched chain's highest slots down into holes left by removals."""
        for (prk, cat), freed in self._needs_compaction():
            present: dict[int, tuple[int, str]] = {}
            slot, top_freed = 0, max(freed)
            while slot < MAX_SLOTS:
                tag = slot_tag(prk, cat, slot)
                row = self.db.execute(
                    "SELECT prk, category, record_id FROM entries WHERE tag = ?", (tag,)
                ).fetchone()
                if row is not None and (row[0], row[1]) == (prk, cat):
                    present[slot] = (tag, row[2])
                elif row is None and slot > top_freed:
                    break
                slot += 1
            holes = [s for s in sorted(freed) if s not in present]
            for hole in holes:
                top = max(present, default=-1)
                if top < hole:
                    break
                new_tag = slot_tag(prk, cat, hole)
                if self._taken(new_tag):
                    break  # a 64-bit collision with another identifier: leave the gap
                old_tag, rid = present.pop(top)
                self._move(prk, rid, old_tag, new_tag, hole)

    def _move(self, prk: bytes, rid: str, old_tag: int, new_tag: int, slot: int) -> None:
        tags, cat, ref = self.db.execute(
            "SELECT tags, category, reference FROM records WHERE record_id = ?", (rid,)
        ).fetchone()
        gen = self.generation
        sealed = seal_label(slot_stream(prk, cat, slot, gen), cat, ref, gen)
        self.db.execute(
            "UPDATE entries SET tag = ?, slot = ?, sealed = ?, version = ? WHERE tag = ?",
            (new_tag, slot, sealed, self.version, old_tag),
        )
        moved = [new_tag if t == old_tag else t for t in _unpack(tags)]
        self.db.execute("UPDATE records SET tags = ? WHERE record_id = ?", (_pack(moved), rid))
        self.removals.append((old_tag, cat, self.version))
        self.counts["moved"] += 1
