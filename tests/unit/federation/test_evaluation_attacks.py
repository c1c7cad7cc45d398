"""A dishonest answering node against the hit check (three countries, one process).

Without proofs each of these answers read as a silent no-hit for the planted hit; with them
the asker reports ``unavailable: evaluation proof invalid`` and the honest peer still answers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from federation_sim import (
    ASK,
    Country,
    FederationSimulator,
    items,
    three_countries,
)

from federation import dleq
from federation.evaluation import Evaluator
from federation.hitcheck_types import CheckContext, Outcome
from federation.keys import EpochKey
from federation.psi import new_key
from federation.transport import Evaluation, NodeInfo

CONTEXT = CheckContext("CASE-9", "seizure", "", "")


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[FederationSimulator]:
    f = three_countries(tmp_path)
    yield f
    f.close()


class Dishonest:
    """FR's responder with its answers (or its NodeInfo) rewritten by ``forge``."""

    def __init__(
        self,
        inner: Any,
        forge: Callable[[bytes, Evaluation], Evaluation] | None = None,
        info: Callable[[NodeInfo], NodeInfo] | None = None,
    ) -> None:
        self.inner, self.forge, self.info = inner, forge, info

    def node_info(self, peer: str) -> NodeInfo:
        info: NodeInfo = self.inner.node_info(peer)
        return self.info(info) if self.info else info

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> Any:
        return self.inner.sync_index(peer, since_version, epoch_id)

    def evaluate(self, peer: str, statement: bytes, signature: bytes, request: bytes) -> Evaluation:
        answer: Evaluation = self.inner.evaluate(peer, statement, signature, request)
        return self.forge(request, answer) if self.forge else answer


def _check(fed: FederationSimulator, fr: Callable[[Any], Dishonest]) -> Any:
    def wrap(c: Country) -> Any:
        return fr(c.responder) if c.code == "FR" else c.responder

    return fed.hit_check("DE", peers=fed.transports("DE", wrap)).run(items(ASK), CONTEXT)


def _other_key(epoch_id: str) -> Evaluator:
    from datetime import UTC, datetime

    return Evaluator(EpochKey(epoch_id, new_key(), datetime.now(UTC)))


def _assert_caught(result: Any) -> None:
    assert result.answers[0]["FR"].outcome is Outcome.UNAVAILABLE
    assert result.peers["FR"].status == "unavailable"
    assert result.peers["FR"].reason == dleq.PROOF_INVALID
    assert result.answers[1]["NL"].outcome is Outcome.HIT  # the honest peer is unaffected


def test_the_honest_answer_is_proven_and_read(fed: FederationSimulator) -> None:
    result = _check(fed, lambda r: Dishonest(r))
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    assert result.answers[1]["NL"].outcome is Outcome.HIT


def test_an_answer_under_another_key_with_its_own_valid_proof_is_caught(
    fed: FederationSimulator,
) -> None:
    def other(request: bytes, answer: Evaluation) -> Evaluation:
        evil = _other_key(answer.epoch_id)
        response = evil.evaluate(request)
        proof = evil.prove(request, response, country="FR")
        return dataclasses.replace(answer, response=response, proof=proof)

    _assert_caught(_check(fed, lambda r: Dishonest(r, other)))


def test_random_points_are_caught(fed: FederationSimulator) -> None:
    def rubbish(request: bytes, answer: Evaluation) -> Evaluation:
        return dataclasses.replace(answer, response=_other_key(answer.epoch_id).evaluate(request))

    _assert_caught(_check(fed, lambda r: Dishonest(r, rubbish)))


def test_an_answer_without_a_proof_is_caught(fed: FederationSimulator) -> None:
    _assert_caught(
        _check(fed, lambda r: Dishonest(r, lambda q, a: dataclasses.replace(a, proof=b"")))
    )


def test_a_key_the_node_did_not_sign_is_refused(fed: FederationSimulator) -> None:
    """The node publishes a key of its choosing, and proves its answers under it."""
    fake = _other_key("20260101T000000Z-00000000")

    def publish(info: NodeInfo) -> NodeInfo:
        return dataclasses.replace(info, epoch_public_key=fake.public_key)

    def under_it(request: bytes, answer: Evaluation) -> Evaluation:
        evil = _other_key(answer.epoch_id)
        evil.key = dataclasses.replace(fake.key, epoch_id=answer.epoch_id)
        response = evil.evaluate(request)
        return dataclasses.replace(
            answer, response=response, proof=evil.prove(request, response, country="FR")
        )

    _assert_caught(_check(fed, lambda r: Dishonest(r, under_it, publish)))


def test_a_receipt_binding_another_answer_is_caught(fed: FederationSimulator) -> None:
    """The node says nothing of its index version; its own receipt says which it was."""

    def unstated(request: bytes, answer: Evaluation) -> Evaluation:
        return dataclasses.replace(answer, index_version=0)

    result = _check(fed, lambda r: Dishonest(r, unstated))
    assert result.answers[0]["FR"].outcome is Outcome.UNAVAILABLE
    assert "receipt is invalid" in result.peers["FR"].reason
    assert "binds another" in result.peers["FR"].reason
