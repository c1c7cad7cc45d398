"""Both ends' audit trails, in the protocol's own terms.

* :class:`ResponderTrail`: what the answering node writes to its (incoming-query) log for
  :class:`~federation.responder.Responder`: ``query_received`` before answering, a
  ``refusal`` or ``quota_exhausted`` entry for a refused authenticated statement, a
  ``refused_request`` (certificate country, reason, statement hash) for anything else,
  bounded per peer per interval (:mod:`federation.refusal_bound`), and the signed receipt
  of an entry;
* :class:`AskerTrail`: what the asking node does for :class:`~federation.hitcheck.HitCheck`
  (the :class:`~federation.hitcheck_types.QueryAuditor` hooks): commit to the items, sign
  the statements, log them as sent before any request leaves, verify the peers' receipts,
  and log the outcomes.

Both take a real :class:`~audit.statements.QueryStatement`; neither needs a node.

Example::

    trail = ResponderTrail(log, used=ledger.used)
    index = trail.record_query("FR", statement, signature)
    receipt = trail.receipt(index, statement)
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.commitment import OpeningStore, blinding_key
from audit.entries import LogEntry
from audit.keys import log_vkey
from audit.log import AuditLog
from audit.receipts import verify_receipt
from audit.statements import QueryStatement, now, sign, verify
from federation.directory_model import Member
from federation.dleq import epoch_key_message
from federation.hitcheck_types import CheckContext, QueryOutcome, SignedQuery
from federation.refusal_bound import RefusalBound
from fedlookup.errors import FedlookupError, QuotaExceededError, VerificationError

__all__ = ["AskerTrail", "Members", "ResponderTrail"]


class Members(Protocol):
    """The federation directory, as far as a trail or a responder needs it: membership."""

    def member(self, country: str) -> Member:
        """The member for ``country``.

        Raises:
            UnlistedPeerError: ``country`` is not a member.
        """
        ...


class ResponderTrail:
    """The answering node's audit log, as the responder writes to it.

    Args:
        log: the node's (incoming-query) audit log.
        used: items a peer has used today (read when a quota exhaustion is logged).
    """

    def __init__(
        self,
        log: AuditLog,
        *,
        used: Callable[[str], int],
        bound: RefusalBound | None = None,
    ) -> None:
        self._log = log
        self._used = used
        self._bound = bound or RefusalBound()

    def record_query(self, peer: str, statement: QueryStatement, signature: bytes) -> int:
        """Append ``query_received`` durably; return its log index.

        Raises:
            LogWriteError: the entry could not be made durable.
        """
        return self._log.append(LogEntry.query_received(statement, signature))

    def receipt(
        self, index: int, statement: QueryStatement, binding: dict[str, Any] | None = None
    ) -> bytes:
        """The signed receipt of entry ``index``, binding the answer when given."""
        return self._log.receipt(index, statement.request_id, binding=binding)

    def record_refusal(
        self,
        peer: str,
        statement: QueryStatement | None,
        error: FedlookupError,
        limit: int | None,
        *,
        raw: bytes = b"",
    ) -> None:
        """Append a refusal under the caller's certificate country, within the per-peer bound.

        An authenticated statement (signed by ``peer``'s key, from ``peer``, to this node)
        is logged with its fields (``refusal``, or ``quota_exhausted``); anything else only
        as ``refused_request``: the peer, the reason and the SHA-256 of ``raw``.

        Args:
            peer: the caller's country, from its certificate.
            statement: the refused statement, only when it was authenticated.
            error: why (its class name is the reason code; its text stays local).
            limit: the peer's daily quota, when known.
            raw: the statement bytes as received.
        """
        reason = type(error).__name__
        at = now()
        for summary in self._bound.due(at):
            self._log.append(summary)
        if not self._bound.admit(peer, reason, at):
            return
        if statement is None:
            digest = hashlib.sha256(raw).hexdigest()
            entry = LogEntry.refused_request(peer, reason, digest, time=at)
        elif isinstance(error, QuotaExceededError) and limit is not None:
            entry = LogEntry.quota_exhausted(
                statement.request_id,
                peer,
                items=statement.item_count,
                used=self._used(peer),
                quota=limit,
                time=at,
            )
        else:
            entry = LogEntry.refusal(statement, reason, time=at)
        self._log.append(entry)

    def flush_refusals(self, *, everything: bool = True) -> None:
        """Write pending ``refusals_aggregated`` counts: those of ended intervals (the node's
        housekeeping), or every one (``everything``, at shutdown)."""
        for summary in self._bound.due(now(), flush=everything):
            self._log.append(summary)


class AskerTrail:
    """Signs statements and logs each query, then its outcome and the peer's receipt.

    Thread-safe: the hit check calls it from one thread per peer.

    Args:
        country: this node's country.
        log: the outgoing-query log.
        openings: where commitment openings are kept.
        key: this node's Ed25519 audit key (signs statements).
        directory: the federation directory (the peers' audit keys).
    """

    def __init__(
        self,
        *,
        country: str,
        log: AuditLog,
        openings: OpeningStore,
        key: Ed25519PrivateKey,
        directory: Members,
    ) -> None:
        self.country = country
        self.log = log
        self.openings = openings
        self.key = key
        self.directory = directory
        self._sent: dict[str, QueryStatement] = {}
        self._lock = threading.Lock()

    def sign_many(
        self, requests: Sequence[tuple[str, Sequence[bytes]]], context: CheckContext
    ) -> list[SignedQuery]:
        """See :meth:`federation.hitcheck_types.QueryAuditor.sign_many`."""
        ids = [QueryStatement.new_request_id() for _ in requests]
        with self._lock:
            openings = self.openings.create_openings(
                [(rid, items) for rid, (_, items) in zip(ids, requests, strict=True)]
            )
        commitments = [o.commitment() for o in openings]
        statements = [
            QueryStatement(
                request_id=rid,
                from_country=self.country,
                to_country=to_country,
                case_id=context.case_id,
                purpose=context.purpose,
                legal_basis=context.legal_basis,
                investigator=context.investigator,
                item_count=len(items),
                commitment=commitment,
            )
            for rid, (to_country, items), commitment in zip(ids, requests, commitments, strict=True)
        ]
        signed = []
        for statement, opening in zip(statements, openings, strict=True):
            data = statement.canonical()
            key = blinding_key(opening.nonce)
            signed.append(SignedQuery(statement.request_id, data, sign(data, self.key), key))
        # Durable before any of these requests may leave: one fsync for the whole batch.
        self.log.append_many([LogEntry.query_sent(s) for s in statements])
        with self._lock:
            for statement in statements:
                self._sent[statement.request_id] = statement
        return signed

    def record_many(self, outcomes: Sequence[QueryOutcome]) -> list[VerificationError | None]:
        """See :meth:`federation.hitcheck_types.QueryAuditor.record_many`."""
        with self._lock:
            statements = [self._sent.pop(o.query.request_id) for o in outcomes]
        problems: list[VerificationError | None] = []
        entries = []
        for outcome, statement in zip(outcomes, statements, strict=True):
            problem: VerificationError | None = None
            status = outcome.status
            if outcome.receipt and not outcome.verified:
                try:
                    self._verify(statement, outcome.receipt)
                except VerificationError as exc:
                    problem, status = exc, "error"
            problems.append(problem)
            entries.append(
                LogEntry.receipt(
                    statement.request_id,
                    statement.from_country,
                    statement.to_country,
                    status=status,
                    hits=outcome.hits,
                    possible=outcome.possible,
                    no_hits=outcome.no_hits,
                    receipt=outcome.receipt,
                )
            )
        self.log.append_many(entries)
        return problems

    def verify_receipt(
        self, query: SignedQuery, receipt: bytes, *, binding: dict[str, Any] | None = None
    ) -> None:
        """See :meth:`federation.hitcheck_types.QueryAuditor.verify_receipt`."""
        with self._lock:
            statement = self._sent[query.request_id]
        self._verify(statement, receipt, binding)

    def verify_epoch_key(
        self, country: str, epoch_id: str, public: bytes, signature: bytes
    ) -> None:
        """See :meth:`federation.hitcheck_types.QueryAuditor.verify_epoch_key`."""
        if not public or not signature:
            raise VerificationError(f"{country} published no signed key for epoch {epoch_id}")
        message = epoch_key_message(country, epoch_id, public)
        verify(message, signature, self.directory.member(country).audit_key())

    def _verify(
        self, statement: QueryStatement, receipt: bytes, binding: dict[str, Any] | None = None
    ) -> None:
        public_key = self.directory.member(statement.to_country).audit_key()
        # The origin of the peer's log is the first line of the checkpoint in the receipt;
        # verify_receipt then checks everything, with the key from the directory.
        try:
            checkpoint = json.loads(receipt)["receipt"]["checkpoint"]
            origin = checkpoint.split("\n", 1)[0]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerificationError("receipt: not a signed receipt object") from exc
        verify_receipt(
            receipt, public_key, log_vkey(origin, public_key), statement, binding=binding
        )
