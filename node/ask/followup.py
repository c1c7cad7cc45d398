"""The requester's side of follow-ups: sign, log, send, poll, over the node's own channels.

:class:`FollowUpSender` uses the same :class:`~federation.grpc_transport.GrpcTransport` per
peer as the hit check (same mutual-TLS credentials, same server-identity checks) and the
same outgoing log, which it writes in order: ``followup_sent`` before the request leaves,
``followup_receipt`` with the owner's acknowledgement (or ``refused``/``unavailable``),
``followup_answer`` once the owner decided, ``followup_purge`` when released data is
deleted. None of them holds a serial: a follow-up names a reference. Each step ends with
a signed checkpoint (follow-ups come at a person's pace), so an export shows it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.entries import LogEntry
from audit.followup import FollowUpStatement, field_list
from audit.statements import sign
from federation.followup import FollowUpAnswer
from federation.labels import parse_reference
from fedlookup.errors import InputError, PeerError, PeerUnavailableError, VerificationError

__all__ = ["FollowUpSender", "FollowUpTransport"]


class FollowUpTransport(Protocol):
    """What the sender needs of a peer transport (``GrpcTransport``)."""

    @property
    def country(self) -> str: ...

    def submit_follow_up(
        self, statement: bytes, signature: bytes, *, timeout: float
    ) -> FollowUpAnswer: ...
    def follow_up_status(self, request_id: str, *, timeout: float) -> FollowUpAnswer: ...


class LogLike(Protocol):
    """The outgoing log (``AuditLog``)."""

    def append(self, entry: LogEntry) -> int: ...
    def checkpoint(self) -> bytes: ...


class FollowUpSender:
    """Sends this node's follow-ups (see the module docstring).

    Args:
        country: this node's country.
        transports: one transport per peer, by country.
        log: the outgoing log (durable append).
        key: the node's audit key (signs statements).
        timeout: seconds per call.
    """

    def __init__(
        self,
        country: str,
        transports: Mapping[str, FollowUpTransport],
        log: LogLike,
        key: Ed25519PrivateKey,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.country = country
        self._transports = transports
        self._log = log
        self._key = key
        self._timeout = timeout

    def owner_of(self, reference: str) -> str:
        """The country a reference may be asked of (its issuer).

        Raises:
            InputError: malformed, this country's own, or not a member this node asks.
        """
        owner, _ = parse_reference(reference)
        if owner == self.country:
            raise InputError(f"{reference} is this country's own reference", field="reference")
        if owner not in self._transports:
            raise InputError(f"{owner} is not a federation member to ask", field="reference")
        return owner

    def send(
        self, reference: str, *, case_id: str, purpose: str, legal_basis: str, investigator: str
    ) -> tuple[FollowUpStatement, FollowUpAnswer | None, str]:
        """Sign, log and send a follow-up request to the reference's owner.

        Returns:
            The statement, the owner's acknowledgement (``None`` when it refused or could not
            be reached), and the receipt status logged (``pending``, ``refused``,
            ``unavailable``, or the status the owner answered).

        Raises:
            InputError: a bad reference or a field over 256 characters (nothing is sent).
            LogWriteError: the outgoing log could not record it (nothing is sent).
        """
        owner = self.owner_of(reference)
        try:
            stmt = FollowUpStatement.create(self.country, owner, reference, case_id=case_id,
                                            purpose=purpose, legal_basis=legal_basis,
                                            investigator=investigator)  # fmt: skip
        except VerificationError as exc:
            raise InputError(str(exc).replace("follow-up statement: ", ""), field="fields") from exc
        data = stmt.canonical()
        signature = sign(data, self._key)
        self._log.append(LogEntry.followup("followup_sent", stmt.entry_fields()))
        answer: FollowUpAnswer | None = None
        try:
            answer = self._transports[owner].submit_follow_up(
                data, signature, timeout=self._timeout
            )
            status, deadline = answer.status, answer.deadline
        except PeerError as exc:
            status = "unavailable" if isinstance(exc, PeerUnavailableError) else "refused"
            deadline = ""
        fields: dict[str, Any] = {"request_id": stmt.request_id, "from": self.country,
                                  "to": owner, "deadline": deadline, "status": status}  # fmt: skip
        self._log.append(LogEntry.followup("followup_receipt", fields))
        self._log.checkpoint()
        return stmt, answer, status

    def poll(self, owner: str, request_id: str) -> FollowUpAnswer:
        """The owner's current answer (nothing is logged; see :meth:`record_answer`).

        Raises:
            PeerUnavailableError, PeerRejectedError: as for every call.
            InputError: ``owner`` is not a peer of this node.
        """
        transport = self._transports.get(owner)
        if transport is None:
            raise InputError(f"{owner} is not a federation member to ask", field="to")
        return transport.follow_up_status(request_id, timeout=self._timeout)

    def record_answer(self, owner: str, answer: FollowUpAnswer) -> None:
        """Log the owner's decision as received (field names only, never values)."""
        fields = {"request_id": answer.request_id, "from": self.country, "to": owner,
                  "status": answer.status, "fields": field_list(answer.released),
                  "reason": answer.reason}  # fmt: skip
        self._log.append(LogEntry.followup("followup_answer", fields))
        self._log.checkpoint()

    def record_purge(self, owner: str, request_id: str, fields: list[str]) -> None:
        """Log that released data of ``request_id`` was deleted."""
        entry = {"request_id": request_id, "to": owner, "fields": field_list(fields)}
        self._log.append(LogEntry.followup("followup_purge", entry))
        self._log.checkpoint()
