"""What an index holds, independent of how it got there: :func:`index_content`.

Two indexes of the same registry under the same epoch key are equivalent when every slot
chain (an identifier's HKDF key ``prk`` and a category) has the same occurrence slots,
``0 .. n-1`` dense, and the same multiset of labels over those slots. Which record sits in
which slot may differ (a fresh build numbers them in feed order, an update fills holes), so
it is not compared.

The walk also checks each entry on its own: the tag and keystream are the ones its
``prk``, category, slot and generation derive, the sealed label opens to its record's
category and reference,
and the ``records`` table lists exactly the entries each record owns.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from federation.index import NodeIndex
from federation.index_format import decode
from federation.index_mirror import IndexMirror
from federation.labels import LABEL_LENGTH, generation_of, plain_label, seal_plain, slot_keys

Content = dict[tuple[bytes, int], tuple[tuple[int, ...], tuple[int, ...]]]


def index_content(index: NodeIndex) -> Content:
    """Per chain ``(prk, category)``: its occupied slots and plaintext labels, both sorted.

    Raises:
        AssertionError: an entry is inconsistent with its derivation or its record.
    """
    slots: dict[tuple[bytes, int], list[int]] = defaultdict(list)
    labels: dict[tuple[bytes, int], list[int]] = defaultdict(list)
    owned: dict[str, Counter[int]] = defaultdict(Counter)
    with index.store.read() as db:
        records = {
            rid: (cat, ref, Counter(int.from_bytes(tags[i : i + 8], "little", signed=True)
                                    for i in range(0, len(tags), 8)))
            for rid, cat, ref, tags in db.execute(
                "SELECT record_id, category, reference, tags FROM records"
            )
        }  # fmt: skip
        rows = db.execute(
            "SELECT tag, record_id, prk, slot, category, sealed, version FROM entries"
        )
        for tag, rid, prk, slot, cat, sealed, version in rows:
            gen = generation_of(version)  # sealed in the version that last wrote it
            want_tag, stream = slot_keys(prk, cat, slot, gen)
            assert tag == want_tag, f"entry of {rid}: tag is not slot {slot}'s"
            rcat, ref, _ = records[rid]
            assert cat == rcat, f"entry of {rid}: category {cat}, record says {rcat}"
            plain = plain_label(cat, ref)
            assert sealed == seal_plain(stream, plain, gen), f"entry of {rid}: label does not open"
            slots[prk, cat].append(slot)
            labels[prk, cat].append(plain)
            owned[rid][tag] += 1
    for rid, (_, _, tags) in records.items():
        assert owned.get(rid, Counter()) == tags, f"record {rid}: tags column disagrees"
    out: Content = {}
    for chain, found in slots.items():
        ordered = tuple(sorted(found))
        assert ordered == tuple(range(len(found))), f"slots not dense: {ordered}"
        out[chain] = (ordered, tuple(sorted(labels[chain])))
    return out


def mirror_entries(mirror: IndexMirror) -> dict[int, bytes]:
    """A mirror's entries, tag to sealed label."""
    blob = decode(mirror.to_bytes())
    width = LABEL_LENGTH if blob.labels is not None else 0
    return {t: (blob.labels or b"")[i * width : (i + 1) * width] for i, t in enumerate(blob.tags)}


def export_entries(index: NodeIndex, categories: frozenset[str] | None = None) -> dict[int, bytes]:
    """A full export's entries, tag to sealed label."""
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None, categories=categories))
    return mirror_entries(mirror)
