"""Cardinality-only mode against a deviating asker: the narrowed claim, as tests.

A node in cardinality mode shuffles its answer, so an *honest* asker (one key per request)
learns how many items matched, not which. A *deviating* asker blinds each item under its
own key and tries every key against the shuffled answer: it learns exactly which items
matched (the attack below still succeeds; docs/protocol.md says so). What the node does
hold: a request carries at least ``min_items_cardinality`` items (a one-item request, whose
count names the hit, is refused), every item counts against the daily quota, and the
asker's statement is in both logs, where ``fedlookup audit report`` shows the pattern.
"""

from __future__ import annotations

import random
from pathlib import Path

import private_set_intersection.python as openmined
import pytest
from federation_sim import FederationSimulator, items, random_registry
from psi_helpers import firearm, make_index, synced

from federation.evaluation import Evaluator
from federation.hitcheck_types import CheckContext, Outcome
from federation.labels import entry_prk
from federation.psi import Blinder, parse_request, parse_response, unblind
from fedlookup.errors import PeerRejectedError


def test_a_deviating_asker_learns_which_items_matched_in_one_request(tmp_path: Path) -> None:
    index, key, _ = make_index(tmp_path)
    records = [firearm(f"r{i}", "GLOCK", f"S{i}") for i in range(40)]
    index.update(r.input() for r in records)
    mirror = synced(index)
    rng = random.Random(5)
    hits = set(rng.sample(range(100), 15))
    asked = [
        records[i % 40].items[1] if i in hits else f"v1|S|MISS{i}".encode() for i in range(100)
    ]
    # One fresh key per item, all in one request: the node cannot tell this from an honest one.
    blinders = [Blinder(reveal=False) for _ in asked]
    points = [parse_request(b.request([x]))[1][0] for b, x in zip(blinders, asked, strict=True)]
    request = openmined.Request()
    request.reveal_intersection = False
    request.encrypted_elements.extend(points)
    answer = Evaluator(key).evaluate(request.SerializeToString(), reveal=False)
    shuffled = parse_response(answer, expected=len(asked))
    found = {
        i
        for i, b in enumerate(blinders)
        for x in unblind(b._key, shuffled)
        if mirror.holds(entry_prk(x, key.epoch_id))
    }
    assert found == hits  # the shuffle hides nothing from this asker


def test_a_request_below_the_minimum_is_refused_and_the_asker_pads(tmp_path: Path) -> None:
    fed = FederationSimulator(tmp_path)
    try:
        nl = random_registry("NL", 10, seed=2)
        fed.add_country("DE", random_registry("DE", 5, seed=3))
        policy = {"peers": {"DE": {"mode": "cardinality", "min_items_cardinality": 20}}}
        fed.add_country("NL", nl, policy=policy)
        # The hit check pads its one-firearm request with random items up to the minimum.
        result = fed.hit_check("DE").run(
            items([(nl[0].make, nl[0].serial)]), CheckContext("C", "p", "", "")
        )
        assert result.answers[0]["NL"].outcome is Outcome.POSSIBLE
        # A raw request of two items (one firearm) is refused by the node.
        transport = fed.transports("DE")[0]
        signed = fed.trail("DE").sign_many(
            [("NL", [b"v1|S|X", b"v1|MS|G|X"])], CheckContext("C", "p", "", "")
        )[0]
        request = Blinder(reveal=False).request([b"v1|S|X", b"v1|MS|G|X"])
        with pytest.raises(PeerRejectedError):
            transport.evaluate(signed.statement, signed.signature, request, timeout=5)
    finally:
        fed.close()
