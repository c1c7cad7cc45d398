"""MirrorStore against a real node index: full, delta, fallback, damage, persistence, and
the signed head that binds a mirror to its author in transit and on disk."""

from __future__ import annotations

import hashlib
import logging
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from federation import mirrors
from federation.index import IndexInput, NodeIndex
from federation.index_format import decode, encode, is_delta
from federation.index_head import DirectoryHeadCheck, IndexHead, sign_head
from federation.keys import EpochKeyStore
from federation.labels import Label, make_reference
from federation.mirrors import MirrorStore, SyncKind, _head_file
from federation.transport import Evaluation, IndexDownload, Limits, NodeInfo
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


@dataclass(frozen=True)
class _Member:
    key: Ed25519PublicKey

    def audit_key(self) -> Ed25519PublicKey:
        return self.key


class Keys:
    """The federation directory's audit keys, as the asker holds them (rotatable)."""

    def __init__(self) -> None:
        self.private = {"FR": Ed25519PrivateKey.generate(), "NL": Ed25519PrivateKey.generate()}

    def member(self, country: str) -> _Member:
        return _Member(self.private[country].public_key())


class IndexPeer:
    """A peer serving a real NodeIndex with signed v2 heads, with hooks to spoil either."""

    def __init__(self, root: Path, keys: Keys) -> None:
        self.keys = EpochKeyStore(root / "keys")
        self.audit = keys
        self.index = NodeIndex(root / "index", key=self.keys.current(), country="FR")
        self.index.update(_inputs(range(20)), workers=1)
        self.spoil: Callable[[bytes, int | None], bytes] = lambda blob, since: blob
        #: Replaces the state digest a head names (a lying peer).
        self.state: Callable[[str], str] = lambda digest: digest
        self.signer = "FR"
        self.calls: list[int | None] = []

    @property
    def country(self) -> str:
        return "FR"

    def node_info(self, *, timeout: float) -> NodeInfo:
        return NodeInfo("FR", self.index.epoch_id, self.index.version, self.index.size,
                        Limits(max_items_per_request=1000))  # fmt: skip

    def sync_index(
        self, since_version: int | None, epoch_id: str | None, *, timeout: float
    ) -> IndexDownload:
        self.calls.append(since_version)
        honest = self.index.export(since_version=since_version, epoch_id=epoch_id)
        blob = self.spoil(honest, since_version)
        full = hashlib.sha256(self.index.export(since_version=None)).hexdigest()
        try:
            head = IndexHead.of_blob(
                blob, state_sha256=self.state(full) if is_delta(blob) else None
            )
        except Exception:
            head = IndexHead.of_blob(honest, state_sha256=full if is_delta(honest) else None)
        signature = sign_head(head, self.audit.private[self.signer])
        return IndexDownload(blob, head.canonical(), signature)

    def evaluate(
        self, statement: bytes, signature: bytes, request: bytes, *, timeout: float
    ) -> Evaluation:
        raise AssertionError("not used")


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def peer(tmp_path: Path, keys: Keys) -> Iterator[IndexPeer]:
    p = IndexPeer(tmp_path / "peer", keys)
    yield p
    p.index.close()


def _store(tmp_path: Path, keys: Keys) -> MirrorStore:
    return MirrorStore(tmp_path / "mirrors", head_check=DirectoryHeadCheck(keys))  # type: ignore[arg-type]


