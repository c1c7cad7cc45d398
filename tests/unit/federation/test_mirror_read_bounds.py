"""The asker's reading of slot chains is bounded, padded and never raises (issue #13 on the
per-category chains of ADR 0006): a node planting slots or garbage for one identifier changes
neither what the asker can be made to do nor how long a miss takes."""

from __future__ import annotations

import hashlib
from array import array

import pytest

from federation.evaluation import PAD_SLOTS, PROBE_LIMIT
from federation.index_format import IndexBlob, encode
from federation.index_mirror import IndexMirror
from federation.labels import (
    CATEGORIES,
    LABEL_LENGTH,
    category_code,
    chain_heads,
    generation_of,
    seal_label,
    slot_keys,
)

PRK = hashlib.sha256(b"one identifier").digest()
OTHER = hashlib.sha256(b"another identifier").digest()


class CountingMirror(IndexMirror):
    """A mirror that counts its lookups (what a timing observer would see)."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def lookup(self, tag: int) -> bytes | None:
        self.lookups += 1
        return super().lookup(tag)


def _mirror(entries: dict[int, bytes]) -> CountingMirror:
    tags = sorted(entries)
    mirror = CountingMirror()
    blob = IndexBlob(
        "FR", "e1", 0, 1, array("q", tags), b"".join(entries[t] for t in tags),
        array("q"), len(tags), False,
    )  # fmt: skip
    mirror.apply(encode(blob))
    mirror.lookups = 0
    return mirror


def _chain(prk: bytes, category: str, count: int, *, garbage: bool = False) -> dict[int, bytes]:
    code, gen = category_code(category), generation_of(1)
    out = {}
    for slot in range(count):
        tag, stream = slot_keys(prk, code, slot, gen)
        ref = slot.to_bytes(8, "big")
        out[tag] = b"\xff" * LABEL_LENGTH if garbage else seal_label(stream, code, ref, gen)
    return out


def test_a_planted_chain_is_cut_at_the_limit_and_other_categories_are_still_read() -> None:
    mirror = _mirror(_chain(PRK, "stolen", 500) | _chain(PRK, "lost", 1))
    read = mirror.read(PRK, probe_limit=PROBE_LIMIT, pad=PAD_SLOTS)
    assert read.truncated
    assert [lb.category for lb in read.labels].count("lost") == 1
    assert [lb.category for lb in read.labels].count("stolen") == PROBE_LIMIT + 1
    # every head, the bounded walk, then one look past the limit per chain still going
    # (stolen, lost): never the planted 500
    assert mirror.lookups == len(CATEGORIES) + PROBE_LIMIT + 2
    assert mirror.lookups <= 2 * len(CATEGORIES) + PROBE_LIMIT


def test_entries_that_do_not_open_are_counted_not_raised() -> None:
    mirror = _mirror(_chain(PRK, "stolen", 3, garbage=True))
    read = mirror.read(PRK, probe_limit=PROBE_LIMIT, pad=PAD_SLOTS)
    assert read.labels == []
    assert read.malformed == 3
    assert not read.truncated


@pytest.mark.parametrize("held", [0, 1, 2, PAD_SLOTS - 1])
def test_a_few_holders_cost_the_lookups_of_a_miss(held: int) -> None:
    """A chain of up to PAD_SLOTS records costs exactly the lookups of a miss."""
    entries = _chain(PRK, "stolen", held + 1) if held else {}
    mirror = _mirror(entries | _chain(OTHER, "lost", 2))
    read = mirror.read(PRK, probe_limit=PROBE_LIMIT, pad=PAD_SLOTS)
    assert len(read.labels) == (held + 1 if held else 0)
    assert mirror.lookups == len(CATEGORIES) + PAD_SLOTS


def test_labels_for_reads_whole_chains_without_padding() -> None:
    mirror = _mirror(_chain(PRK, "stolen", 100))
    assert len(mirror.labels_for(PRK)) == 100
    assert len(chain_heads(PRK)) == len(CATEGORIES)
