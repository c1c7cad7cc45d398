"""The node's real parts, shaped as the Responder's ports.

* :class:`DirectoryAdapter`: membership, key pin and statement signatures from the live
  :class:`~federation.directory_watch.DirectoryWatcher`;
* :class:`AuditAdapter`: query, refusal and quota-exhaustion entries in the node's
  :class:`~audit.log.AuditLog`, and receipts;
* :class:`EvaluatorAdapter`: one thread's :class:`~federation.evaluation.Evaluator`;
* :class:`DirectoryBoundPolicy`: the node's own policy, capped by the limits the federation
  directory sets for each member.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from audit.entries import LogEntry
from audit.log import AuditLog
from audit.statements import QueryStatement, verify
from certs import PeerIdentity
from federation.directory_model import Directory
from federation.directory_watch import DirectoryWatcher
from federation.evaluation import Evaluator
from federation.keys import EpochKey
from federation.psi import parse_request
from federation.responder import PeerGrant, StatementLike
from fedlookup.errors import FedlookupError, QuotaExceededError, UnlistedPeerError
from node.policy import ConfigPolicy
from node.quotas import SqliteQuotaLedger

__all__ = [
    "AuditAdapter",
    "DirectoryAdapter",
    "DirectoryBoundPolicy",
    "EvaluatorAdapter",
    "on_directory_change",
]

_log = logging.getLogger("fedlookup.node")


class DirectoryAdapter:
    """Membership and statement checks against the directory in force."""

    def __init__(self, watcher: DirectoryWatcher) -> None:
        self._watcher = watcher

    def require_member(self, peer: str) -> None:
        """Raise UnlistedPeerError unless ``peer`` is listed."""
        self._watcher.current.member(peer)

    def check_member(self, peer: PeerIdentity) -> None:
        """Membership plus the key pin, for the identity interceptor."""
        self._watcher.current.check_peer(peer)

    def parse_statement(self, data: bytes) -> QueryStatement:
        """Parse canonical statement bytes (VerificationError if malformed)."""
        return QueryStatement.parse(data)

    def verify_statement(self, peer: str, data: bytes, signature: bytes) -> None:
        """Verify the statement signature with ``peer``'s audit key from the directory."""
        verify(data, signature, self._watcher.current.member(peer).audit_key())


def _query(statement: StatementLike) -> QueryStatement:
    if not isinstance(statement, QueryStatement):
        raise TypeError("the node's directory adapter parses statements as QueryStatement")
    return statement


class AuditAdapter:
    """The node's audit log as the Responder's audit trail.

    Args:
        log: the node's (incoming-query) audit log.
        quotas: the ledger, read when a quota exhaustion is logged.
    """

    def __init__(self, log: AuditLog, quotas: SqliteQuotaLedger) -> None:
        self._log = log
        self._quotas = quotas

    def record_query(self, peer: str, statement: StatementLike, signature: bytes) -> int:
        """Append ``query_received`` durably; LogWriteError if it cannot be."""
        return self._log.append(LogEntry.query_received(_query(statement), signature))

    def receipt(self, index: int, statement: StatementLike) -> bytes:
        """The signed receipt of entry ``index``."""
        return self._log.receipt(index, statement.request_id)

    def record_refusal(
        self, peer: str, statement: StatementLike, error: FedlookupError, limit: int | None
    ) -> None:
        """Append ``quota_exhausted`` or ``refusal`` (reason: the error class name)."""
        stmt = _query(statement)
        if isinstance(error, QuotaExceededError) and limit is not None:
            entry = LogEntry.quota_exhausted(
                stmt.request_id,
                peer,
                items=stmt.item_count,
                used=self._quotas.used(peer),
                quota=limit,
            )
        else:
            entry = LogEntry.refusal(stmt, type(error).__name__)
        self._log.append(entry)


class EvaluatorAdapter:
    """One thread's evaluator for one epoch, with the request item count the Responder
    checks against the statement."""

    def __init__(self, key: EpochKey) -> None:
        self._evaluator = Evaluator(key)

    def item_count(self, request: bytes) -> int:
        """Number of blinded items in a serialized openmined Request."""
        return len(parse_request(request)[1])

    def evaluate(self, request: bytes, *, reveal: bool = True) -> bytes:
        """Evaluate under the epoch key (shuffled when ``reveal`` is false)."""
        return self._evaluator.evaluate(request, reveal=reveal)


class DirectoryBoundPolicy:
    """The node's policy, never more generous than the directory's limits for a member."""

    def __init__(self, policy: ConfigPolicy, watcher: DirectoryWatcher) -> None:
        self._policy = policy
        self._watcher = watcher

    def grant(self, peer: str) -> PeerGrant:
        """The node's grant with both limits capped by the directory's."""
        grant = self._policy.grant(peer)
        try:
            limits = self._watcher.current.member(peer).limits
        except UnlistedPeerError:
            return PeerGrant(False, frozenset(), False, 0, 0, frozenset())
        return PeerGrant(
            allowed=grant.allowed,
            categories=grant.categories,
            reveal=grant.reveal,
            max_items_per_request=min(grant.max_items_per_request, limits.max_items_per_request),
            items_per_day=min(grant.items_per_day, limits.items_per_day),
            purposes=grant.purposes,
        )


def on_directory_change(log: AuditLog) -> Callable[[Directory | None, Directory], None]:
    """The watcher callback that logs each adopted directory before it takes effect."""

    def record(old: Directory | None, new: Directory) -> None:
        digest = hashlib.sha256(new.canonical()).hexdigest()
        log.append(LogEntry.directory_change(new.version, digest))
        _log.info(
            "federation directory adopted",
            extra={"event": "directory", "version": new.version, "previous": old and old.version},
        )

    return record
