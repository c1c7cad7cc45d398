"""The answering side of the federation, independent of any transport.

A node's gRPC servicer and the in-process transport both call :class:`Responder` with the
caller's country as established by the transport (the mTLS certificate for gRPC), never as
claimed in a request. The responder checks, in this order, and refuses at the first
failure (every refusal is audited too):

1. the caller is a member of the federation directory;
2. the statement parses, names the caller as ``from_country`` and this node as
   ``to_country``, and its signature verifies under the caller's audit key;
3. the policy lets the caller query, for this purpose;
4. the request holds exactly ``item_count`` items, within the per-request limit;
5. the items are charged to the caller's daily quota (atomic, durable, whole or nothing);
6. the query is appended to the audit log (durable; if it cannot be, nothing is answered);
7. the evaluator answers (reveal, or a shuffled cardinality-only answer), and the receipt
   of the audit entry is returned with the response.

Collaborators are Protocols so the node wires the real ones (:mod:`node.service`) and a
test can run several countries in one process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from federation.transport import Evaluation, Limits, NodeInfo
from fedlookup.errors import (
    CountryMismatchError,
    CryptoError,
    FedlookupError,
    IdentityError,
    PolicyError,
    PolicyRefusedError,
    PSIProtocolError,
    RegistryUnavailableError,
    RequestTooLargeError,
    VerificationError,
)

__all__ = [
    "AccessPolicy",
    "AuditTrail",
    "DirectoryView",
    "EvaluatorLike",
    "IndexView",
    "PeerGrant",
    "QuotaLedger",
    "Responder",
    "StatementLike",
]

_log = logging.getLogger("fedlookup.responder")


@dataclass(frozen=True)
class PeerGrant:
    """What one peer may do, as the policy decides.

    Attributes:
        allowed: whether the peer may query at all.
        categories: categories it may see, ``None`` for all.
        reveal: ``False`` for a cardinality-only peer (no labels, shuffled answers).
        max_items_per_request: largest item count per call.
        items_per_day: daily item quota.
        purposes: accepted purposes, ``None`` for any.
    """

    allowed: bool
    categories: frozenset[str] | None
    reveal: bool
    max_items_per_request: int
    items_per_day: int
    purposes: frozenset[str] | None = None


class AccessPolicy(Protocol):
    """Decides what a peer may do."""

    def grant(self, peer: str) -> PeerGrant:
        """The peer's grant (a refusal is ``allowed=False``, not an exception)."""
        ...


class QuotaLedger(Protocol):
    """Durable per-peer item counts per UTC day."""

    def charge(self, peer: str, items: int, limit: int) -> int:
        """Charge ``items`` atomically and durably; return the items left today.

        Raises:
            QuotaExceededError: the charge would pass ``limit``; nothing was charged.
        """
        ...

    def remaining(self, peer: str, limit: int) -> int:
        """Items ``peer`` may still evaluate today."""
        ...


