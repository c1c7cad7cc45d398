"""Commitments bound to the request: an asker that commits to harmless serials and
evaluates others is caught when its opening is revealed.

The request is blinded under a key derived from the commitment's nonce, and the answering
node's signed receipt binds the request's SHA-256, so an auditor holding the opening
recomputes the request and compares (what ``fedlookup audit check-reveal`` does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from federation_sim import FederationSimulator, items, random_registry

from audit.commitment import blinding_key
from federation.evaluation import BlindedQuery
from federation.hitcheck_types import CheckContext
from federation.psi import blinded_request

CONTEXT = CheckContext("CASE-C", "seizure", "", "")
HARMLESS = [b"v1|MS|GLOCK|HARMLESS1", b"v1|S|HARMLESS1"]
WANTED = [b"v1|MS|GLOCK|TARGET777", b"v1|S|TARGET777"]


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[FederationSimulator]:
    f = FederationSimulator(tmp_path)
    f.add_country("DE", random_registry("DE", 5, seed=3))
    f.add_country("FR", random_registry("FR", 10, seed=1))
    yield f
    f.close()


def _ask(fed: FederationSimulator, committed: list[bytes], evaluated: list[bytes]) -> bool:
    """Commit to ``committed``, send ``evaluated``; return whether the reveal checks out."""
    trail = fed.trail("DE")
    signed = trail.sign_many([("FR", committed)], CONTEXT)[0]
    query = BlindedQuery.create(evaluated, key=signed.blinding_key)
    answer = fed.transports("DE")[0].evaluate(
        signed.statement, signed.signature, query.request, timeout=5
    )
    bound = json.loads(answer.receipt)["receipt"]["binding"]["request_sha256"]
    opening = trail.openings.get(signed.request_id)
    assert opening.identifiers == tuple(committed)
    recomputed = blinded_request(blinding_key(opening.nonce), opening.identifiers, reveal=True)
    return hashlib.sha256(recomputed).hexdigest() == bound


def test_an_honest_request_is_recomputed_from_its_opening(fed: FederationSimulator) -> None:
    assert _ask(fed, HARMLESS, HARMLESS)


def test_evaluating_other_serials_than_committed_is_caught(fed: FederationSimulator) -> None:
    assert not _ask(fed, HARMLESS, WANTED)


def test_the_hit_check_blinds_under_the_derived_key(fed: FederationSimulator) -> None:
    fr = fed.countries["FR"].records["FR-3"]
    result = fed.hit_check("DE").run(items([(fr.make, fr.serial)]), CONTEXT)
    request_id = result.peers["FR"].request_ids[0]
    opening = fed.trail("DE").openings.get(request_id)
    request = blinded_request(blinding_key(opening.nonce), opening.identifiers, reveal=True)
    receipts = [
        json.loads(e)["receipt"]["binding"]["request_sha256"] for e in _receipts(fed, request_id)
    ]
    assert receipts == [hashlib.sha256(request).hexdigest()]


def _receipts(fed: FederationSimulator, request_id: str) -> list[bytes]:
    from audit.canonical import unb64
    from audit.entries import LogEntry

    log = fed.trail("DE").log
    out = []
    for i in range(log.size):
        entry = LogEntry.parse(log.entry(i))
        if entry.kind == "receipt" and entry.get("request_id") == request_id:
            out.append(unb64(entry["receipt"], "receipt"))
    return out
