"""MirrorStore against a real node index: full, delta, fallback, damage, persistence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from federation.index import IndexInput, NodeIndex
from federation.keys import EpochKeyStore
from federation.labels import Label, make_reference
from federation.mirrors import MirrorStore, SyncKind
from federation.transport import Evaluation, Limits, NodeInfo
from fedlookup.errors import PeerUnavailableError

REF_KEY = b"r" * 32


def _inputs(ids: range) -> list[IndexInput]:
    return [
        IndexInput(
            f"r{i}",
            (f"v1|MS|GLOCK|SN{i:06d}".encode(), f"v1|S|SN{i:06d}".encode()),
            Label("stolen", make_reference(REF_KEY, "FR", f"r{i}")),
        )
        for i in ids
    ]


class IndexPeer:
    """A peer serving a real NodeIndex, with a hook to spoil what it sends."""

    def __init__(self, root: Path) -> None:
        self.keys = EpochKeyStore(root / "keys")
        self.index = NodeIndex(root / "index", key=self.keys.current(), country="FR")
        self.index.update(_inputs(range(20)), workers=1)
        self.spoil: Callable[[bytes, int | None], bytes] = lambda blob, since: blob
        self.calls: list[int | None] = []

    @property
    def country(self) -> str:
        return "FR"

    def node_info(self, *, timeout: float) -> NodeInfo:
        return NodeInfo("FR", self.index.epoch_id, self.index.version, self.index.size,
                        Limits(max_items_per_request=1000))  # fmt: skip

    def sync_index(
        self, since_version: int | None, epoch_id: str | None, *, timeout: float
    ) -> bytes:
        self.calls.append(since_version)
        blob = self.index.export(since_version=since_version, epoch_id=epoch_id)
        return self.spoil(blob, since_version)

    def evaluate(
        self, statement: bytes, signature: bytes, request: bytes, *, timeout: float
    ) -> Evaluation:
        raise AssertionError("not used")


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[IndexPeer]:
    p = IndexPeer(tmp_path / "peer")
    yield p
    p.index.close()


def test_first_refresh_is_full_and_survives_a_restart(peer: IndexPeer, tmp_path: Path) -> None:
    store = MirrorStore(tmp_path / "mirrors")
    first = store.refresh(peer, timeout=1)
    assert (first.kind, first.mirror.size, first.mirror.version) == (SyncKind.FULL, 40, 1)
    restarted = MirrorStore(tmp_path / "mirrors").refresh(peer, timeout=1)
    assert restarted.kind is SyncKind.NONE
    assert peer.calls == [None]


def test_new_records_come_as_a_delta(peer: IndexPeer, tmp_path: Path) -> None:
    store = MirrorStore(tmp_path / "mirrors")
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    second = store.refresh(peer, timeout=1)
    assert (second.kind, second.mirror.size, second.mirror.version) == (SyncKind.DELTA, 50, 2)
    assert peer.calls == [None, 1]


def test_a_delta_that_does_not_apply_falls_back_to_a_full_sync(
    peer: IndexPeer, tmp_path: Path
) -> None:
    store = MirrorStore(tmp_path / "mirrors")
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    peer.index.update(_inputs(range(25, 30)), workers=1)
    # The peer answers a delta request with a delta from the wrong base.
    peer.spoil = lambda blob, since: (
        peer.index.export(since_version=2, epoch_id=peer.index.epoch_id) if since else blob
    )
    third = store.refresh(peer, timeout=1)
    assert (third.kind, third.mirror.size, third.mirror.version) == (SyncKind.FULL, 60, 3)


def test_a_tampered_full_index_makes_the_peer_unavailable(peer: IndexPeer, tmp_path: Path) -> None:
    peer.spoil = lambda blob, since: blob[:-1] + bytes([blob[-1] ^ 1])
    store = MirrorStore(tmp_path / "mirrors")
    with pytest.raises(PeerUnavailableError, match="failed verification"):
        store.refresh(peer, timeout=1)
    assert not store.path("FR").exists()


def test_a_damaged_mirror_file_is_replaced_by_a_full_sync(peer: IndexPeer, tmp_path: Path) -> None:
    MirrorStore(tmp_path / "mirrors").refresh(peer, timeout=1)
    (tmp_path / "mirrors" / "FR.mirror").write_bytes(b"not an index")
    again = MirrorStore(tmp_path / "mirrors").refresh(peer, timeout=1)
    assert (again.kind, again.mirror.size) == (SyncKind.FULL, 40)


def test_a_new_epoch_replaces_the_mirror(peer: IndexPeer, tmp_path: Path) -> None:
    store = MirrorStore(tmp_path / "mirrors")
    old = store.refresh(peer, timeout=1).mirror.epoch_id
    key = peer.keys.rotate()
    peer.index.close()
    peer.index = NodeIndex(tmp_path / "peer" / "index", key=key, country="FR")
    peer.index.update(_inputs(range(20)), workers=1, complete=True)
    rotated = store.refresh(peer, timeout=1)
    assert rotated.kind is SyncKind.FULL
    assert rotated.mirror.epoch_id == key.epoch_id != old


def test_catch_up_uses_the_version_an_answer_named(peer: IndexPeer, tmp_path: Path) -> None:
    store = MirrorStore(tmp_path / "mirrors")
    store.refresh(peer, timeout=1)
    cached = store.prepare(peer, timeout=1, max_info_age=60)
    assert cached.kind is SyncKind.NONE
    version = peer.index.update(_inputs(range(20, 21)), workers=1)
    caught = store.catch_up(peer, epoch_id=peer.index.epoch_id, version=version, sync_timeout=1)
    assert (caught.kind, caught.mirror.version) == (SyncKind.DELTA, version)
    assert peer.calls == [None, 1]


def test_a_peer_that_rebuilt_its_index_from_scratch_is_copied_in_full(
    peer: IndexPeer, tmp_path: Path
) -> None:
    store = MirrorStore(tmp_path / "mirrors")
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    assert store.refresh(peer, timeout=1).mirror.version == 2
    peer.index.close()
    peer.index = NodeIndex(tmp_path / "rebuilt", key=peer.keys.current(), country="FR")
    peer.index.update(_inputs(range(3)), workers=1)  # version 1 again, other records
    again = store.refresh(peer, timeout=1)
    assert (again.kind, again.mirror.version, again.mirror.size) == (SyncKind.FULL, 1, 6)