def test_first_refresh_is_full_and_survives_a_restart(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    store = _store(tmp_path, keys)
    first = store.refresh(peer, timeout=1)
    assert (first.kind, first.mirror.size, first.mirror.version) == (SyncKind.FULL, 40, 1)
    for path in (store.path("FR"), store.head_path("FR")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    restarted = _store(tmp_path, keys).refresh(peer, timeout=1)
    assert restarted.kind is SyncKind.NONE
    assert peer.calls == [None]


def test_new_records_come_as_a_delta(peer: IndexPeer, keys: Keys, tmp_path: Path) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    second = store.refresh(peer, timeout=1)
    assert (second.kind, second.mirror.size, second.mirror.version) == (SyncKind.DELTA, 50, 2)
    assert peer.calls == [None, 1]
    # The head stored with the mirror is the delta's, and it vouches for the whole file.
    assert _store(tmp_path, keys).refresh(peer, timeout=1).kind is SyncKind.NONE


def test_a_delta_that_does_not_apply_falls_back_to_a_full_sync(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    peer.index.update(_inputs(range(25, 30)), workers=1)
    # The peer answers a delta request with a delta from the wrong base.
    peer.spoil = lambda blob, since: (
        peer.index.export(since_version=2, epoch_id=peer.index.epoch_id) if since else blob
    )
    third = store.refresh(peer, timeout=1)
    assert (third.kind, third.mirror.size, third.mirror.version) == (SyncKind.FULL, 60, 3)


def test_a_delta_leading_to_an_unsigned_state_falls_back_to_a_full_sync(
    peer: IndexPeer, keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    peer.state = lambda digest: "0" * 64  # signed, but names a state the delta does not reach
    with caplog.at_level(logging.WARNING, logger="fedlookup.mirrors"):
        again = store.refresh(peer, timeout=1)
    assert (again.kind, again.mirror.size, again.mirror.version) == (SyncKind.FULL, 50, 2)
    assert peer.calls == [None, 1, None]
    assert "refused a delta from FR" in caplog.text
    assert "a state its signed head does not name" in caplog.text


def test_a_refused_delta_and_full_leave_the_mirror_untouched(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    store = _store(tmp_path, keys)
    held = store.refresh(peer, timeout=1).mirror
    before = store.path("FR").read_bytes(), store.head_path("FR").read_bytes()
    peer.index.update(_inputs(range(20, 25)), workers=1)
    peer.signer = "NL"  # every head now under another member's key
    with pytest.raises(PeerUnavailableError, match="failed verification"):
        store.refresh(peer, timeout=1)
    assert (held.version, held.size) == (1, 40)
    assert store.get("FR") is held
    assert (store.path("FR").read_bytes(), store.head_path("FR").read_bytes()) == before


def test_a_tampered_full_index_makes_the_peer_unavailable(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    peer.spoil = lambda blob, since: blob[:-1] + bytes([blob[-1] ^ 1])
    store = _store(tmp_path, keys)
    with pytest.raises(PeerUnavailableError, match="failed verification"):
        store.refresh(peer, timeout=1)
    assert not store.path("FR").exists()
    assert not store.head_path("FR").exists()


def test_a_full_index_without_a_head_makes_the_peer_unavailable(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    class Headless:
        country = "FR"

        def node_info(self, *, timeout: float) -> NodeInfo:
            return peer.node_info(timeout=timeout)

        def sync_index(
            self, since_version: int | None, epoch_id: str | None, *, timeout: float
        ) -> IndexDownload:
            return IndexDownload(peer.sync_index(since_version, epoch_id, timeout=timeout).blob)

    with pytest.raises(PeerUnavailableError, match="without a signed head"):
        _store(tmp_path, keys).refresh(Headless(), timeout=1)  # type: ignore[arg-type]


def test_a_damaged_mirror_file_is_replaced_by_a_full_sync(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    _store(tmp_path, keys).refresh(peer, timeout=1)
    (tmp_path / "mirrors" / "FR.mirror").write_bytes(b"not an index")
    again = _store(tmp_path, keys).refresh(peer, timeout=1)
    assert (again.kind, again.mirror.size) == (SyncKind.FULL, 40)


def _drop_one_entry(path: Path) -> None:
    """Re-encode the mirror file with one entry less and a valid checksum."""
    parsed = decode(path.read_bytes())
    width = 13
    tags, labels = parsed.tags[1:], (parsed.labels or b"")[width:]
    path.write_bytes(
        encode(
            type(parsed)(parsed.country, parsed.epoch_id, 0, parsed.version, tags, labels,
                         parsed.removed, len(tags), False)
        )
    )  # fmt: skip


def _edit_on_disk(store: MirrorStore, keys: Keys) -> None:
    _drop_one_entry(store.path("FR"))


def _no_head_file(store: MirrorStore, keys: Keys) -> None:
    store.head_path("FR").unlink()


def _garbage_head_file(store: MirrorStore, keys: Keys) -> None:
    store.head_path("FR").write_bytes(b'{"type":"x"}')


def _rotated_key(store: MirrorStore, keys: Keys) -> None:
    keys.private["FR"] = Ed25519PrivateKey.generate()


def _head_of_another_country(store: MirrorStore, keys: Keys) -> None:
    """A head naming NL for FR's file, signed with FR's key (the bytes are FR's)."""
    data = store.path("FR").read_bytes()
    head = IndexHead.of_blob(data)
    nl = IndexHead("NL", head.epoch_id, head.version, head.entries, head.total,
                   head.sha256, head.state_sha256)  # fmt: skip
    store.head_path("FR").write_bytes(_head_file(nl.canonical(), sign_head(nl, keys.private["FR"])))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_edit_on_disk, "not the state its signed head names"),
        (_no_head_file, "no signed head beside it"),
        (_garbage_head_file, "mirror head"),
        (_rotated_key, "signature does not verify"),
        (_head_of_another_country, "index head names NL, expected FR"),
    ],
)
def test_a_mirror_its_head_does_not_vouch_for_is_discarded_on_load(
    peer: IndexPeer,
    keys: Keys,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[MirrorStore, Keys], None],
    reason: str,
) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    damage(store, keys)
    restarted = _store(tmp_path, keys)
    with caplog.at_level(logging.WARNING, logger="fedlookup.mirrors"):
        assert restarted.get("FR").size == 0
    assert "discarding the mirror of FR" in caplog.text
    assert reason in caplog.text
    again = restarted.refresh(peer, timeout=1)
    assert (again.kind, again.mirror.size, again.mirror.version) == (SyncKind.FULL, 40, 1)
    assert peer.calls == [None, None]
    assert _store(tmp_path, keys).get("FR").size == 40  # the fresh pair loads again


def test_a_crash_between_mirror_and_head_writes_ends_in_a_resync(
    peer: IndexPeer, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    real = mirrors.write_atomic

    def crash_on_head(path: Path, data: bytes, **kwargs: Any) -> None:
        if path.name.endswith(".head"):
            raise OSError("power cut")
        real(path, data, **kwargs)

    monkeypatch.setattr(mirrors, "write_atomic", crash_on_head)
    with pytest.raises(OSError, match="power cut"):
        store.refresh(peer, timeout=1)
    monkeypatch.undo()
    assert decode(store.path("FR").read_bytes()).version == 2  # new mirror, old head
    restarted = _store(tmp_path, keys)
    assert restarted.get("FR").size == 0
    again = restarted.refresh(peer, timeout=1)
    assert (again.kind, again.mirror.size, again.mirror.version) == (SyncKind.FULL, 50, 2)


def test_a_new_epoch_replaces_the_mirror(peer: IndexPeer, keys: Keys, tmp_path: Path) -> None:
    store = _store(tmp_path, keys)
    old = store.refresh(peer, timeout=1).mirror.epoch_id
    key = peer.keys.rotate()
    peer.index.close()
    peer.index = NodeIndex(tmp_path / "peer" / "index", key=key, country="FR")
    peer.index.update(_inputs(range(20)), workers=1, complete=True)
    rotated = store.refresh(peer, timeout=1)
    assert rotated.kind is SyncKind.FULL
    assert rotated.mirror.epoch_id == key.epoch_id != old


def test_catch_up_uses_the_version_an_answer_named(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    cached = store.prepare(peer, timeout=1, max_info_age=60)
    assert cached.kind is SyncKind.NONE
    version = peer.index.update(_inputs(range(20, 21)), workers=1)
    caught = store.catch_up(peer, epoch_id=peer.index.epoch_id, version=version, sync_timeout=1)
    assert (caught.kind, caught.mirror.version) == (SyncKind.DELTA, version)
    assert peer.calls == [None, 1]


def test_a_peer_that_rebuilt_its_index_from_scratch_is_copied_in_full(
    peer: IndexPeer, keys: Keys, tmp_path: Path
) -> None:
    store = _store(tmp_path, keys)
    store.refresh(peer, timeout=1)
    peer.index.update(_inputs(range(20, 25)), workers=1)
    assert store.refresh(peer, timeout=1).mirror.version == 2
    peer.index.close()
    peer.index = NodeIndex(tmp_path / "rebuilt", key=peer.keys.current(), country="FR")
    peer.index.update(_inputs(range(3)), workers=1)  # version 1 again, other records
    again = store.refresh(peer, timeout=1)
    assert (again.kind, again.mirror.version, again.mirror.size) == (SyncKind.FULL, 1, 6)
