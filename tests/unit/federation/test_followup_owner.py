"""The owner's follow-up core (federation.followup) over a real queue file, no sockets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.entries import LogEntry
from audit.followup import FollowUpStatement
from audit.statements import sign
from federation.followup import FollowUpOwner, FollowUpPolicy
from federation.labels import format_reference
from fedlookup.errors import CountryMismatchError, InputError, UnlistedPeerError, VerificationError
from node.followups import FollowUpStore, log_decisions

KNOWN = format_reference("FR", b"\x01" * 8)
UNKNOWN = format_reference("FR", b"\x02" * 8)
RECORD = {"make": "Glock", "model": "17", "caliber": "9mm", "serial": "GX1",
          "category": "stolen", "dates": "recorded 2026-03-14", "contact": "desk"}  # fmt: skip


@dataclass
class _Member:
    key: Ed25519PublicKey

    def audit_key(self) -> Ed25519PublicKey:
        return self.key


class _Directory:
    def __init__(self, keys: dict[str, Ed25519PrivateKey]) -> None:
        self._keys = keys

    def member(self, country: str) -> _Member:
        if country not in self._keys:
            raise UnlistedPeerError(f"{country} is not listed")
        return _Member(self._keys[country].public_key())


World = tuple[FollowUpOwner, FollowUpStore, list[LogEntry], dict[str, Ed25519PrivateKey]]


@pytest.fixture
def world(
    tmp_path: Path,
) -> tuple[FollowUpOwner, FollowUpStore, list[LogEntry], dict[str, Ed25519PrivateKey]]:
    keys = {"DE": Ed25519PrivateKey.generate(), "NL": Ed25519PrivateKey.generate()}
    store = FollowUpStore(tmp_path / "followups.sqlite3")
    log: list[LogEntry] = []
    policies = {"NL": FollowUpPolicy(deadline_hours=24, auto_release=frozenset({"make"}))}
    owner = FollowUpOwner(
        country="FR", directory=_Directory(keys), store=store, log=log.append,
        policy=lambda peer: policies.get(peer, FollowUpPolicy()),
        lookup=lambda ref: "FR-1" if ref == KNOWN else None, resolve=lambda rid: RECORD,
    )  # fmt: skip
    return owner, store, log, keys


def _signed(key: Ed25519PrivateKey, frm: str, ref: str, to: str = "FR") -> tuple[bytes, bytes, str]:
    s = FollowUpStatement.create(frm, to, ref, case_id="C", purpose="p", legal_basis="",
                                 investigator="ida")  # fmt: skip
    return s.canonical(), sign(s.canonical(), key), s.request_id


def test_queued_with_the_peers_deadline_and_logged(world: World) -> None:
    owner, store, log, keys = world
    data, sig, _ = _signed(keys["DE"], "DE", KNOWN)
    item = owner.submit("DE", data, sig)
    assert (item.status, item.record_id, item.from_country) == ("pending", "FR-1", "DE")
    assert round((item.deadline - item.received_at).total_seconds()) == 48 * 3600
    assert [e.kind for e in log] == ["followup_received"]
    assert owner.submit("DE", data, sig) == item  # a retry gets the same answer, once queued
    assert len(store.incoming()) == 1


@pytest.mark.parametrize(
    ("caller", "frm", "to", "ref", "error"),
    [
        ("DE", "NL", "FR", KNOWN, CountryMismatchError),  # forged from
        ("DE", "DE", "NL", KNOWN, CountryMismatchError),  # addressed to another node
        ("DE", "DE", "FR", format_reference("NL", b"\x01" * 8), InputError),  # third country
    ],
)
def test_refusals_are_logged_and_not_queued(
    world: World, caller: str, frm: str, to: str, ref: str, error: type[Exception]
) -> None:
    owner, store, log, keys = world
    data, sig, _ = _signed(keys[frm], frm, ref, to)
    with pytest.raises(error):
        owner.submit(caller, data, sig)
    assert [e.kind for e in log] == ["followup_refusal"]
    assert store.incoming() == []


def test_bad_signature_and_non_member(world: World) -> None:
    owner, _, _, keys = world
    data, _, _ = _signed(keys["DE"], "DE", KNOWN)
    with pytest.raises(VerificationError):
        owner.submit("DE", data, sign(data, keys["NL"]))
    with pytest.raises(UnlistedPeerError):
        owner.submit("XX", data, sign(data, keys["DE"]))


def test_unknown_reference_answers_like_a_known_one(world: World) -> None:
    owner, _, _, keys = world
    a = owner.submit("DE", *_signed(keys["DE"], "DE", KNOWN)[:2])
    b = owner.submit("DE", *_signed(keys["DE"], "DE", UNKNOWN)[:2])
    assert (a.status, a.released, a.reason) == (b.status, b.released, b.reason)
    assert b.record_id is None


def test_auto_release_by_policy_and_decision_logged_once(world: World) -> None:
    owner, store, log, keys = world
    item = owner.submit("NL", *_signed(keys["NL"], "NL", KNOWN)[:2])
    assert (item.status, item.released, item.decided_by) == (
        "released",
        {"make": "Glock"},
        "policy",
    )
    assert log_decisions(store, "FR", log.append) == 1
    assert log_decisions(store, "FR", log.append) == 0
    decision = log[-1]
    assert (decision.kind, decision["fields"], decision["to"]) == (
        "followup_decision",
        "make",
        "NL",
    )
    assert "Glock" not in decision.canonical().decode()  # names, never values


def test_status_only_for_the_requester(world: World) -> None:
    owner, _, _, keys = world
    item = owner.submit("DE", *_signed(keys["DE"], "DE", KNOWN)[:2])
    assert owner.status("DE", item.request_id) == item
    for peer, rid in (("NL", item.request_id), ("DE", "f" * 32)):
        with pytest.raises(InputError, match="no such follow-up"):
            owner.status(peer, rid)


def test_oversized_statement_fields_fail_to_parse() -> None:
    s = FollowUpStatement.create("DE", "FR", KNOWN, case_id="C", purpose="p", legal_basis="",
                                 investigator="ida")  # fmt: skip
    big = s.canonical().replace(b'"p"', b'"' + b"p" * 257 + b'"')
    with pytest.raises(VerificationError, match="purpose"):
        FollowUpStatement.parse(big)
    with pytest.raises(VerificationError):
        FollowUpStatement.create("DE", "FR", KNOWN, case_id="C" * 300, purpose="p",
                                 legal_basis="", investigator="ida")  # fmt: skip
