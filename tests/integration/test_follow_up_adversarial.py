"""Follow-ups from a misbehaving member: real certificates, real keys, real gRPC to FR's node.

Each case acts as a member with its own valid certificate and audit key (DE or NL, read
from their node folders) and talks to FR's running node over mutual TLS, then looks at
what FR answered and what FR's log says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from followup_fixtures import FollowUpNetwork
from pki_fixtures import ANY_SERVER

from audit.entries import LogEntry
from audit.export import export_log
from audit.followup import FollowUpStatement
from audit.keys import load_private_key
from audit.statements import sign
from audit.verify import load_export
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.labels import format_reference
from fedlookup.errors import PeerRejectedError
from node.ask.followup import FollowUpSender

Member = Callable[[str], tuple[GrpcTransport, Ed25519PrivateKey]]

pytestmark = pytest.mark.integration


class _Log:
    """An outgoing log kept in memory (the attacker's own bookkeeping)."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def append(self, entry: LogEntry) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1

    def checkpoint(self) -> bytes:
        return b""


@pytest.fixture
def as_member(follow_up_network: FollowUpNetwork) -> Iterator[Member]:
    """``as_member(country)`` -> (transport to FR with that member's certificate, its key)."""
    net = follow_up_network
    opened: list[GrpcTransport] = []

    def make(country: str) -> tuple[GrpcTransport, Ed25519PrivateKey]:
        cfg = net.network.nodes[country].config()
        creds = ClientCredentials.from_files(ca=cfg.tls.ca, cert=cfg.tls.cert, key=cfg.tls.key)
        transport = GrpcTransport("FR", net.endpoints["FR"], creds, server_check=ANY_SERVER)
        opened.append(transport)
        return transport, load_private_key(cfg.audit.key)

    yield make
    for t in opened:
        t.close()


def _fr_log_kinds(net: FollowUpNetwork, tmp: Path) -> list[tuple[str, dict[str, object]]]:
    """FR's follow-up entries, read from an export of its node log (FR checkpoints after
    each follow-up entry, so an export shows them at once)."""
    out = tmp / f"fr-export-{len(list(tmp.glob('fr-export-*')))}"
    export_log(net.network.nodes["FR"].config().audit_dir, out)
    view, _ = load_export(out)
    entries: list[LogEntry] = [e for e in view.entries if e is not None]
    return [(e.kind, e.fields) for e in entries if e.kind.startswith("followup_")]


def _statement(frm: str, reference: str, **extra: str) -> FollowUpStatement:
    base = FollowUpStatement.create(frm, "FR", reference, case_id="C-ADV", purpose="probe",
                                    legal_basis="", investigator="mallory")  # fmt: skip
    return replace(base, **extra) if extra else base


def test_forged_from_is_refused_and_logged(
    follow_up_network: FollowUpNetwork, as_member: Member, tmp_path: Path
) -> None:
    transport, _ = as_member("DE")
    _, nl_key = as_member("NL")
    ref = follow_up_network.hit_reference(3)
    # DE's certificate, a statement that says NL, signed with NL's own audit key: the
    # strongest forgery a member holding a stolen key could make.
    stmt = _statement("NL", ref)
    with pytest.raises(PeerRejectedError, match="statement country does not match"):
        transport.submit_follow_up(stmt.canonical(), sign(stmt.canonical(), nl_key), timeout=10)
    refusals = [f for k, f in _fr_log_kinds(follow_up_network, tmp_path) if k == "followup_refusal"]
    assert any(f["request_id"] == stmt.request_id and f["reason"] == "CountryMismatchError"
               for f in refusals)  # fmt: skip
    with follow_up_network.api("FR", "liaison") as api:
        ids = {i["id"] for i in api.get("/api/v1/follow-ups/incoming").json()}
    assert stmt.request_id not in ids  # never queued


def test_third_country_reference_is_refused(
    follow_up_network: FollowUpNetwork, as_member: Member, tmp_path: Path
) -> None:
    transport, key = as_member("DE")
    stmt = _statement("DE", format_reference("NL", bytes(range(8))))
    with pytest.raises(PeerRejectedError, match="invalid request"):
        transport.submit_follow_up(stmt.canonical(), sign(stmt.canonical(), key), timeout=10)
    kinds = _fr_log_kinds(follow_up_network, tmp_path)
    assert ("followup_refusal", stmt.request_id) in {(k, f["request_id"]) for k, f in kinds}
    # The desk refuses to send it at all: a reference is asked of its issuer only.
    with follow_up_network.api("DE", "investigator") as api:
        r = api.post("/api/v1/follow-ups", json={"reference": format_reference("DE", b"\0" * 8),
                                                 "case": "C", "purpose": "p"})  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reference"


def test_unknown_reference_looks_like_a_real_one(
    follow_up_network: FollowUpNetwork,
    as_member: Member,
) -> None:
    transport, key = as_member("DE")
    real = _statement("DE", follow_up_network.hit_reference(4))
    fake = _statement("DE", format_reference("FR", b"\x13" * 8))
    answers = [
        transport.submit_follow_up(s.canonical(), sign(s.canonical(), key), timeout=10)
        for s in (real, fake)
    ]
    statuses = [transport.follow_up_status(s.request_id, timeout=10) for s in (real, fake)]
    # Same status, no released data, no reason: nothing tells the asker which one exists.
    assert [(a.status, a.released, a.reason) for a in answers + statuses] == [
        ("pending", {}, "")
    ] * 4
    with follow_up_network.api("FR", "liaison") as api:
        queue = {i["id"]: i for i in api.get("/api/v1/follow-ups/incoming").json()}
    assert queue[real.request_id]["known"] is True
    assert queue[fake.request_id]["known"] is False  # the liaison officer sees it


def test_another_members_follow_up_is_invisible(
    follow_up_network: FollowUpNetwork,
    as_member: Member,
) -> None:
    de, key = as_member("DE")
    nl, _ = as_member("NL")
    stmt = _statement("DE", follow_up_network.hit_reference(4))
    de.submit_follow_up(stmt.canonical(), sign(stmt.canonical(), key), timeout=10)
    with pytest.raises(PeerRejectedError) as theirs:
        nl.follow_up_status(stmt.request_id, timeout=10)
    with pytest.raises(PeerRejectedError) as none:
        nl.follow_up_status("0" * 32, timeout=10)
    assert str(theirs.value).replace(stmt.request_id, "") == str(none.value).replace("0" * 32, "")


def test_oversized_fields_are_refused(
    follow_up_network: FollowUpNetwork, as_member: Member
) -> None:
    transport, key = as_member("DE")
    ok = _statement("DE", follow_up_network.hit_reference(4))
    big = ok.canonical().replace(b'"probe"', b'"' + b"x" * 5000 + b'"')
    with pytest.raises(PeerRejectedError, match="statement or signature is invalid"):
        transport.submit_follow_up(big, sign(big, key), timeout=10)
    with follow_up_network.api("DE", "investigator") as api:
        r = api.post("/api/v1/follow-ups", json={"reference": ok.reference, "case": "C" * 300,
                                                 "purpose": "p"})  # fmt: skip
    assert r.status_code == 422


def test_policy_auto_releases_chosen_fields_to_chosen_peers(
    follow_up_network: FollowUpNetwork,
    as_member: Member,
) -> None:
    transport, key = as_member("NL")
    log = _Log()
    sender = FollowUpSender("NL", {"FR": transport}, log, key)
    ref = follow_up_network.hit_reference(2)
    stmt, answer, _ = sender.send(ref, case_id="NL-1", purpose="trafficking", legal_basis="",
                                  investigator="nils")  # fmt: skip
    assert answer is not None
    assert answer.status == "released"  # decided by policy on arrival
    got = sender.poll("FR", stmt.request_id)
    assert (got.status, got.released) == ("released", {"make": "Beretta", "category": "seized"})
    assert [e.kind for e in log.entries] == ["followup_sent", "followup_receipt"]
