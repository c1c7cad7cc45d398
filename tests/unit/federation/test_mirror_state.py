"""A mirror's full serialization is byte for byte the peer's full export at that version,
for the same grant, which is what lets a delta's signed head name the state it leads to.
And the responder signs that head, computing the full export's digest once per version
and grant shape."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from federation_sim import FederationSimulator, Firearm

from federation.index import IndexInput, NodeIndex
from federation.index_head import DirectoryHeadCheck, IndexHead
from federation.index_mirror import IndexMirror
from federation.keys import EpochKeyStore
from federation.labels import Label, make_reference

REF_KEY = b"r" * 32
CATEGORIES = ("stolen", "lost", "seized")


def _inputs(ids: range, shift: int = 0) -> list[IndexInput]:
    return [
        IndexInput(
            f"r{i}",
            (f"v1|MS|GLOCK|SN{i:06d}".encode(), f"v1|S|SN{i:06d}".encode()),
            Label(CATEGORIES[(i + shift) % 3], make_reference(REF_KEY, "FR", f"r{i}")),
        )
        for i in ids
    ]


def _removals(ids: range) -> list[IndexInput]:
    return [IndexInput(f"r{i}", None) for i in ids]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[NodeIndex]:
    keys = EpochKeyStore(tmp_path / "keys")
    idx = NodeIndex(tmp_path / "index", key=keys.current(), country="FR")
    idx.update(_inputs(range(30)), workers=1)
    yield idx
    idx.close()


@pytest.mark.parametrize(
    ("categories", "labels"),
    [(None, True), (frozenset({"stolen", "seized"}), True), (None, False)],
    ids=["all", "restricted", "cardinality"],
)
def test_a_mirror_after_deltas_serializes_as_the_full_export(
    index: NodeIndex, categories: frozenset[str] | None, labels: bool
) -> None:
    def full() -> bytes:
        return index.export(since_version=None, categories=categories, labels=labels)

    mirror = IndexMirror()
    mirror.apply(full())
    changes = [
        _inputs(range(30, 40)),  # new records
        _removals(range(0, 8)),  # removed records
        _inputs(range(10, 20), shift=1),  # changed categories: in and out of the grant
        _inputs(range(0, 4)) + _removals(range(30, 33)),  # back again, and gone again
    ]
    for step, change in enumerate(changes):
        held = mirror.version
        index.update(change, workers=1)
        mirror.apply(index.export(since_version=held, categories=categories, labels=labels,
                                  epoch_id=mirror.epoch_id))  # fmt: skip
        if step == 1:
            mirror._merge()  # the overlay merge apply does past its threshold
        assert mirror.to_bytes() == full(), f"after change {step}"
    reloaded = IndexMirror()
    reloaded.apply(mirror.to_bytes())
    assert reloaded.to_bytes() == full()


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[FederationSimulator]:
    f = FederationSimulator(tmp_path)
    yield f
    f.close()


def test_the_responder_signs_each_export_with_the_state_it_leads_to(
    fed: FederationSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [Firearm(f"fr-{i}", "Glock", f"XK{i:04d}", "stolen") for i in range(10)]
    fr = fed.add_country("FR", records, {"peers": {"NL": {"mode": "cardinality"}}})
    heads = DirectoryHeadCheck(fed.directory)
    first = fr.responder.sync_index("DE", None, None)
    fr.add([Firearm("fr-new", "Beretta", "B7731", "lost")])

    fulls: list[Any] = []
    export = fr.index.export

    def counting(**kwargs: Any) -> bytes:
        if kwargs["since_version"] is None:
            fulls.append(kwargs)
        return export(**kwargs)

    monkeypatch.setattr(fr.index, "export", counting)
    deltas = [fr.responder.sync_index("DE", first.version, first.epoch_id) for _ in range(3)]
    assert len(fulls) == 1  # once per version and grant shape, not per call
    state = hashlib.sha256(export(since_version=None)).hexdigest()
    for delta in deltas:
        head = heads.check_head("FR", delta.head, delta.signature, delta.blob)
        assert (head.version, head.total, head.state_sha256) == (2, 22, state)
        assert head.sha256 != state
    # Another grant shape has its own digest: a cardinality-only peer's state has no labels.
    nl = fr.responder.sync_index("NL", first.version, first.epoch_id)
    assert len(fulls) == 2
    nl_head = IndexHead.parse(nl.head)
    assert (
        nl_head.state_sha256 == hashlib.sha256(export(since_version=None, labels=False)).hexdigest()
    )
    # A full export names itself.
    whole = fr.responder.sync_index("DE", None, None)
    assert heads.check_head("FR", whole.head, whole.signature, whole.blob).state_sha256 == state
