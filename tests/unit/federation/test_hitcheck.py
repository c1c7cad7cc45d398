"""The hit check with three countries in one process (real indexes, responders, audit logs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from federation_sim import FederationSimulator, Firearm, items, messy, random_registry

from audit.entries import LogEntry
from federation.hitcheck_types import CheckContext, Outcome

CONTEXT = CheckContext("CASE-1", "trafficking investigation", "art. 1", "inv-7")


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[FederationSimulator]:
    f = FederationSimulator(tmp_path)
    yield f
    f.close()


def _planted(fed: FederationSimulator) -> list[tuple[str, str, str, str]]:
    """DE asks about FR and NL records: (make as asked, serial as asked, country, category)."""
    fr = random_registry("FR", 150, seed=1)
    nl = random_registry("NL", 150, seed=2)
    fed.add_country("DE", random_registry("DE", 100, seed=3))
    fed.add_country("FR", fr)
    fed.add_country("NL", nl)
    planted = []
    for r in fr[:10]:
        planted.append((r.make.upper(), messy(r.serial), "FR", r.category))
    for r in nl[:10]:
        planted.append((r.make.lower(), r.serial, "NL", r.category))
    return planted


def test_every_planted_overlap_is_found_with_its_category(fed: FederationSimulator) -> None:
    planted = _planted(fed)
    result = fed.hit_check("DE").run(items([(m, s) for m, s, _, _ in planted]), CONTEXT)
    assert result.complete, result.peers
    for (_, _, country, category), per in zip(planted, result.answers, strict=True):
        assert per[country].outcome is Outcome.HIT
        assert [lb.category for lb in per[country].labels] == [category]
        assert per[country].labels[0].reference.startswith(f"{country}-")
    assert result.count(Outcome.HIT) == len(planted)


def test_no_false_hit_between_registries_with_no_overlap(fed: FederationSimulator) -> None:
    fed.add_country("DE", random_registry("DE", 200, seed=3))
    fed.add_country("FR", random_registry("FR", 200, seed=1))
    fed.add_country("NL", random_registry("NL", 200, seed=2))
    de = fed.countries["DE"].records.values()
    result = fed.hit_check("DE").run(items([(r.make, r.serial) for r in de]), CONTEXT)
    assert result.complete
    assert result.count(Outcome.HIT) == 0
    assert result.count(Outcome.POSSIBLE) == 0
    assert result.count(Outcome.NO_HIT) == 2 * len(de)


def test_a_serial_under_another_make_is_a_possible_match(fed: FederationSimulator) -> None:
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    fed.add_country("FR", [Firearm("fr-1", "Glock", "XK4471Z", "stolen")])
    fed.add_country("NL", random_registry("NL", 5, seed=2))
    result = fed.hit_check("DE").run(items([("Beretta", "xk-4471z")]), CONTEXT)
    fr = result.answers[0]["FR"]
    assert fr.outcome is Outcome.POSSIBLE
    assert [lb.category for lb in fr.labels] == ["stolen"]
    assert result.answers[0]["NL"].outcome is Outcome.NO_HIT


def test_a_peer_refusing_by_policy_is_reported_refused(fed: FederationSimulator) -> None:
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    fed.add_country("FR", [Firearm("fr-1", "Glock", "XK4471Z", "stolen")])
    fed.add_country(
        "NL", random_registry("NL", 5, seed=2), policy={"peers": {"DE": {"allow": False}}}
    )
    result = fed.hit_check("DE").run(items([("Glock", "XK4471Z")]), CONTEXT)
    assert not result.complete
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    assert result.answers[0]["NL"].outcome is Outcome.REFUSED
    assert result.peers["NL"].status == "refused"
    assert "policy" in result.peers["NL"].reason.lower()


def test_a_batch_is_sent_in_chunks_under_the_peers_limit(fed: FederationSimulator) -> None:
    fr = random_registry("FR", 40, seed=1)
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    fed.add_country("FR", fr, policy={"peers": {"DE": {"max_items_per_request": 10}}})
    fed.add_country("NL", random_registry("NL", 5, seed=2))
    result = fed.hit_check("DE").run(items([(r.make, r.serial) for r in fr[:23]]), CONTEXT)
    assert result.complete
    assert len(result.peers["FR"].request_ids) == 5  # 23 firearms, 5 per request
    assert all(per["FR"].outcome is Outcome.HIT for per in result.answers)


def test_both_logs_hold_the_query_and_the_asker_holds_the_receipt(fed: FederationSimulator) -> None:
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    fed.add_country("FR", [Firearm("fr-1", "Glock", "XK4471Z", "stolen")])
    fed.add_country("NL", random_registry("NL", 5, seed=2))
    check = fed.hit_check("DE")
    result = check.run(items([("Glock", "XK4471Z")]), CONTEXT)
    request_id = result.peers["FR"].request_ids[0]
    asker_log = check.auditor.log  # type: ignore[attr-defined]
    asked = [LogEntry.parse(asker_log.entry(i)) for i in range(asker_log.size)]
    kinds = {(e.kind, e["request_id"]) for e in asked if e.kind != "heartbeat"}
    assert ("query_sent", request_id) in kinds
    receipt = next(e for e in asked if e.kind == "receipt" and e["to"] == "FR")
    assert (receipt["status"], receipt["hits"], receipt["no_hits"]) == ("answered", 1, 0)
    fr_log = fed.countries["FR"].log
    received = [LogEntry.parse(fr_log.entry(i)) for i in range(fr_log.size)]
    assert any(e.kind == "query_received" and e["request_id"] == request_id for e in received)
    assert all(b"XK4471Z" not in fr_log.entry(i) for i in range(fr_log.size))


def test_a_quota_running_out_mid_batch_refuses_the_rest(fed: FederationSimulator) -> None:
    fr = random_registry("FR", 8, seed=1)
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    policy = {"peers": {"DE": {"max_items_per_request": 4, "items_per_day": 10}}}
    fed.add_country("FR", fr, policy=policy)
    fed.add_country("NL", random_registry("NL", 5, seed=2))
    result = fed.hit_check("DE").run(items([(r.make, r.serial) for r in fr]), CONTEXT)
    assert result.peers["FR"].status == "partial"
    assert "quota" in result.peers["FR"].reason
    outcomes = [per["FR"].outcome for per in result.answers]
    assert outcomes == [Outcome.HIT] * 4 + [Outcome.REFUSED] * 4
    assert result.peers["NL"].status == "answered"


def test_a_cardinality_only_peer_yields_possible_matches_without_labels(
    fed: FederationSimulator,
) -> None:
    nl = random_registry("NL", 10, seed=2)
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    fed.add_country("FR", random_registry("FR", 5, seed=1))
    fed.add_country("NL", nl, policy={"peers": {"DE": {"mode": "cardinality"}}})
    check = fed.hit_check("DE")
    known = check.run(items([(nl[0].make, nl[0].serial)]), CONTEXT)
    unknown = check.run(items([("Glock", "QQ9999999")]), CONTEXT)
    assert known.answers[0]["NL"].outcome is Outcome.POSSIBLE
    assert known.answers[0]["NL"].labels == ()
    assert unknown.answers[0]["NL"].outcome is Outcome.NO_HIT


def test_five_countries_in_one_process(fed: FederationSimulator) -> None:
    for seed, code in enumerate(("DE", "FR", "NL", "BE", "AT")):
        fed.add_country(code, random_registry(code, 20, seed=seed))
    at = fed.countries["AT"].records["AT-3"]
    be = fed.countries["BE"].records["BE-7"]
    result = fed.hit_check("DE").run(items([(at.make, at.serial), (be.make, be.serial)]), CONTEXT)
    assert result.complete, result.peers
    assert sorted(result.peers) == ["AT", "BE", "FR", "NL"]
    first, second = result.answers
    assert [c for c, a in sorted(first.items()) if a.outcome is Outcome.HIT] == ["AT"]
    assert [c for c, a in sorted(second.items()) if a.outcome is Outcome.HIT] == ["BE"]
    for code in ("AT", "BE", "FR", "NL"):  # every peer logged the query it answered
        assert fed.countries[code].log.size == 1
