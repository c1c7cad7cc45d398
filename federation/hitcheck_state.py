"""The state of one hit check, peer by peer and chunk by chunk (for :mod:`federation.hitcheck`).

A :class:`_PeerRun` per peer, an :class:`_Asked` per chunk sent (its raw answer is read only
once every chunk has gone), an :class:`_Exchange` per answer read; and the small rules the
flow applies to them: cardinality padding, the index header check, a refusal's reason, and
how a peer's part of the check ends (:func:`_fail`, :func:`_report`).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field

from federation.evaluation import BlindedQuery
from federation.hitcheck_items import Bounds, Layout
from federation.hitcheck_types import (
    CountryAnswer,
    Outcome,
    PeerReport,
    QueryOutcome,
    SignedQuery,
)
from federation.index import IndexMirror
from federation.labels import Label
from federation.psi import HashedItems
from federation.transport import Evaluation, NodeInfo, PeerTransport
from fedlookup.errors import (
    FedlookupError,
    PeerRejectedError,
    PeerUnavailableError,
    PolicyError,
)

__all__ = [
    "CARDINALITY_MIN_ITEMS",
    "_Asked",
    "_Exchange",
    "_Found",
    "_PeerRun",
    "_check_header",
    "_fail",
    "_padded",
    "_reason",
    "_report",
]

_log = logging.getLogger("fedlookup.hitcheck")


@dataclass
class _PeerRun:
    peer: PeerTransport
    answers: dict[int, CountryAnswer] = field(default_factory=dict)
    report: PeerReport | None = None
    sync: str = ""
    #: The outcome of the items left unanswered when the exchange fails.
    failure: Outcome = Outcome.UNAVAILABLE
    started: float = field(default_factory=time.monotonic)
    mirror: IndexMirror | None = None
    max_items: int = 0  # items per request, as fixed before the first one
    speaks: frozenset[str] = frozenset()  # identifier versions the peer's index serves
    next: int = 0  # first item not yet asked
    error: BaseException | None = None
    request_ids: list[str] = field(default_factory=list)
    version: int | None = None
    epoch: str | None = None
    info: NodeInfo | None = None
    #: The peer refused or did not answer: no further chunk goes to it in this check.
    stopped: bool = False
    #: What the asker noticed in otherwise valid answers (malformed entries).
    notes: str = ""

    @property
    def country(self) -> str:
        return self.peer.country


@dataclass
class _Exchange:
    """One request's result, before it is logged."""

    outcome: QueryOutcome
    found: list[_Found] = field(default_factory=list)
    mirror: IndexMirror | None = None
    error: BaseException | None = None


@dataclass
class _Asked:
    """One chunk sent to one peer, with its raw answer (read after every chunk is sent)."""

    run: _PeerRun
    bounds: Bounds
    size: int
    signed: SignedQuery
    flat: list[bytes]
    hashed: HashedItems | None
    query: BlindedQuery | None = None
    evaluation: Evaluation | None = None
    error: BaseException | None = None
    exchange: _Exchange | None = None
    #: Where each firearm's items sit in ``flat`` (padding, if any, follows them all).
    layout: Layout = field(default_factory=list)


_Found = tuple[Outcome, tuple[Label, ...]]


#: Cardinality-only requests are padded with random items up to this many: nodes refuse
#: smaller ones (``PeerGrant.min_items_per_request``, 20 by default).
CARDINALITY_MIN_ITEMS = 20


def _padded(run: _PeerRun, flat: list[bytes]) -> list[bytes]:
    """``flat``, padded with random items (which match nothing) for a cardinality peer."""
    target = min(CARDINALITY_MIN_ITEMS, run.max_items)
    if run.mirror is None or run.mirror.has_labels or len(flat) >= target:
        return flat
    return flat + [secrets.token_bytes(24) for _ in range(target - len(flat))]


def _check_header(country: str, mirror: IndexMirror, info: NodeInfo) -> None:
    """The mirror's header must name the peer (as the directory knows it) and its epoch.

    Raises:
        PeerUnavailableError: it names another country or epoch.
    """
    if mirror.country != country or mirror.epoch_id != info.epoch_id:
        raise PeerUnavailableError(
            country,
            f"its index names country {mirror.country!r} and epoch {mirror.epoch_id!r}, "
            f"expected {country!r} and {info.epoch_id!r}",
        )


def _reason(exc: FedlookupError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else str(exc)


def _fail(run: _PeerRun, exc: BaseException) -> None:
    """Close the peer's part of the check with the reason ``exc`` gives."""
    if isinstance(exc, (PeerRejectedError, PolicyError)):
        status, reason, run.failure = "refused", _reason(exc), Outcome.REFUSED
    elif isinstance(exc, PeerUnavailableError):
        status, reason = "unavailable", _reason(exc)
    elif isinstance(exc, FedlookupError):
        status, reason = "unavailable", f"{type(exc).__name__}: {exc}"
    else:  # a bug must not pass for a silent peer
        _log.error("hit check against %s failed", run.country, exc_info=exc)
        status, reason = "unavailable", f"internal error: {type(exc).__name__}: {exc}"
    run.report = _report(run, status, reason)


def _report(run: _PeerRun, status: str = "answered", reason: str = "") -> PeerReport:
    if run.report is not None:
        return run.report
    if status != "answered" and run.answers:
        status = "partial"
    if status == "answered" and run.mirror is None:
        status, reason = "unavailable", "no answer before deadline"
    if status == "answered" and not reason:
        reason = run.notes
    return PeerReport(
        country=run.country,
        status=status,
        reason=reason,
        index_version=run.version,
        epoch_id=run.epoch,
        sync=run.sync,
        latency_ms=(time.monotonic() - run.started) * 1000,
        request_ids=tuple(run.request_ids),
    )
