"""Follow-up requests at the reference's owner: the pure core, no sockets, no database.

:class:`FollowUpOwner` takes a signed :class:`~audit.followup.FollowUpStatement` from a
peer (its country from the mTLS certificate, never from the statement), checks it in this
order, and queues it:

1. the caller is a member of the directory (its audit key);
2. the statement parses (canonical, every field at most 256 characters);
3. ``from`` is the caller, ``to`` is this node, the reference was issued by this node;
4. the signature verifies under the caller's audit key;
5. ``followup_received`` is appended to the node's log (durable; if not, nothing is queued).

A refusal after step 2 is logged as ``followup_refusal``. A reference this node never
issued (or no longer holds) is queued like any other: the requester sees ``pending`` until
a liaison officer decides, so the answer says nothing about a reference's existence beyond
what the officer releases. Policy may release chosen fields to chosen peers at once.

The caller reads a follow-up's state with :meth:`FollowUpOwner.status`; a follow-up of
another country and an unknown id get the same error.

Example::

    owner = FollowUpOwner(country="FR", directory=directory, store=store,
                          log=audit_log.append, policy=lambda peer: FollowUpPolicy(),
                          resolve=record_data)
    item = owner.submit("DE", statement_bytes, signature)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from audit.canonical import b64, format_time
from audit.entries import LogEntry
from audit.followup import FOLLOWUP_FIELDS, FollowUpStatement
from audit.statements import now, verify
from federation.directory_model import Member
from federation.labels import parse_reference
from fedlookup.errors import CountryMismatchError, InputError, VerificationError

__all__ = [
    "FollowUpAnswer",
    "FollowUpOwner",
    "FollowUpPolicy",
    "IncomingFollowUp",
    "IncomingStore",
    "check_fields",
]

_log = logging.getLogger("fedlookup.federation.followup")

#: Statuses of a follow-up, at both ends.
STATUSES = ("pending", "released", "refused")


@dataclass(frozen=True)
class FollowUpPolicy:
    """What the owner does with one peer's follow-ups.

    Attributes:
        deadline_hours: hours the owner gives itself to decide (Prüm II: 48 for core data).
        auto_release: fields released at once, without a liaison officer (empty: none).
    """

    deadline_hours: float = 48.0
    auto_release: frozenset[str] = frozenset()


@dataclass(frozen=True)
class IncomingFollowUp:
    """A follow-up request queued at the owner.

    ``record_id`` is ``None`` when the reference resolves to no record here; that stays at
    the owner (its liaison officer sees it; the requester does not).
    """

    request_id: str
    from_country: str
    reference: str
    case_id: str
    purpose: str
    legal_basis: str
    investigator: str
    received_at: datetime
    deadline: datetime
    record_id: str | None = None
    status: str = "pending"
    released: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    decided_by: str = ""

    def overdue(self, at: datetime | None = None) -> bool:
        """Whether the deadline passed without a decision."""
        return self.status == "pending" and (at or now()) > self.deadline

    def to_json(self, at: datetime | None = None) -> dict[str, Any]:
        """The liaison queue's view (``GET /api/v1/follow-ups/incoming``)."""
        return {
            "id": self.request_id,
            "reference": self.reference,
            "from": self.from_country,
            "case": self.case_id,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "deadline": format_time(self.deadline),
            "status": self.status,
            "overdue": self.overdue(at),
            "known": self.record_id is not None,
        }


@dataclass(frozen=True)
class FollowUpAnswer:
    """What the owner tells the requester about one follow-up (as on the wire).

    Attributes:
        request_id: the follow-up's id (the statement's).
        status: ``pending``, ``released`` or ``refused``.
        deadline: RFC 3339 UTC time the owner promised a decision by.
        released: released fields (only when ``released``).
        reason: the refusal's reason (only when ``refused``).
    """

    request_id: str
    status: str
    deadline: str
    released: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InputError(f"unknown follow-up status {self.status!r}", field="status")
        if set(self.released) - set(FOLLOWUP_FIELDS):
            raise InputError("released fields outside the follow-up fields", field="released")


class IncomingStore(Protocol):
    """Where the owner queues follow-ups (``node.followups.FollowUpStore``)."""

    def add(self, item: IncomingFollowUp) -> IncomingFollowUp: ...
    def get(self, request_id: str) -> IncomingFollowUp | None: ...


def check_fields(fields: list[str]) -> list[str]:
    """The fields a release names, validated and in the canonical order.

    Raises:
        InputError: an unknown field, or none at all.
    """
    unknown = sorted(set(fields) - set(FOLLOWUP_FIELDS))
    if unknown:
        raise InputError(
            f"unknown fields {unknown}; choose among {FOLLOWUP_FIELDS}", field="fields"
        )
    if not fields:
        raise InputError("a release names at least one field", field="fields")
    return [f for f in FOLLOWUP_FIELDS if f in fields]


