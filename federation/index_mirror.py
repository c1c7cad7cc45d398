"""The asking side's copy of a peer's encrypted index: :class:`IndexMirror`.

A mirror is a sorted column of tags (``array('q')``, 8 bytes each) with a parallel column of
sealed labels (13 bytes each), searched by bisection, plus a small overlay (a dict of entries
added since, a set of tags removed since) that deltas write into. When the overlay grows past
an eighth of the base, it is merged into new sorted columns. Lookups cost the same whatever
the peer's registry size (a bisection over 10 million tags is 24 steps), and memory stays at
about 21 bytes per entry.

Deltas apply all-or-nothing: a delta for another epoch or base version raises
:class:`~fedlookup.errors.IndexVersionError` and leaves the mirror as it was, as does a delta
after which the entry count disagrees with the peer's stated total.
"""

from __future__ import annotations

import copy
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from federation.index_format import IndexBlob, decode, encode
from federation.labels import (
    CATEGORIES,
    LABEL_LENGTH,
    MAX_SLOTS,
    Label,
    chain_heads,
    open_label,
    slot_tag,
)
from fedlookup.errors import IndexVersionError
from fedlookup.files import write_atomic

__all__ = ["IndexMirror", "LabelRead"]

_EMPTY = b""


@dataclass
class LabelRead:
    """What :meth:`IndexMirror.read` found for one identifier."""

    #: The labels that opened, in category-code then slot order.
    labels: list[Label] = field(default_factory=list)
    #: Entries present under the identifier's tags that did not open.
    malformed: int = 0
    #: Whether a chain went on past the probe limit (its remaining records were not read).
    truncated: bool = False


