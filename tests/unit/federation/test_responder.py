"""Responder.evaluate: the order of checks, what is charged, what is audited.

The quota ledger is the real SQLite one; directory, audit trail, index and evaluator are
small recording stand-ins, so each test can see exactly which step ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from federation.responder import PeerGrant, Responder, StatementLike
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
from node.quotas import SqliteQuotaLedger


@dataclass(frozen=True)
class Stmt:
    request_id: str = "req-1"
    from_country: str = "FR"
    to_country: str = "DE"
    purpose: str = "investigation"
    item_count: int = 2


@dataclass
class Directory:
    members: set[str] = field(default_factory=lambda: {"FR", "NL"})
    statement: Stmt = field(default_factory=Stmt)
    good_signature: bool = True

    def require_member(self, peer: str) -> None:
        if peer not in self.members:
            raise UnlistedPeerError(peer)

    def parse_statement(self, data: bytes) -> StatementLike:
        if data != b"statement":
            raise VerificationError("malformed")
        return self.statement

    def verify_statement(self, peer: str, data: bytes, signature: bytes) -> None:
        if not self.good_signature:
            raise VerificationError("bad signature")


@dataclass
class Audit:
    events: list[str] = field(default_factory=list)
    fail: bool = False

    def record_query(self, peer: str, statement: StatementLike, signature: bytes) -> int:
        if self.fail:
            raise LogWriteError("disk full")
        self.events.append(f"query {statement.request_id}")
        return len(self.events) - 1

    def receipt(self, index: int, statement: StatementLike) -> bytes:
        return f"receipt {index}".encode()

    def record_refusal(
        self, peer: str, statement: StatementLike, error: FedlookupError, limit: int | None
    ) -> None:
        self.events.append(f"refusal {type(error).__name__}")


@dataclass
class Index:
    epoch_id: str = "e1"
    version: int = 3
    size: int = 10

    def export(
        self, *, since_version: int | None, categories: frozenset[str] | None, labels: bool = True
    ) -> bytes:
        return f"{since_version}|{sorted(categories or ['*'])}|{labels}".encode()


class Evaluator:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def item_count(self, request: bytes) -> int:
        if not request.startswith(b"items:"):
            raise PSIProtocolError("not a request")
        return int(request[6:])

    def evaluate(self, request: bytes, *, reveal: bool = True) -> bytes:
        self.calls.append(reveal)
        return b"response"


class Policy:
    def __init__(self, **grants: PeerGrant) -> None:
        self.grants = grants

    def grant(self, peer: str) -> PeerGrant:
        return self.grants.get(peer, PeerGrant(True, None, True, 5, 6))


@dataclass
class World:
    responder: Responder
    directory: Directory
    audit: Audit
    quotas: SqliteQuotaLedger
    evaluator: Evaluator
    index: Index | None


@pytest.fixture
def world(tmp_path: Path) -> World:
    directory, audit, evaluator = Directory(), Audit(), Evaluator()
    quotas = SqliteQuotaLedger(tmp_path / "q.sqlite")
    index = Index()
    w = World(None, directory, audit, quotas, evaluator, index)  # type: ignore[arg-type]
    w.responder = Responder(
        country="DE",
        index=lambda: w.index,
        evaluator_factory=lambda epoch: evaluator,
        policy=Policy(NL=PeerGrant(True, frozenset({"stolen"}), False, 5, 6)),
        quotas=quotas,
        audit=audit,
        directory=directory,
    )
    return w


def _evaluate(w: World, peer: str = "FR", request: bytes = b"items:2") -> bytes:
    return w.responder.evaluate(peer, b"statement", b"sig", request).receipt


def test_answer_is_audited_before_it_is_returned(world: World) -> None:
    assert _evaluate(world) == b"receipt 0"
    assert world.audit.events == ["query req-1"]
    assert world.quotas.used("FR") == 2
    assert world.evaluator.calls == [True]


@pytest.mark.parametrize(
    ("change", "error", "audited"),
    [
        (lambda w: w.directory.members.discard("FR"), UnlistedPeerError, None),
        (lambda w: setattr(w.directory, "statement", Stmt(from_country="NL")),
         CountryMismatchError, "refusal CountryMismatchError"),
        (lambda w: setattr(w.directory, "statement", Stmt(to_country="FR")),
         CountryMismatchError, "refusal CountryMismatchError"),
        (lambda w: setattr(w.directory, "good_signature", False),
         VerificationError, "refusal VerificationError"),
        (lambda w: setattr(w.directory, "statement", Stmt(item_count=3)),
         PSIProtocolError, "refusal PSIProtocolError"),
        (lambda w: setattr(w.directory, "statement", Stmt(item_count=6)),
         PSIProtocolError, "refusal PSIProtocolError"),
        (lambda w: setattr(w, "index", None), RegistryUnavailableError, None),
    ],
)  # fmt: skip
def test_refusals_charge_nothing_and_are_audited(
    world: World, change: object, error: type[Exception], audited: str | None
) -> None:
    change(world)  # type: ignore[operator]
    with pytest.raises(error):
        _evaluate(world)
    assert world.quotas.used("FR") == 0
    assert world.evaluator.calls == []
    assert world.audit.events == ([audited] if audited else [])


def test_too_many_items_for_one_request(world: World) -> None:
    world.directory.statement = Stmt(item_count=6)
    with pytest.raises(RequestTooLargeError):
        _evaluate(world, request=b"items:6")
    assert world.quotas.used("FR") == 0


def test_quota_exhaustion_is_exact_and_audited(world: World) -> None:
    world.directory.statement = Stmt(item_count=5)
    _evaluate(world, request=b"items:5")
    world.directory.statement = Stmt(item_count=2)
    with pytest.raises(QuotaExceededError):
        _evaluate(world)
    assert world.audit.events[-1] == "refusal QuotaExceededError"
    world.directory.statement = Stmt(item_count=1)
    _evaluate(world, request=b"items:1")
    assert world.quotas.used("FR") == 6


def test_audit_failure_means_no_answer(world: World) -> None:
    world.audit.fail = True
    with pytest.raises(LogWriteError):
        _evaluate(world)
    assert world.evaluator.calls == []


def test_disallowed_peer_and_purpose(world: World) -> None:
    world.responder._policy = Policy(  # type: ignore[attr-defined]
        FR=PeerGrant(False, None, True, 5, 6), NL=PeerGrant(True, None, True, 5, 6, frozenset())
    )
    with pytest.raises(PolicyRefusedError):
        _evaluate(world)
    world.directory.statement = Stmt(from_country="NL")
    with pytest.raises(PolicyRefusedError, match="purpose"):
        _evaluate(world, peer="NL")


def test_cardinality_peer_gets_shuffled_answers_and_no_labels(world: World) -> None:
    world.directory.statement = Stmt(from_country="NL")
    _evaluate(world, peer="NL")
    assert world.evaluator.calls == [False]
    info = world.responder.node_info("NL")
    assert info.limits.mode == "cardinality"
    assert info.limits.categories == ("stolen",)
    assert world.responder.sync_index("NL", 2, "e1") == b"2|['stolen']|False"


def test_sync_from_another_epoch_is_full(world: World) -> None:
    assert world.responder.sync_index("FR", 2, "old-epoch") == b"None|['*']|True"
    assert world.responder.sync_index("FR", 2, "e1") == b"2|['*']|True"
