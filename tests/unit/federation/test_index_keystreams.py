"""Every re-sealed label takes a fresh keystream (one per index version).

A holder of two versions of a peer's mirror sees the same tag with two sealed labels when a
slot is reused by another record or re-sealed. Sealed under one keystream, the two would
XOR to the XOR of the plaintexts (which category changed into which, which reference bytes
differ); sealed under the keystream of each version's generation, they tell nothing. A
category change moves the record to another category's chain: new tags, no link to the old.
"""

from __future__ import annotations

from pathlib import Path

from index_content import mirror_entries
from psi_helpers import firearm, make_index

from federation.index import IndexInput, IndexMirror, NodeIndex
from federation.labels import Label, category_code, parse_reference, plain_label


def _entries(index: NodeIndex) -> dict[int, bytes]:
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None))
    return mirror_entries(mirror)


def _plain(label: Label) -> int:
    return plain_label(category_code(label.category), parse_reference(label.reference)[1])


def _xor(a: bytes, b: bytes) -> int:
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


def test_a_reused_slot_is_sealed_under_a_fresh_keystream(tmp_path: Path) -> None:
    index, _, _ = make_index(tmp_path)
    a, b = firearm("a", "GLOCK", "1", "stolen"), firearm("b", "GLOCK", "1", "stolen")
    index.update([a.input()])
    index.update([b.input()])  # slot 1 of both chains
    before = _entries(index)
    index.update([IndexInput("a", None)])  # b moves down into slot 0
    after = _entries(index)
    reused = sorted(set(before) & set(after))
    assert len(reused) == 2  # slot 0 of the make+serial and of the serial-only chain
    for tag in reused:
        old, new = before[tag], after[tag]
        assert old[:4] != new[:4]  # another generation
        assert _xor(old[4:], new[4:]) != _plain(a.label()) ^ _plain(b.label())


def test_a_category_change_leaves_no_link_between_old_and_new_entries(tmp_path: Path) -> None:
    index, _, _ = make_index(tmp_path)
    records = [firearm(f"r{i}", "SIG", f"{i % 3}", "registered") for i in range(9)]
    index.update(r.input() for r in records)
    before = _entries(index)
    index.update([firearm("r4", "SIG", "1", "stolen").input()])
    after = _entries(index)
    gone, new = set(before) - set(after), set(after) - set(before)
    assert len(new) == 2  # r4's two identifiers, in the `stolen` chains
    assert len(gone) == 2  # slot 2 of r4's `registered` chains: r7 moved down into slot 1
    resealed = {t for t in set(before) & set(after) if before[t] != after[t]}
    assert len(resealed) == 2  # slot 1 of those chains, now r7's, under a new generation
    assert all(before[t][:4] != after[t][:4] for t in resealed)