class IndexMirror:
    """A peer's index as mirrored by the asking node (empty until the first :meth:`apply`)."""

    def __init__(self) -> None:
        self.country: str | None = None
        self.epoch_id: str | None = None
        self.version = 0
        self.has_labels = True
        self._tags: array[int] = array("q")
        self._labels = _EMPTY
        self._added: dict[int, bytes] = {}
        self._removed: set[int] = set()
        self._size = 0

    @property
    def size(self) -> int:
        """Number of entries held."""
        return self._size

    def _in_base(self, tag: int) -> int:
        i = bisect_left(self._tags, tag)
        return i if i < len(self._tags) and self._tags[i] == tag else -1

    def lookup(self, tag: int) -> bytes | None:
        """Return the sealed label under ``tag`` (``b""`` without labels), or ``None``."""
        found = self._added.get(tag)
        if found is not None:
            return found
        if tag in self._removed:
            return None
        i = self._in_base(tag)
        if i < 0:
            return None
        if not self.has_labels:
            return _EMPTY
        return self._labels[i * LABEL_LENGTH : (i + 1) * LABEL_LENGTH]

    def labels_for(self, prk: bytes) -> list[Label]:
        """Every label this mirror holds for the identifier whose HKDF key is ``prk``.

        :meth:`read` with no bound short of the node's own (:data:`MAX_SLOTS` per chain)
        and no padding; the hit check uses :meth:`read` with its bound and padding.
        """
        return self.read(prk, probe_limit=MAX_SLOTS * len(CATEGORIES)).labels

    def read(
        self, prk: bytes, *, probe_limit: int, pad: int = 0, country: str | None = None
    ) -> LabelRead:
        """Read the labels of the identifier whose HKDF key is ``prk``, never raising.

        Every category's chain head is looked up (one 64-byte HKDF-Expand gives all of
        them), then each present chain is walked from slot 1 to its first missing slot (the
        node keeps chains dense, and a restricted peer's mirror holds whole chains of its
        categories only). A label opens under the keystream of its slot and generation, and
        counts only if its category is the chain's: anything else (a 64-bit tag collision,
        an entry a dishonest node planted) is counted in :attr:`LabelRead.malformed`.

        Args:
            prk: the identifier's HKDF key (:func:`~federation.labels.entry_prk`).
            probe_limit: at most this many lookups past the chain heads, over all chains
                of the item; a chain still going when it is spent sets
                :attr:`LabelRead.truncated` (a node planting thousands of slots for one
                identifier cannot slow the asker further).
            pad: every item costs at least this many lookups past the chain heads, each
                with its own HMAC, hit or not, so an identifier held by a few records
                takes as long to read as a miss.
            country: formats references (the peer's directory country; the index
                header's when not given).

        Returns:
            The labels found, in category-code then slot order, and what did not open.
        """
        country = country or self.country or "XX"
        out = LabelRead()
        heads = [self.lookup(tag) for tag in chain_heads(prk)]
        budget = probe_limit
        for code, sealed in enumerate(heads, start=1):
            slot = 0
            while sealed is not None:
                label = open_label(prk, code, slot, sealed, country)
                if label is None:
                    out.malformed += 1
                else:
                    out.labels.append(label)
                slot += 1
                if slot >= MAX_SLOTS:
                    break
                if budget <= 0:
                    out.truncated |= self.lookup(slot_tag(prk, code, slot)) is not None
                    break
                budget -= 1
                sealed = self.lookup(slot_tag(prk, code, slot))
        # Padding: slots past MAX_SLOTS, which no node writes, cost what a real probe does.
        for extra in range(probe_limit - budget, pad):
            self.lookup(slot_tag(prk, 1, MAX_SLOTS + extra))
        return out

    def holds(self, prk: bytes) -> bool:
        """Whether any entry of the identifier whose HKDF key is ``prk`` is held (the first
        slot of some category's chain); works without labels."""
        return any(self.lookup(tag) is not None for tag in chain_heads(prk))

    def copy(self) -> IndexMirror:
        """A copy that :meth:`apply` may change while this mirror stays as it is.

        Shallow on purpose: :meth:`apply` and the merge never write into the columns or
        the overlay, they replace them, so the copy costs no more than a few references.
        """
        return copy.copy(self)

    def apply(self, blob: bytes) -> None:
        """Apply a full snapshot (replaces everything) or a delta.

        Raises:
            IndexIntegrityError: truncated, tampered, malformed.
            IndexVersionError: a delta for another epoch, base version or label mode, or one
                after which the entry count disagrees with the peer's total.
        """
        parsed = decode(blob)
        if not parsed.delta:
            self._load(parsed)
            return
        if parsed.epoch_id != self.epoch_id or parsed.country != self.country:
            raise IndexVersionError(
                f"delta for epoch {parsed.epoch_id}, mirror holds {self.epoch_id}"
            )
        if parsed.base_version != self.version:
            raise IndexVersionError(
                f"delta applies to version {parsed.base_version}, mirror holds {self.version}"
            )
        if (parsed.labels is not None) != self.has_labels:
            raise IndexVersionError("delta and mirror differ in label mode")
        added, removed, size = dict(self._added), set(self._removed), self._size
        for tag in parsed.removed:
            if tag in added:
                del added[tag]
                size -= 1
            elif tag not in removed and self._in_base(tag) >= 0:
                removed.add(tag)
                size -= 1
        labels = parsed.labels
        for i, tag in enumerate(parsed.tags):
            label = labels[i * LABEL_LENGTH : (i + 1) * LABEL_LENGTH] if labels else _EMPTY
            present = tag in added or (tag not in removed and self._in_base(tag) >= 0)
            if self._in_base(tag) >= 0:
                removed.add(tag)  # the overlay now speaks for this tag
            if not present:
                size += 1
            added[tag] = label
        if size != parsed.total:
            raise IndexVersionError(
                f"mirror would hold {size} entries, peer says {parsed.total}: full sync needed"
            )
        self._added, self._removed, self._size = added, removed, size
        self.version = parsed.version
        if len(added) + len(removed) > 50_000 + len(self._tags) // 8:
            self._merge()

    def _load(self, parsed: IndexBlob) -> None:
        self.country, self.epoch_id, self.version = parsed.country, parsed.epoch_id, parsed.version
        self.has_labels = parsed.labels is not None
        self._tags, self._labels = parsed.tags, parsed.labels or _EMPTY
        self._added, self._removed, self._size = {}, set(), len(parsed.tags)

    def _merge(self) -> None:
        """Fold the overlay into new sorted columns."""
        entries: dict[int, bytes] = {}
        width = LABEL_LENGTH if self.has_labels else 0
        for i, tag in enumerate(self._tags):
            if tag not in self._removed:
                entries[tag] = self._labels[i * width : (i + 1) * width]
        entries.update(self._added)
        order = sorted(entries)
        self._tags = array("q", order)
        self._labels = b"".join(entries[t] for t in order)
        self._added, self._removed = {}, set()

    def to_bytes(self) -> bytes:
        """Serialize the mirror as a full snapshot (same format the peer sent)."""
        if self._added or self._removed:
            self._merge()
        if self.epoch_id is None or self.country is None:
            raise IndexVersionError("an empty mirror has nothing to save")
        return encode(
            IndexBlob(
                country=self.country,
                epoch_id=self.epoch_id,
                base_version=0,
                version=self.version,
                tags=self._tags,
                labels=self._labels if self.has_labels else None,
                removed=array("q"),
                total=len(self._tags),
                delta=False,
            )
        )

    def save(self, path: Path) -> None:
        """Write the mirror to ``path`` atomically (temporary file, fsync, rename)."""
        write_atomic(Path(path), self.to_bytes(), mode=0o600)

    @classmethod
    def load(cls, path: Path) -> IndexMirror:
        """Read a mirror saved by :meth:`save`.

        Raises:
            IndexIntegrityError: the file is truncated or tampered with.
        """
        mirror = cls()
        mirror.apply(Path(path).read_bytes())
        return mirror
