"""The hit check when peers fail, stall, rotate keys or move on (three countries, one process)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from federation_sim import (
    ASK,
    Country,
    FederationSimulator,
    Firearm,
    items,
    three_countries,
)

from federation import index_format
from federation.hitcheck_types import CheckContext, Outcome
from federation.index_head import IndexHead, sign_head
from federation.mirrors import MirrorStore
from federation.transport import Evaluation, NodeInfo

CONTEXT = CheckContext("CASE-2", "seizure", "", "")


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[FederationSimulator]:
    f = three_countries(tmp_path)
    yield f
    f.close()


class Faulty:
    """A responder whose ``evaluate`` runs ``before`` first (to raise, stall or rotate)."""

    def __init__(self, inner: Any, before: Callable[[], None]) -> None:
        self.inner = inner
        self.before = before

    def node_info(self, peer: str) -> NodeInfo:
        return self.inner.node_info(peer)  # type: ignore[no-any-return]

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> bytes:
        return self.inner.sync_index(peer, since_version, epoch_id)  # type: ignore[no-any-return]

    def evaluate(self, peer: str, statement: bytes, signature: bytes, request: bytes) -> Evaluation:
        self.before()
        return self.inner.evaluate(peer, statement, signature, request)  # type: ignore[no-any-return]


def _only(code: str, before: Callable[[], None]) -> Callable[[Country], Any]:
    return lambda c: Faulty(c.responder, before) if c.code == code else c.responder


def test_a_peer_that_fails_is_unavailable_and_the_others_answer(fed: FederationSimulator) -> None:
    def crash() -> None:
        raise RuntimeError("disk on fire")

    check = fed.hit_check("DE", peers=fed.transports("DE", _only("FR", crash)))
    result = check.run(items(ASK), CONTEXT)
    assert result.answers[0]["FR"].outcome is Outcome.UNAVAILABLE
    assert "internal error" in result.answers[0]["FR"].reason
    assert result.answers[1]["NL"].outcome is Outcome.HIT
    assert not result.complete


def test_a_peer_slower_than_the_deadline_is_unavailable_and_does_not_block(
    fed: FederationSimulator,
) -> None:
    release = threading.Event()
    try:
        check = fed.hit_check(
            "DE", timeout=0.5, peers=fed.transports("DE", _only("FR", lambda: release.wait(30)))
        )
        result = check.run(items(ASK), CONTEXT)
    finally:
        release.set()
    fr = result.answers[0]["FR"]
    assert fr.outcome is Outcome.UNAVAILABLE
    assert "deadline" in fr.reason
    assert result.answers[1]["NL"].outcome is Outcome.HIT
    assert result.peers["NL"].status == "answered"


def test_a_stale_mirror_catches_up_by_delta(fed: FederationSimulator) -> None:
    check = fed.hit_check("DE")
    first = check.run(items([("Beretta", "BX123456")]), CONTEXT)
    assert first.answers[0]["FR"].outcome is Outcome.NO_HIT
    assert first.peers["FR"].sync == "full"
    version = fed.countries["FR"].add([Firearm("fr-new", "Beretta", "BX123456", "lost")])
    second = check.run(items([("Beretta", "BX123456")]), CONTEXT)
    assert second.peers["FR"].sync == "delta"
    assert second.answers[0]["FR"].outcome is Outcome.HIT
    assert second.answers[0]["FR"].index_version == version


def test_mirrors_survive_a_restart_and_a_damaged_file_is_refetched(
    fed: FederationSimulator,
) -> None:
    fed.hit_check("DE").run(items(ASK), CONTEXT)
    restarted = fed.hit_check("DE")
    again = restarted.run(items(ASK), CONTEXT)
    assert again.peers["FR"].sync == "none"
    store: MirrorStore = restarted.mirrors
    store.path("FR").write_bytes(b"FLIX" + b"\0" * 40)
    after_damage = fed.hit_check("DE").run(items(ASK), CONTEXT)
    assert after_damage.peers["FR"].sync == "full"
    assert after_damage.answers[0]["FR"].outcome is Outcome.HIT


def test_an_epoch_rotation_between_checks_forces_a_full_resync(fed: FederationSimulator) -> None:
    check = fed.hit_check("DE")
    check.run(items(ASK), CONTEXT)
    new_epoch = fed.countries["FR"].rotate_epoch()
    result = check.run(items(ASK), CONTEXT)
    assert result.peers["FR"].sync == "full"
    assert result.peers["FR"].epoch_id == new_epoch
    assert result.answers[0]["FR"].outcome is Outcome.HIT


def test_an_epoch_rotation_during_a_check_is_read_under_the_new_epoch(
    fed: FederationSimulator,
) -> None:
    fr = fed.countries["FR"]
    rotated: list[str] = []

    def rotate_once() -> None:
        if not rotated:
            rotated.append(fr.rotate_epoch())

    check = fed.hit_check("DE", peers=fed.transports("DE", _only("FR", rotate_once)))
    result = check.run(items(ASK), CONTEXT)
    assert rotated
    assert result.peers["FR"].epoch_id == rotated[0]
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    assert result.complete


class ForgedReceipts(Faulty):
    """A responder whose receipts are signed by a key the directory does not list."""

    def evaluate(self, peer: str, statement: bytes, signature: bytes, request: bytes) -> Evaluation:
        answer: Evaluation = self.inner.evaluate(peer, statement, signature, request)
        forged = answer.receipt.replace(b'"node":"FR"', b'"node":"XX"')
        return Evaluation(
            answer.response, forged, answer.epoch_id, answer.index_version, answer.proof
        )


def test_an_answer_whose_receipt_does_not_verify_is_not_trusted(fed: FederationSimulator) -> None:
    peers = fed.transports("DE", lambda c: ForgedReceipts(c.responder, lambda: None)
                           if c.code == "FR" else c.responder)  # fmt: skip
    result = fed.hit_check("DE", peers=peers).run(items(ASK), CONTEXT)
    assert result.answers[0]["FR"].outcome is Outcome.UNAVAILABLE
    assert "receipt is invalid" in result.peers["FR"].reason
    assert result.answers[1]["NL"].outcome is Outcome.HIT


class Renamed(Faulty):
    """A responder whose index header names another country, under a head it signs."""

    def __init__(self, inner: Any, calls: list[str], key: Ed25519PrivateKey) -> None:
        super().__init__(inner, lambda: calls.append("Evaluate"))
        self.key = key

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> Any:
        export = self.inner.sync_index(peer, since_version, epoch_id)
        parsed = dataclasses.replace(index_format.decode(export.blob), country="X1")
        blob = index_format.encode(parsed)
        head = IndexHead.of_blob(blob)
        return dataclasses.replace(
            export, blob=blob, head=head.canonical(), signature=sign_head(head, self.key)
        )


def test_an_index_naming_another_country_is_refused_at_sync(fed: FederationSimulator) -> None:
    """Even under the peer's own signature, a head (and index) naming another country is
    refused before anything reaches the mirror."""
    calls: list[str] = []
    key = fed.audit_keys["FR"]
    wrap = lambda c: Renamed(c.responder, calls, key) if c.code == "FR" else c.responder  # noqa: E731
    result = fed.hit_check("DE", peers=fed.transports("DE", wrap)).run(items(ASK), CONTEXT)
    assert "index head names X1, expected FR" in result.peers["FR"].reason
    assert result.answers[0]["FR"].outcome is Outcome.UNAVAILABLE
    assert calls == []  # nothing was asked of it
    assert result.answers[1]["NL"].outcome is Outcome.HIT
