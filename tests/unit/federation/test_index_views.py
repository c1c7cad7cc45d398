"""Restricted views are complete and opaque (slot chains per category, ADR 0006).

A peer allowed some categories must find every record of those categories, whatever hidden
records share its identifiers, and must not be able to tell that hidden records exist: its
mirror (full or kept by deltas, removed tags included) is exactly what an index of the
visible records alone would give it. Checked against a plaintext join restricted to the
policy, for random registries, policies and changes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_content import mirror_entries
from psi_helpers import Rec, expected, firearm, query

from federation.index import IndexInput, IndexMirror, NodeIndex
from federation.index_format import decode
from federation.keys import EpochKey, EpochKeyStore
from federation.labels import CATEGORIES

MAKES = ("GLOCK", "SIG")
record = st.tuples(
    st.sampled_from(MAKES), st.integers(0, 5).map(lambda i: f"S{i}"), st.sampled_from(CATEGORIES)
)
views = st.frozensets(st.sampled_from(CATEGORIES), min_size=1, max_size=len(CATEGORIES) - 1)


def _registry(rows: list[tuple[str, str, str]], prefix: str) -> dict[str, Rec]:
    return {f"{prefix}{i}": firearm(f"{prefix}{i}", m, s, c) for i, (m, s, c) in enumerate(rows)}


def _tags(index: NodeIndex, view: frozenset[str]) -> set[int]:
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None, categories=view))
    return set(mirror_entries(mirror))


def test_stolen_record_sharing_a_serial_with_a_hidden_one_is_found(tmp_path: Path) -> None:
    """The finding of the review: slot 0 held by a hidden `registered` record hid the rest."""
    key = EpochKeyStore(tmp_path / "keys").current()
    index = NodeIndex(tmp_path / "index", key=key, country="DE")
    records = [
        firearm("a", "GLOCK", "777", "registered"),  # hidden from the peer, indexed first
        firearm("b", "SIG", "777", "stolen"),
        firearm("c", "GLOCK", "777", "lost"),
    ]
    index.update(r.input() for r in records)
    view = frozenset({"stolen", "lost"})
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None, categories=view))
    visible = [r for r in records if r.category in view]
    items = [b"v1|S|777", b"v1|MS|GLOCK|777", b"v1|MS|SIG|777"]
    assert query(key, mirror, items) == expected(visible, items)
    assert mirror.size == 4  # two identifiers each for b and c, nothing of a


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.lists(record, max_size=30),
    later=st.lists(record, max_size=15),
    changes=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(CATEGORIES)), max_size=10),
    removals=st.lists(st.integers(0, 29), max_size=6),
    view=views,
)
def test_a_restricted_peer_sees_exactly_its_view(
    first: list[tuple[str, str, str]],
    later: list[tuple[str, str, str]],
    changes: list[tuple[int, str]],
    removals: list[int],
    view: frozenset[str],
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="fedlookup-views-"))
    try:
        key = EpochKeyStore(tmp / "keys").current()
        index = NodeIndex(tmp / "index", key=key, country="DE")
        registry = _registry(first, "r")
        index.update(r.input() for r in registry.values())
        mirror = IndexMirror()
        mirror.apply(index.export(since_version=None, categories=view))

        feed: list[IndexInput] = []
        for i, category in changes:  # category changes, across the view's border too
            old = registry.get(f"r{i}")
            if old is not None:
                make, serial = old.items[0].decode().split("|")[2:4]
                registry[old.record_id] = firearm(old.record_id, make, serial, category)
                feed.append(registry[old.record_id].input())
        for i in removals:
            if registry.pop(f"r{i}", None) is not None:
                feed.append(IndexInput(f"r{i}", None))
        added = _registry(later, "n")
        registry.update(added)
        feed += [r.input() for r in added.values()]
        before = set(mirror_entries(mirror)) if mirror.size else set()
        index.update(feed, workers=1)
        delta = index.export(
            since_version=mirror.version, categories=view, epoch_id=mirror.epoch_id
        )
        assert set(decode(delta).removed) <= before  # no removed tag the peer never saw
        mirror.apply(delta)

        visible = [r for r in registry.values() if r.category in view]
        items = [*sorted({i for r in registry.values() for i in r.items}), b"v1|S|NONE"]
        assert query(key, mirror, items) == expected(visible, items)
        _assert_opaque(tmp, key, visible, mirror, view)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _assert_opaque(
    tmp: Path, key: EpochKey, visible: list[Rec], mirror: IndexMirror, view: frozenset[str]
) -> None:
    """The peer's mirror holds the tags an index of the visible records alone would give."""
    alone = NodeIndex(tmp / "alone", key=key, country="DE")
    alone.update(r.input() for r in visible)
    assert set(mirror_entries(mirror)) == _tags(alone, view)
    assert mirror.size == alone.size
    alone.close()
