"""The answering side of the federation, independent of any transport.

A node's gRPC servicer and the in-process transport both call :class:`Responder` with the
caller's country as established by the transport (the mTLS certificate for gRPC), never as
claimed in a request. The responder checks, in this order, and refuses at the first
failure (every refusal is audited too, under the caller's certificate country: with the
statement's fields only once step 2 authenticated it, else as the hash of its bytes, and at
most so many per peer per interval, the rest counted; see :class:`federation.trail.ResponderTrail`):

1. the caller is a member of the federation directory (looked up once per call: the same
   entry gives its audit key and its limits);
2. the statement parses (a real :class:`~audit.statements.QueryStatement`), names the
   caller as ``from_country`` and this node as ``to_country``, and its signature verifies
   under the caller's audit key;
3. the policy (capped by the directory's limits) lets the caller query, for this purpose;
4. the request holds exactly ``item_count`` items, at least one, within the per-request
   limit;
5. the items are charged to the caller's daily quota (atomic, durable, whole or nothing);
6. the query is appended to the audit log (durable; if it cannot be, nothing is answered);
7. the evaluator answers (reveal, or a shuffled cardinality-only answer), and the receipt
   of the audit entry is returned with the response.

The audit trail is :class:`federation.trail.ResponderTrail`; policy, quotas, index and
evaluator are Protocols so the node wires the real ones (:mod:`node.serve.service`) and a test
can run several countries in one process. ``tests/unit/federation/test_responder_order.py``
pins this order.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from audit.statements import QueryStatement, answer_binding, verify
from federation.directory_model import Member
from federation.dleq import epoch_key_message
from federation.export_states import ExportStates, StateKey
from federation.index_format import is_delta
from federation.index_head import IndexHead
from federation.trail import Members
from federation.transport import Evaluation, Limits, NodeInfo
from fedlookup.errors import (
    CountryMismatchError,
    CryptoError,
    FedlookupError,
    IdentityError,
    IndexVersionError,
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
    "EvaluatorLike",
    "IndexExport",
    "IndexView",
    "PeerGrant",
    "QuotaLedger",
    "Responder",
]

_log = logging.getLogger("fedlookup.responder")
_EXPORT_TRIES = 3


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
        min_items_per_request: the fewest items a cardinality-only request may carry (a
            reveal request has no minimum). It stops a request of one item, whose count
            would name the hit; it does not stop a deviating asker (docs/protocol.md).
    """

    allowed: bool
    categories: frozenset[str] | None
    reveal: bool
    max_items_per_request: int
    items_per_day: int
    purposes: frozenset[str] | None = None
    min_items_per_request: int = 0


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


class AuditTrail(Protocol):
    """The node's audit log, in the responder's terms (:class:`federation.trail.ResponderTrail`)."""

    def record_query(self, peer: str, statement: QueryStatement, signature: bytes) -> int:
        """Append a query entry durably (before answering); return its log index.

        Raises:
            LogWriteError: the entry could not be made durable.
        """
        ...

    def receipt(
        self, index: int, statement: QueryStatement, binding: dict[str, Any] | None = None
    ) -> bytes:
        """The signed receipt of entry ``index``, binding the answer when given."""
        ...

    def record_refusal(
        self,
        peer: str,
        statement: QueryStatement | None,
        error: FedlookupError,
        limit: int | None,
        *,
        raw: bytes = b"",
    ) -> None:
        """Append a refusal under ``peer`` (the certificate's country): with the statement's
        fields only when it was authenticated, else with the hash of ``raw``."""
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

    @property
    def public_key(self) -> bytes:
        """The epoch's public key ``k*G`` (compressed)."""
        ...

    def prove(self, request: bytes, response: bytes, *, country: str) -> bytes:
        """A batched DLEQ proof that ``response`` is ``request`` under the epoch key."""
        ...


@dataclass(frozen=True)
class IndexExport:
    """The index as one peer may see it, with the version it is.

    Attributes:
        blob: the full index or a delta (``federation.index_format``).
        epoch_id: the epoch the blob is under.
        version: the index version the blob brings a mirror to.
        head: the canonical signed :class:`~federation.index_head.IndexHead` of the blob
            (empty when the responder has no head signer).
        signature: the node's signature over ``head``.
    """

    blob: bytes
    epoch_id: str
    version: int
    head: bytes = b""
    signature: bytes = b""


