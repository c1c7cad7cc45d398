"""Responder: the security-relevant order of checks, what is charged, what is audited.

The statements are real signed :class:`~audit.statements.QueryStatement` bytes and the quota
ledger is the real SQLite one; directory, policy, audit trail, index and evaluator are small
recording stand-ins writing to one list of steps, so each test sees exactly which step ran,
in which order, and which did not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.statements import QueryStatement, sign
from federation.directory_model import DirectoryLimits, Member
from federation.responder import PeerGrant, Responder
from fedlookup.errors import (
    CountryMismatchError,
    FedlookupError,
    LogWriteError,
    PolicyRefusedError,
    PSIProtocolError,
    QuotaExceededError,
    RegistryUnavailableError,
    RequestTooLargeError,
    UnlistedPeerError,
    VerificationError,
)
from node.serve.quotas import SqliteQuotaLedger

KEYS = {"FR": Ed25519PrivateKey.generate(), "NL": Ed25519PrivateKey.generate()}
#: Every step of an answered evaluation, in the order the responder must take them.
ANSWERED = ["member", "policy", "count", "charge", "audit", "evaluate", "prove", "receipt"]


def _member(country: str, limits: DirectoryLimits) -> Member:
    raw = KEYS[country].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Member(country, "127.0.0.1:1", None, raw, limits)


def statement(**changes: Any) -> QueryStatement:
    base = QueryStatement(
        request_id="req-1",
        from_country="FR",
        to_country="DE",
        case_id="C-1",
        purpose="investigation",
        legal_basis="art. 1",
        investigator="inv-1",
        item_count=2,
        commitment=b"\x01" * 32,
    )
    return replace(base, **changes)


@dataclass
class World:
    steps: list[str] = field(default_factory=list)
    members: set[str] = field(default_factory=lambda: {"FR", "NL"})
    limits: DirectoryLimits = field(default_factory=lambda: DirectoryLimits(100, 100))
    grants: dict[str, PeerGrant] = field(default_factory=dict)
    index_ready: bool = True
    audit_fails: bool = False
    reveals: list[bool] = field(default_factory=list)
    quotas: Any = None
    responder: Any = None

    # directory (membership)
    def member(self, country: str) -> Member:
        self.steps.append("member")
        if country not in self.members:
            raise UnlistedPeerError(country)
        return _member(country, self.limits)

    # policy
    def grant(self, peer: str) -> PeerGrant:
        self.steps.append("policy")
        return self.grants.get(peer, PeerGrant(True, None, True, 5, 6))

    # audit trail
    def record_query(self, peer: str, stmt: QueryStatement, signature: bytes) -> int:
        if self.audit_fails:
            raise LogWriteError("disk full")
        self.steps.append("audit")
        return 7

    def receipt(self, index: int, stmt: QueryStatement, binding: object = None) -> bytes:
        self.steps.append("receipt")
        return f"receipt {index} {stmt.request_id}".encode()

    def record_refusal(
        self,
        peer: str,
        stmt: QueryStatement | None,
        error: FedlookupError,
        limit: int | None,
        *,
        raw: bytes = b"",
    ) -> None:
        claimed = " (unauthenticated)" if stmt is None else ""
        self.steps.append(f"refusal {type(error).__name__}{claimed}")

    # evaluator
    def item_count(self, request: bytes) -> int:
        self.steps.append("count")
        if not request.startswith(b"items:"):
            raise PSIProtocolError("not a request")
        return int(request[6:])

    def evaluate(self, request: bytes, *, reveal: bool = True) -> bytes:
        self.steps.append("evaluate")
        self.reveals.append(reveal)
        return b"response"

    public_key = b"\x02" + bytes(32)

    def prove(self, request: bytes, response: bytes, *, country: str) -> bytes:
        self.steps.append("prove")
        return b"proof"


class Index:
    epoch_id = "e1"
    version = 3
    size = 10

    def export(
        self, *, since_version: int | None, categories: frozenset[str] | None, labels: bool = True
    ) -> bytes:
        return f"{since_version}|{sorted(categories or ['*'])}|{labels}".encode()


class RecordingLedger(SqliteQuotaLedger):
    steps: list[str]

    def charge(self, peer: str, items: int, limit: int) -> int:
        self.steps.append("charge")
        return super().charge(peer, items, limit)


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = World()
    w.quotas = RecordingLedger(tmp_path / "q.sqlite")
    w.quotas.steps = w.steps
    w.grants["NL"] = PeerGrant(True, frozenset({"stolen"}), False, 5, 6)
    index = Index()
    w.responder = Responder(
        country="DE",
        index=lambda: index if w.index_ready else None,
        evaluator_factory=lambda epoch: w,
        policy=w,
        quotas=w.quotas,
        audit=w,
        directory=w,
    )
    return w


def _evaluate(
    w: World,
    stmt: QueryStatement | None = None,
    *,
    peer: str = "FR",
    request: bytes = b"items:2",
    signer: str | None = None,
    data: bytes | None = None,
) -> bytes:
    stmt = stmt or statement(from_country=peer)
    data = stmt.canonical() if data is None else data
    signature = sign(data, KEYS[signer or peer])
    result: bytes = w.responder.evaluate(peer, data, signature, request).receipt
    return result


def test_answer_takes_every_step_in_order(world: World) -> None:
    assert _evaluate(world) == b"receipt 7 req-1"
    assert world.steps == ANSWERED
    assert world.quotas.used("FR") == 2
    assert world.reveals == [True]


def _break(attr: str, value: Any) -> Any:
    return lambda w: setattr(w, attr, value)


# (what breaks, the call made, the error, the steps taken: everything after the failing
# check must not run; every refusal is audited, with the statement only once it was
# authenticated; nothing is charged).
U = " (unauthenticated)"
ORDER = [
    ("unlisted caller", _break("members", {"NL"}), {}, UnlistedPeerError,
     ["member", f"refusal UnlistedPeerError{U}"]),
    ("statement does not parse", None, {"data": b"{}"}, VerificationError,
     ["member", f"refusal VerificationError{U}"]),
    ("statement from another country", None, {"stmt": statement(from_country="NL")},
     CountryMismatchError, ["member", f"refusal CountryMismatchError{U}"]),
    ("statement to another node", None, {"stmt": statement(to_country="FR")},
     CountryMismatchError, ["member", f"refusal CountryMismatchError{U}"]),
    ("signed by another member", None, {"signer": "NL"},
     VerificationError, ["member", f"refusal VerificationError{U}"]),
    ("policy refuses the caller", _break("grants", {"FR": PeerGrant(False, None, True, 5, 6)}),
     {}, PolicyRefusedError, ["member", "policy", "refusal PolicyRefusedError"]),
    ("purpose not permitted",
     _break("grants", {"FR": PeerGrant(True, None, True, 5, 6, frozenset({"other"}))}),
     {}, PolicyRefusedError, ["member", "policy", "refusal PolicyRefusedError"]),
    ("index not ready", _break("index_ready", False), {}, RegistryUnavailableError,
     ["member", "policy"]),
    ("malformed request", None, {"request": b"junk"}, PSIProtocolError,
     ["member", "policy", "count", "refusal PSIProtocolError"]),
    ("a request of 0 items", None, {"stmt": statement(item_count=0), "request": b"items:0"},
     PSIProtocolError, ["member", "policy", "count", "refusal PSIProtocolError"]),
    ("item count differs from the statement", None, {"request": b"items:3"}, PSIProtocolError,
     ["member", "policy", "count", "refusal PSIProtocolError"]),
    ("over the per-request limit", None,
     {"stmt": statement(item_count=6), "request": b"items:6"}, RequestTooLargeError,
     ["member", "policy", "count", "refusal RequestTooLargeError"]),
    ("over the directory's per-request limit", _break("limits", DirectoryLimits(1, 100)), {},
     RequestTooLargeError, ["member", "policy", "count", "refusal RequestTooLargeError"]),
    ("audit log cannot write", _break("audit_fails", True), {}, LogWriteError,
     ["member", "policy", "count", "charge"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "call", "error", "steps"),
    [pytest.param(*row[1:], id=row[0]) for row in ORDER],
)
def test_checks_run_in_order_and_stop_at_the_first_failure(
    world: World,
    change: Any,
    call: dict[str, Any],
    error: type[Exception],
    steps: list[str],
) -> None:
    if change is not None:
        change(world)
    with pytest.raises(error):
        _evaluate(world, **call)
    assert world.steps == steps
    assert world.reveals == []
    charged = 2 if "charge" in steps else 0
    assert world.quotas.used("FR") == charged


def test_quota_exhaustion_is_exact_capped_by_the_directory_and_audited(world: World) -> None:
    world.limits = DirectoryLimits(100, 3)  # the node's policy allows 6 a day; the directory 3
    _evaluate(world)
    with pytest.raises(QuotaExceededError):
        _evaluate(world)
    assert world.steps[len(ANSWERED) :] == [
        "member", "policy", "count", "charge", "refusal QuotaExceededError",
    ]  # fmt: skip
    _evaluate(world, statement(item_count=1), request=b"items:1")
    assert world.quotas.used("FR") == 3


def test_one_membership_lookup_per_call(world: World) -> None:
    _evaluate(world)
    world.responder.node_info("FR")
    world.responder.sync_index("FR", None, None)
    assert world.steps.count("member") == 3


def test_cardinality_peer_gets_shuffled_answers_and_no_labels(world: World) -> None:
    _evaluate(world, peer="NL")
    assert world.reveals == [False]
    info = world.responder.node_info("NL")
    assert info.limits.mode == "cardinality"
    assert info.limits.categories == ("stolen",)
    assert world.responder.sync_index("NL", 2, "e1").blob == b"2|['stolen']|False"


def test_sync_from_another_epoch_is_full_and_names_its_version(world: World) -> None:
    export = world.responder.sync_index("FR", 2, "old-epoch")
    assert (export.blob, export.epoch_id, export.version) == (b"None|['*']|True", "e1", 3)
    assert world.responder.sync_index("FR", 2, "e1").blob == b"2|['*']|True"


def test_sync_retries_until_the_index_holds_still(world: World) -> None:
    class Moving(Index):
        exports = 0

        def export(self, **kw: Any) -> bytes:
            self.exports += 1
            if self.exports < 3:
                self.version += 1  # an update lands during the export
            return str(self.version).encode()

    moving = Moving()
    world.responder._index = lambda: moving
    export = world.responder.sync_index("FR", None, None)
    assert (export.blob, export.version, moving.exports) == (b"5", 5, 3)