class FollowUpOwner:
    """The owner's side of follow-ups (see the module docstring).

    Args:
        country: this node's country.
        directory: members and their audit keys (``member(country) -> Member``).
        store: the queue.
        log: appends an entry to the node's signed log, durably (``AuditLog.append``).
        policy: the peer's follow-up policy.
        resolve: the record's core data (field -> value) for a record id, or raises.
        lookup: the record id of a reference issued here, or ``None``.
        on_queued: called with each newly queued follow-up (e-mail notices); its errors
            are logged, never sent to the peer.
    """

    def __init__(
        self,
        *,
        country: str,
        directory: Any,
        store: IncomingStore,
        log: Callable[[LogEntry], object],
        policy: Callable[[str], FollowUpPolicy],
        lookup: Callable[[str], str | None],
        resolve: Callable[[str], Mapping[str, str]],
        on_queued: Callable[[IncomingFollowUp], None] = lambda item: None,
    ) -> None:
        self.country = country
        self._directory = directory
        self._store = store
        self._log = log
        self._policy = policy
        self._lookup = lookup
        self._resolve = resolve
        self._on_queued = on_queued

    def submit(self, peer: str, statement: bytes, signature: bytes) -> IncomingFollowUp:
        """Check and queue one follow-up request (order in the module docstring).

        Args:
            peer: the caller's country, from its certificate.
            statement: canonical :class:`FollowUpStatement` bytes.
            signature: the caller's Ed25519 signature over them.

        Raises:
            UnlistedPeerError: the caller is not a member.
            VerificationError: a malformed statement or a bad signature.
            CountryMismatchError: ``from`` is not the caller or ``to`` not this node.
            InputError: the reference was not issued by this node.
            LogWriteError: the entry could not be made durable (nothing queued).
        """
        member: Member = self._directory.member(peer)
        stmt = FollowUpStatement.parse(statement)
        try:
            self._admit(peer, stmt, statement, signature, member)
        except (VerificationError, CountryMismatchError, InputError) as exc:
            reason = type(exc).__name__
            self._log(
                LogEntry.followup("followup_refusal", {**stmt.entry_fields(), "reason": reason})
            )
            raise
        existing = self._store.get(stmt.request_id)
        if existing is not None:
            if existing.from_country != peer:
                raise InputError("request id already used", field="request_id")
            return existing  # a retried submission: the same answer
        policy = self._policy(peer)
        received = now()
        item = IncomingFollowUp(
            request_id=stmt.request_id,
            from_country=peer,
            reference=stmt.reference,
            case_id=stmt.case_id,
            purpose=stmt.purpose,
            legal_basis=stmt.legal_basis,
            investigator=stmt.investigator,
            received_at=received,
            deadline=received + timedelta(hours=policy.deadline_hours),
            record_id=self._lookup(stmt.reference),
        )
        fields = {**stmt.entry_fields(), "statement_sig": b64(signature),
                  "deadline": format_time(item.deadline)}  # fmt: skip
        self._log(LogEntry.followup("followup_received", fields))
        if policy.auto_release and item.record_id is not None:
            try:
                item = self.release(item, sorted(policy.auto_release), decided_by="policy")
            except InputError as exc:  # the record left the registry: a liaison decides
                _log.warning("auto-release of %s not possible: %s", item.request_id, exc)
        queued = self._store.add(item)
        try:
            self._on_queued(queued)
        except Exception as exc:  # a notice is a courtesy, never a reason to fail the peer
            _log.warning("follow-up notice failed: %s", exc)
        return queued

    def _admit(
        self, peer: str, stmt: FollowUpStatement, raw: bytes, signature: bytes, member: Member
    ) -> None:
        if stmt.from_country != peer:
            raise CountryMismatchError(
                f"follow-up from {stmt.from_country!r} but certificate is {peer!r}"
            )
        if stmt.to_country != self.country:
            raise CountryMismatchError(f"follow-up addressed to {stmt.to_country!r}")
        owner, _ = parse_reference(stmt.reference)
        if owner != self.country:
            raise InputError(f"reference issued by {owner}, not {self.country}", field="reference")
        verify(raw, signature, member.audit_key())

    def release(
        self, item: IncomingFollowUp, fields: list[str], *, decided_by: str, note: str = ""
    ) -> IncomingFollowUp:
        """The item released with ``fields`` of its record (the decision is not logged here).

        Raises:
            InputError: unknown fields, or a reference that resolves to no record.
        """
        chosen = check_fields(fields)
        if item.record_id is None:
            raise InputError(
                "the reference resolves to no record here: refuse it", field="reference"
            )
        data = dict(self._resolve(item.record_id))
        if note:
            data["note"] = note
        released = {f: data.get(f, "") for f in chosen}
        return replace(item, status="released", released=released, decided_by=decided_by)

    def status(self, peer: str, request_id: str) -> IncomingFollowUp:
        """The state of a follow-up ``peer`` submitted.

        Raises:
            InputError: no such follow-up from ``peer`` (the same for another country's).
        """
        item = self._store.get(request_id)
        if item is None or item.from_country != peer:
            raise InputError("no such follow-up", field="request_id")
        return item