class Responder:
    """Answers NodeInfo, SyncIndex and Evaluate for one node.

    Args:
        country: this node's country code.
        index: returns the loaded index, or ``None`` while it is not ready.
        evaluator_factory: builds an evaluator for an epoch id; called once per thread and
            epoch (openmined-psi objects must not be shared between threads).
        policy: the node's own per-peer grants (capped here by the directory's limits).
        quotas: the durable quota ledger.
        audit: the audit trail.
        directory: the federation directory in force (membership, audit keys, limits).
        on_evaluated: called with (peer, items) after each answered evaluation (metrics).
        signer: signs with the node's directory-pinned audit key; vouches for each
            epoch's public key in ``NodeInfo`` (``federation.dleq.epoch_key_message``).
            Without one, ``NodeInfo`` carries no signature and askers refuse its answers.
        head_signer: signs the :class:`~federation.index_head.IndexHead` of every index
            export with the same key (:func:`federation.index_head.sign_head`); without
            one, exports carry no head and askers refuse them.
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
        directory: Members,
        on_evaluated: Callable[[str, int], None] | None = None,
        identifier_version: str = "v1",
        signer: Callable[[bytes], bytes] | None = None,
        head_signer: Callable[[IndexHead], bytes] | None = None,
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
        self._signer = signer
        self._signed_keys: dict[str, tuple[bytes, bytes]] = {}
        self._head_signer = head_signer
        self._states = ExportStates()  # full exports' digests, current version only

    def _ready_index(self) -> IndexView:
        index = self._index()
        if index is None:
            raise RegistryUnavailableError("the index is not ready yet")
        return index

    def grant(self, peer: str, member: Member | None = None) -> PeerGrant:
        """The node's grant for ``peer``, never more than the directory's limits for it.

        Args:
            peer: the caller's country.
            member: its directory entry, when the caller has already looked it up.

        Raises:
            UnlistedPeerError: ``peer`` is not a member.
            PolicyRefusedError: the policy does not let ``peer`` query.
        """
        if member is None:
            member = self._directory.member(peer)
        grant = self._policy.grant(peer)
        if not grant.allowed:
            raise PolicyRefusedError(f"policy does not allow {peer} to query")
        return replace(
            grant,
            max_items_per_request=min(
                grant.max_items_per_request, member.limits.max_items_per_request
            ),
            items_per_day=min(grant.items_per_day, member.limits.items_per_day),
        )

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
        grant = self.grant(peer)
        index = self._ready_index()
        limits = Limits(
            max_items_per_request=grant.max_items_per_request,
            items_per_day=grant.items_per_day,
            items_remaining_today=self._quotas.remaining(peer, grant.items_per_day),
            mode="reveal" if grant.reveal else "cardinality",
            categories=tuple(sorted(grant.categories)) if grant.categories is not None else ("*",),
        )
        public, signature = self._epoch_key(index.epoch_id)
        return NodeInfo(
            country=self.country,
            epoch_id=index.epoch_id,
            index_version=index.version,
            index_size=index.size,
            limits=limits,
            identifier_version=self.identifier_version,
            epoch_public_key=public,
            epoch_key_signature=signature,
        )

    def _epoch_key(self, epoch_id: str) -> tuple[bytes, bytes]:
        """The epoch's public key and this node's signature over it (cached per epoch)."""
        signed = self._signed_keys.get(epoch_id)
        if signed is None:
            public = self._evaluator(epoch_id).public_key
            message = epoch_key_message(self.country, epoch_id, public)
            signature = self._signer(message) if self._signer is not None else b""
            signed = (public, signature)
            self._signed_keys = {epoch_id: signed}  # only the serving epoch is kept
        return signed

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> IndexExport:
        """The index as ``peer`` may see it: a delta when ``since_version`` is under the
        current epoch, else the full index; cardinality-only peers get tags without labels.
        With a head signer, the export carries its signed head (v2), whose
        ``state_sha256`` is the digest of the full export of the same version for the
        same grant (computed once per version and grant shape, then cached).

        The version returned is the blob's: it is read on both sides of the export, and the
        export is retried when an index update landed in between.

        Raises:
            UnlistedPeerError, PolicyRefusedError: the peer may not query.
            RegistryUnavailableError: the index is not ready.
            IndexVersionError: the index kept changing during three exports.
        """
        grant = self.grant(peer)
        for _ in range(_EXPORT_TRIES):
            index = self._ready_index()
            before = (index.epoch_id, index.version)
            since = since_version if epoch_id == index.epoch_id else None
            export_from = functools.partial(
                index.export, categories=grant.categories, labels=grant.reveal
            )
            blob = export_from(since_version=since)
            key: StateKey = (*before, grant.categories, grant.reveal)
            state: str | None = None  # a full blob's state digest is its own (of_blob)
            if self._head_signer is not None and is_delta(blob):
                state = self._states.digest(key, functools.partial(export_from, since_version=None))
            after = self._ready_index()
            if (after.epoch_id, after.version) == before:
                export = IndexExport(blob=blob, epoch_id=before[0], version=before[1])
                if self._head_signer is None:
                    return export
                if state is not None:
                    self._states.remember(key, state)
                head = IndexHead.of_blob(blob, state_sha256=state)
                return replace(export, head=head.canonical(), signature=self._head_signer(head))
        raise IndexVersionError("the index kept changing during the export")

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
        stmt: QueryStatement | None = None
        authentic = False  # the statement is from the caller, to this node, signed by it
        limit: int | None = None
        try:
            member = self._directory.member(peer)  # the one membership check of this call
            stmt = QueryStatement.parse(statement)
            if stmt.from_country != peer:
                raise CountryMismatchError(
                    f"statement from {stmt.from_country!r} but certificate is {peer!r}"
                )
            if stmt.to_country != self.country:
                raise CountryMismatchError(
                    f"statement addressed to {stmt.to_country!r}, this node is {self.country!r}"
                )
            verify(statement, signature, member.audit_key())
            authentic = True
            grant = self.grant(peer, member)
            limit = grant.items_per_day
            if grant.purposes is not None and stmt.purpose not in grant.purposes:
                raise PolicyRefusedError(f"purpose {stmt.purpose!r} not permitted for {peer}")
            index = self._ready_index()
            evaluator = self._evaluator(index.epoch_id)
            counted = evaluator.item_count(request)
            if counted < 1:
                raise PSIProtocolError("a request of 0 items")
            if counted != stmt.item_count:
                raise PSIProtocolError(
                    f"request holds {counted} items, statement says {stmt.item_count}"
                )
            if counted > grant.max_items_per_request:
                raise RequestTooLargeError(
                    f"{counted} items exceed the limit of {grant.max_items_per_request} per request"
                )
            # Never above the per-request limit, or no request could pass both.
            minimum = min(grant.min_items_per_request, grant.max_items_per_request)
            if not grant.reveal and counted < minimum:
                raise PolicyRefusedError(
                    f"a cardinality-only request carries at least {minimum} items, "
                    f"this one {counted}"
                )
            self._quotas.charge(peer, counted, grant.items_per_day)
        except (IdentityError, PolicyError, VerificationError, CryptoError) as exc:
            self._refused(peer, stmt if authentic else None, exc, limit, statement)
            raise
        index_no = self._audit.record_query(peer, stmt, signature)
        response = evaluator.evaluate(request, reveal=grant.reveal)
        # A shuffled cardinality-only answer has no order to prove; a reveal answer always
        # carries its proof, so the asker can check it before reading a single element.
        proof = evaluator.prove(request, response, country=self.country) if grant.reveal else b""
        # The receipt binds what was answered: the asker checks it against what it sent and
        # received, so neither side can later claim another request, answer or index.
        binding = answer_binding(request, response, index.epoch_id, index.version)
        receipt = self._audit.receipt(index_no, stmt, binding)
        if self._on_evaluated is not None:
            self._on_evaluated(peer, counted)
        return Evaluation(
            response=response,
            receipt=receipt,
            epoch_id=index.epoch_id,
            index_version=index.version,
            proof=proof,
        )

    def _refused(
        self,
        peer: str,
        stmt: QueryStatement | None,
        exc: FedlookupError,
        limit: int | None,
        raw: bytes,
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
        try:
            # Logged under the certificate's country; claims only as a hash (stmt is None).
            self._audit.record_refusal(peer, stmt, exc, limit, raw=raw)
        except FedlookupError as audit_exc:
            # The refusal stands either way; the operator must learn the log is failing.
            _log.error("could not audit a refusal: %s", audit_exc)
