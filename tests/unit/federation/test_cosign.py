"""Peers cosign each other's checkpoints: rounds between in-process nodes, no sockets.

DE, FR and NL are real node services (``federation_harness``); each witness is the node's
own :class:`CheckpointWitness` reached through :class:`InProcessTransport`, so the caller's
country is what its certificate would say.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from federation_harness import Federation
from federation_sim import items, random_registry
from pki_fixtures import TestPKI

from audit.entries import LogEntry
from audit.export import export_log
from audit.log import AuditLog
from audit.verify import verify_export
from federation.cosign import CosignResult, Witness, WitnessedLog, cosign_round
from federation.hitcheck_types import CheckContext
from federation.inprocess import InProcessTransport
from fedlookup.errors import PeerUnavailableError
from node.layout import log_origins
from node.serve.cosigning import WitnessedAuditLog, peer_cosigner, trusted_policy

CONTEXT = CheckContext("CASE-C", "trafficking investigation", "art. 1", "inv-3")


@pytest.fixture
def fed(tmp_path: Path, test_pki: TestPKI) -> Iterator[Federation]:
    f = Federation(tmp_path, test_pki)
    for seed, code in enumerate(("DE", "FR", "NL")):
        f.add_country(code, random_registry(code, 5, seed=seed))
    f.countries["DE"].log.append(LogEntry.heartbeat())  # DE's node log is not empty
    fr = f.countries["FR"].records
    check = f.hit_check("DE")
    check.run(items([(r.make, r.serial) for r in list(fr.values())[:3]]), CONTEXT)
    yield f
    f.close()


def witnesses(fed: Federation, caller: str, *, down: str = "") -> list[Witness]:
    """Every other country as a witness of ``caller``; ``down`` does not answer."""
    out = []
    for code, c in sorted(fed.countries.items()):
        if code == caller:
            continue
        witness = None if code == down else c.service.witness.add_checkpoint
        transport = InProcessTransport(c.responder, caller, country=code, witness=witness)
        out.append(Witness(code, peer_cosigner(fed.directory, code), transport))
    return out


def de_logs(fed: Federation) -> list[WitnessedLog]:
    """DE's node log and its outgoing-query log (the harness's, written by the check)."""
    outgoing = fed._auditors["DE"].log
    return [WitnessedAuditLog(fed.countries["DE"].log), WitnessedAuditLog(outgoing)]


def statuses(results: list[CosignResult]) -> list[tuple[str, str, str]]:
    return [(r.origin, r.witness, r.status) for r in results]


def test_a_round_gets_every_peer_cosignature_on_both_logs(fed: Federation) -> None:
    logs = de_logs(fed)
    results = cosign_round(logs, witnesses(fed, "DE"), timeout=5)
    node, outgoing = log_origins("DE")
    assert statuses(results) == [
        (node, "FR", "cosigned"),
        (node, "NL", "cosigned"),
        (outgoing, "FR", "cosigned"),
        (outgoing, "NL", "cosigned"),
    ]
    assert all(r.size > 0 and r.witness_status == 200 for r in results)
    assert fed.countries["FR"].log.cosigned_size(outgoing) == results[2].size


def test_a_second_round_with_nothing_new_asks_nobody(fed: Federation) -> None:
    logs = de_logs(fed)
    known: dict[tuple[str, str], int] = {}
    cosign_round(logs, witnesses(fed, "DE"), timeout=5, known=known)
    again = cosign_round(logs, witnesses(fed, "DE"), timeout=5, known=known)
    assert {r.status for r in again} == {"current"}
    assert {r.witness_status for r in again} == {0}  # no call was made


def test_a_grown_log_is_cosigned_from_the_size_the_witness_holds(fed: Federation) -> None:
    logs = de_logs(fed)[:1]
    first = cosign_round(logs, witnesses(fed, "DE"), timeout=5)
    fed.countries["DE"].log.append(LogEntry.heartbeat())
    known = {(r.origin, r.witness): r.size for r in first}
    grown = cosign_round(logs, witnesses(fed, "DE"), timeout=5, known=known)
    assert [(r.status, r.size) for r in grown] == [("cosigned", first[0].size + 1)] * 2


def test_the_export_verifies_with_every_peer_required_as_cosigner(
    fed: Federation, tmp_path: Path
) -> None:
    logs = de_logs(fed)
    cosign_round(logs, witnesses(fed, "DE"), timeout=5)
    for outgoing, log in ((False, logs[0]), (True, logs[1])):
        assert isinstance(log, WitnessedAuditLog)
        export = export_log(log.log.directory, tmp_path / f"export-{outgoing}")
        policy = trusted_policy(fed.directory, "DE", outgoing=outgoing)
        assert policy.quorum == 2
        report = verify_export(export.path, policy=policy)
        assert report.ok, [f for f in report.findings if not f.valid]
        assert report.counts()["cosignatures"][0] >= 2


def test_the_export_without_cosignatures_fails_the_quorum(fed: Federation, tmp_path: Path) -> None:
    export = export_log(fed.countries["NL"].log.directory, tmp_path / "nl")
    report = verify_export(export.path, policy=trusted_policy(fed.directory, "NL"))
    assert not report.ok
    bad = [f.reason for f in report.findings if not f.valid]
    assert any("requires 2" in reason for reason in bad)


def _forged_de_log(fed: Federation, tmp_path: Path, entries: int) -> WitnessedAuditLog:
    """DE's node log as a node would show it after rewriting its history: same origin and
    key, other entries."""
    log = AuditLog.open(tmp_path / "forged", log_origins("DE")[0], fed.pki.audit_keys["DE"])
    for _ in range(entries):
        log.append(LogEntry.heartbeat())
    return WitnessedAuditLog(log)


def test_a_rewritten_history_is_refused_with_a_conflict(
    fed: Federation, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (real,) = cosign_round(de_logs(fed)[:1], witnesses(fed, "DE")[:1], timeout=5)
    forged = _forged_de_log(fed, tmp_path, real.size)  # same size, other root
    known = {(forged.origin, "FR"): real.size}
    with caplog.at_level(logging.INFO):
        (result,) = cosign_round([forged], witnesses(fed, "DE")[:1], timeout=5, known=known)
    forged.log.close()
    assert (result.status, result.witness_status) == ("refused", 409)
    assert fed.countries["FR"].log.cosigned_size(forged.origin) == real.size
    witness_says = [r for r in caplog.records if getattr(r, "event", "") == "witness"]
    assert witness_says[-1].levelno == logging.ERROR
    assert witness_says[-1].status == 409  # type: ignore[attr-defined]
    node_says = [r for r in caplog.records if getattr(r, "event", "") == "cosign"]
    assert node_says[-1].levelno == logging.WARNING
    assert node_says[-1].status == "refused"  # type: ignore[attr-defined]


def test_a_truncated_history_is_refused(fed: Federation, tmp_path: Path) -> None:
    (real,) = cosign_round(de_logs(fed)[:1], witnesses(fed, "DE")[:1], timeout=5)
    forged = _forged_de_log(fed, tmp_path, real.size - 1)
    try:
        (result,) = cosign_round([forged], witnesses(fed, "DE")[:1], timeout=5)
    finally:
        forged.log.close()
    assert result.status == "refused"
    assert result.witness_status in (400, 409)
    assert fed.countries["FR"].log.cosigned_size(forged.origin) == real.size


def test_a_peer_may_only_submit_its_own_logs(fed: Federation) -> None:
    # FR presents DE's checkpoint to NL: NL witnesses only FR's logs for FR.
    de = de_logs(fed)[0]
    nl = fed.countries["NL"]
    as_fr = InProcessTransport(
        nl.responder, "FR", country="NL", witness=nl.service.witness.add_checkpoint
    )
    witness = Witness("NL", peer_cosigner(fed.directory, "NL"), as_fr)
    (result,) = cosign_round([de], [witness], timeout=5)
    assert (result.status, result.witness_status) == ("refused", 404)
    assert nl.log.cosigned_size(de.origin) == 0


def test_a_peer_that_is_down_is_reported_and_the_others_cosign(fed: Federation) -> None:
    results = cosign_round(de_logs(fed), witnesses(fed, "DE", down="NL"), timeout=5)
    by_peer = {(r.origin, r.witness): r for r in results}
    node, outgoing = log_origins("DE")
    assert by_peer[(node, "NL")].status == "unavailable"
    assert by_peer[(outgoing, "NL")].status == "unavailable"
    assert by_peer[(node, "FR")].status == by_peer[(outgoing, "FR")].status == "cosigned"


def test_a_transport_failure_mid_round_is_unavailable_not_an_exception(
    fed: Federation,
) -> None:
    class Broken:
        country = "FR"

        def add_checkpoint(self, body: bytes, *, timeout: float) -> tuple[int, bytes]:
            raise PeerUnavailableError("FR", "AddCheckpoint: connection refused")

    witness = Witness("FR", peer_cosigner(fed.directory, "FR"), Broken())
    (result,) = cosign_round(de_logs(fed)[:1], [witness], timeout=5)
    assert (result.status, result.reason) == ("unavailable", "AddCheckpoint: connection refused")