class StatementLike(Protocol):
    """The fields of a query statement the responder checks."""

    @property
    def request_id(self) -> str: ...
    @property
    def from_country(self) -> str: ...
    @property
    def to_country(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def item_count(self) -> int: ...


class DirectoryView(Protocol):
    """The current federation directory as the responder needs it."""

    def require_member(self, peer: str) -> None:
        """Raise :class:`~fedlookup.errors.UnlistedPeerError` unless ``peer`` is a member."""
        ...

    def parse_statement(self, data: bytes) -> StatementLike:
        """Parse canonical statement bytes.

        Raises:
            VerificationError: not a canonical, complete statement.
        """
        ...

    def verify_statement(self, peer: str, data: bytes, signature: bytes) -> None:
        """Verify ``signature`` over ``data`` with ``peer``'s audit key from the directory.

        Raises:
            UnlistedPeerError: ``peer`` is not a member.
            VerificationError: the signature does not verify.
        """
        ...


class AuditTrail(Protocol):
    """The node's audit log, in the responder's terms."""

    def record_query(self, peer: str, statement: StatementLike, signature: bytes) -> int:
        """Append a query entry durably (before answering); return its log index.

        Raises:
            LogWriteError: the entry could not be made durable.
        """
        ...

    def receipt(self, index: int, statement: StatementLike) -> bytes:
        """The signed receipt of entry ``index``."""
        ...

    def record_refusal(
        self, peer: str, statement: StatementLike, error: FedlookupError, limit: int | None
    ) -> None:
        """Append a refusal (or quota exhaustion) entry for a parsed statement.

        Args:
            peer: the caller's country.
            statement: the refused statement.
            error: why (its class name is the reason code; its text stays local).
            limit: the peer's daily quota, when known.
        """
        ...


class IndexView(Protocol):
    """The node's encrypted index (``federation.index.NodeIndex``)."""

    @property
    def epoch_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def size(self) -> int: ...

    def export(
        self,
        *,
        since_version: int | None,
        categories: frozenset[str] | None,
        labels: bool = True,
    ) -> bytes:
        """The full index or a delta, filtered."""
        ...


class EvaluatorLike(Protocol):
    """One thread's PSI evaluator (``federation.evaluation.Evaluator``)."""

    def item_count(self, request: bytes) -> int:
        """Number of items in a serialized request (PSIProtocolError if malformed)."""
        ...

    def evaluate(self, request: bytes, *, reveal: bool = True) -> bytes:
        """Evaluate a serialized request under the epoch key."""
        ...


class Responder:
    """Answers NodeInfo, SyncIndex and Evaluate for one node.

    Args:
        country: this node's country code.
        index: returns the loaded index, or ``None`` while it is not ready.
        evaluator_factory: builds an evaluator for an epoch id; called once per thread and
            epoch (openmined-psi objects must not be shared between threads).
        policy: per-peer grants.
        quotas: the durable quota ledger.
        audit: the audit trail.
        directory: the federation directory.
        on_evaluated: called with (peer, items) after each answered evaluation (metrics).
    """

    def __init__(
        self,
        *,
        country: str,
        index: Callable[[], IndexView | None],
        evaluator_factory: Callable[[str], EvaluatorLike],
        policy: AccessPolicy,
        quotas: QuotaLedger,
        audit: AuditTrail,
        directory: DirectoryView,
        on_evaluated: Callable[[str, int], None] | None = None,
        identifier_version: str = "v1",
    ) -> None:
        self.country = country
        #: Identifier versions the index serves, as advertised ("v2", "v1+v2").
        self.identifier_version = identifier_version
        self._index = index
        self._factory = evaluator_factory
        self._policy = policy
        self._quotas = quotas
        self._audit = audit
        self._directory = directory
        self._local = threading.local()
        self._on_evaluated = on_evaluated

    def _ready_index(self) -> IndexView:
        index = self._index()
        if index is None:
            raise RegistryUnavailableError("the index is not ready yet")
        return index

    def _grant(self, peer: str) -> PeerGrant:
        self._directory.require_member(peer)
        grant = self._policy.grant(peer)
        if not grant.allowed:
            raise PolicyRefusedError(f"policy does not allow {peer} to query")
        return grant

    def _evaluator(self, epoch_id: str) -> EvaluatorLike:
        cached: tuple[str, EvaluatorLike] | None = getattr(self._local, "evaluator", None)
        if cached is None or cached[0] != epoch_id:
            cached = (epoch_id, self._factory(epoch_id))
            self._local.evaluator = cached
        return cached[1]

    def node_info(self, peer: str) -> NodeInfo:
        """What this node is and what ``peer`` may ask.

        Raises:
            UnlistedPeerError, PolicyRefusedError: the peer may not query.
            RegistryUnavailableError: the index is not ready.
        """
        grant = self._grant(peer)
        index = self._ready_index()
        limits = Limits(
            max_items_per_request=grant.max_items_per_request,
            items_per_day=grant.items_per_day,
            items_remaining_today=self._quotas.remaining(peer, grant.items_per_day),
            mode="reveal" if grant.reveal else "cardinality",
            categories=tuple(sorted(grant.categories)) if grant.categories is not None else ("*",),
        )
        return NodeInfo(
            country=self.country,
            epoch_id=index.epoch_id,
            index_version=index.version,
            index_size=index.size,
            limits=limits,
            identifier_version=self.identifier_version,
        )

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> bytes:
        """The index as ``peer`` may see it: a delta when ``since_version`` is under the
        current epoch, else the full index; cardinality-only peers get tags without labels.

        Raises:
            UnlistedPeerError, PolicyRefusedError: the peer may not query.
            RegistryUnavailableError: the index is not ready.
        """
        grant = self._grant(peer)
        index = self._ready_index()
        if epoch_id != index.epoch_id:
            since_version = None
        return index.export(
            since_version=since_version, categories=grant.categories, labels=grant.reveal
        )

    def evaluate(self, peer: str, statement: bytes, signature: bytes, request: bytes) -> Evaluation:
        """Answer one blinded request under a signed statement (see the module docstring).

        Args:
            peer: the caller's country, from its certificate.
            statement: canonical statement bytes.
            signature: the caller's Ed25519 signature over ``statement``.
            request: serialized openmined-psi Request.

        Returns:
            The PSI response and the signed receipt of this node's audit entry.

        Raises:
            IdentityError: unlisted peer, country mismatch.
            VerificationError: bad statement or signature.
            PolicyError: refused, too many items, over quota.
            PSIProtocolError: malformed request or wrong item count.
            LogWriteError: the audit entry could not be made durable.
        """
        stmt: StatementLike | None = None
        limit: int | None = None
        try:
            self._directory.require_member(peer)
            stmt = self._directory.parse_statement(statement)
            if stmt.from_country != peer:
                raise CountryMismatchError(
                    f"statement from {stmt.from_country!r} but certificate is {peer!r}"
                )
            if stmt.to_country != self.country:
                raise CountryMismatchError(
                    f"statement addressed to {stmt.to_country!r}, this node is {self.country!r}"
                )
            self._directory.verify_statement(peer, statement, signature)
            grant = self._grant(peer)
            limit = grant.items_per_day
            if grant.purposes is not None and stmt.purpose not in grant.purposes:
                raise PolicyRefusedError(f"purpose {stmt.purpose!r} not permitted for {peer}")
            index = self._ready_index()
            evaluator = self._evaluator(index.epoch_id)
            counted = evaluator.item_count(request)
            if counted != stmt.item_count:
                raise PSIProtocolError(
                    f"request holds {counted} items, statement says {stmt.item_count}"
                )
            if counted > grant.max_items_per_request:
                raise RequestTooLargeError(
                    f"{counted} items exceed the limit of {grant.max_items_per_request} per request"
                )
            self._quotas.charge(peer, counted, grant.items_per_day)
        except (IdentityError, PolicyError, VerificationError, CryptoError) as exc:
            self._refused(peer, stmt, exc, limit)
            raise
        index_no = self._audit.record_query(peer, stmt, signature)
        response = evaluator.evaluate(request, reveal=grant.reveal)
        receipt = self._audit.receipt(index_no, stmt)
        if self._on_evaluated is not None:
            self._on_evaluated(peer, counted)
        return Evaluation(
            response=response,
            receipt=receipt,
            epoch_id=index.epoch_id,
            index_version=index.version,
        )

    def _refused(
        self, peer: str, stmt: StatementLike | None, exc: FedlookupError, limit: int | None
    ) -> None:
        _log.warning(
            "refused evaluation",
            extra={
                "event": "refused",
                "peer": peer,
                "request_id": stmt.request_id if stmt is not None else None,
                "reason": type(exc).__name__,
                "detail": str(exc),
            },
        )
        if stmt is None:
            return  # nothing parsed to tie an audit entry to; the local log has it
        try:
            self._audit.record_refusal(peer, stmt, exc, limit)
        except FedlookupError as audit_exc:
            # The refusal stands either way; the operator must learn the log is failing.
            _log.error("could not audit a refusal: %s", audit_exc)
