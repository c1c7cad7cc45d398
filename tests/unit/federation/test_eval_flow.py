"""Online evaluation: reveal and cardinality modes, labels that open only on a hit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from psi_helpers import firearm, make_index, synced

from federation.evaluation import BlindedQuery, Evaluator
from federation.hitcheck_types import Outcome, classify
from federation.index import IndexMirror
from federation.labels import entry_prk, open_label, slot_stream, slot_tag
from federation.psi import Blinder, parse_response
from fedlookup.errors import EpochMismatchError, PSIProtocolError

RECORDS = [
    firearm("a", "GLOCK", "111"),
    firearm("b", "SIG", "111", "lost"),
    firearm("c", "BERETTA", "333", "seized"),
]


@pytest.fixture
def setup(tmp_path: Path):
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in RECORDS)
    return key, synced(index)


def test_hit_possible_and_no_hit(setup) -> None:
    key, mirror = setup
    q = BlindedQuery.create([b"v1|MS|GLOCK|111", b"v1|S|111", b"v1|MS|CZ|333", b"v1|S|333"])
    ms, so, ms2, so2 = q.finish(Evaluator(key).evaluate(q.request), mirror, epoch_id=key.epoch_id)
    assert classify(ms, so)[0] is Outcome.HIT
    assert classify(ms2, so2) == (Outcome.POSSIBLE, tuple(so2))  # other make, same serial
    assert classify([], []) == (Outcome.NO_HIT, ())
    assert {lab.category for lab in so} == {"stolen", "lost"}


def test_cardinality_mode_counts_only(setup) -> None:
    key, mirror = setup
    q = BlindedQuery.create([b"v1|S|999", b"v1|S|111", b"v1|S|333", b"v1|S|000"], reveal=False)
    assert q.count(Evaluator(key).evaluate(q.request, reveal=False), mirror) == 2


def test_response_must_answer_every_item(setup) -> None:
    key, mirror = setup
    q = BlindedQuery.create([b"v1|S|111", b"v1|S|333"])
    other = BlindedQuery.create([b"v1|S|111"])
    with pytest.raises(PSIProtocolError, match="expected 2"):
        q.finish(Evaluator(key).evaluate(other.request), mirror)


def test_epoch_mismatch_and_empty_mirror(setup) -> None:
    key, mirror = setup
    q = BlindedQuery.create([b"v1|S|111"])
    response = Evaluator(key).evaluate(q.request)
    with pytest.raises(EpochMismatchError):
        q.finish(response, mirror, epoch_id="20990101T000000Z-00000000")
    with pytest.raises(EpochMismatchError, match="empty"):
        q.finish(response, IndexMirror())


def test_request_over_the_limit_is_refused(setup) -> None:
    key, _ = setup
    q = BlindedQuery.create([b"v1|S|1", b"v1|S|2", b"v1|S|3"])
    with pytest.raises(PSIProtocolError, match="limit 2"):
        Evaluator(key, max_items=2).evaluate(q.request)


def test_label_does_not_open_without_the_hit(setup) -> None:
    """Every sealed label in the mirror, opened with the keystream of a non-matching
    identifier's evaluation, yields nothing; only the identifier's own evaluation opens it."""
    key, mirror = setup
    blinder = Blinder()
    items = [b"v1|MS|GLOCK|111", b"v1|MS|GLOCK|112"]
    response = Evaluator(key).evaluate(blinder.request(items))
    hit, miss = (
        entry_prk(x, key.epoch_id) for x in blinder.unblind(parse_response(response, expected=2))
    )
    sealed = mirror.lookup(slot_tag(hit, 2, 0))
    assert sealed is not None
    assert mirror.lookup(slot_tag(miss, 2, 0)) is None
    gen = int.from_bytes(sealed[:4], "big")
    body = sealed[4:]
    opened = bytes(a ^ b for a, b in zip(body, slot_stream(hit, 2, 0, gen), strict=True))
    wrong = bytes(a ^ b for a, b in zip(body, slot_stream(miss, 2, 0, gen), strict=True))
    assert opened[0] == 2  # "stolen"
    assert wrong != opened
    assert open_label(hit, 2, 0, sealed, "DE") is not None
    assert open_label(miss, 2, 0, sealed, "DE") is None


def test_one_evaluator_serves_many_threads(setup) -> None:
    """openmined objects crash when shared; the evaluator gives each thread its own."""
    key, mirror = setup
    evaluator = Evaluator(key)
    queries = [BlindedQuery.create([b"v1|S|111", b"v1|S|404"]) for _ in range(40)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda q: evaluator.evaluate(q.request), queries))
    for q, response in zip(queries, responses, strict=True):
        hit, miss = q.finish(response, mirror)
        assert len(hit) == 2
        assert miss == []
