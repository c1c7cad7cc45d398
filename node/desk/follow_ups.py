"""Follow-ups at the desk: the requester's table and the steps both ends take.

Requester: :func:`request_follow_up` signs, logs and sends through the node's
:class:`~node.desk.asking.FollowUpSender`, and keeps a :class:`FollowUpRequest` row;
:func:`refresh` asks the owner for news while the row is pending and keeps the released
fields once decided; :func:`purge_expired` deletes released data after ``[followup]
retention_days`` and logs each purge.

Owner: :func:`decide` records a liaison officer's release (values read from the registry,
only the chosen fields) or refusal in the node's follow-up queue; the serving node logs it.

Times are UTC; a follow-up is overdue when its deadline passed while it is still pending,
at both ends.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from fedlookup.errors import InputError
from node.desk.asking import (
    FollowUpSender,
    FollowUpStore,
    IncomingFollowUp,
    NodeConfig,
    check_fields,
    format_time,
    parse_time,
    record_data,
)
from node.desk.models import Account, utcnow

__all__ = [
    "FollowUpRequest",
    "decide",
    "follow_up_view",
    "purge_expired",
    "refresh",
    "request_follow_up",
]


class FollowUpRequest(SQLModel, table=True):
    """A follow-up this desk sent; ``released`` holds the owner's data until purged."""

    __tablename__ = "desk_follow_up"

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="desk_account.id", index=True)
    reference: str = Field(max_length=64)
    to_country: str = Field(max_length=2)
    case_id: str = Field(index=True, max_length=256)
    purpose: str
    legal_basis: str = ""
    #: pending, released, refused, or not_sent (refused or unreachable at submission).
    status: str = Field(index=True, max_length=16)
    deadline: datetime | None = None
    released: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
    purged_at: datetime | None = None


def _aware(when: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written as UTC.
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def request_follow_up(
    db: Session,
    sender: FollowUpSender,
    account: Account,
    *,
    reference: str,
    case_id: str,
    purpose: str,
    legal_basis: str,
) -> FollowUpRequest:
    """Send a follow-up for ``reference`` under ``account``'s name and keep its row.

    Raises:
        InputError: a bad reference or an oversized field (nothing sent).
    """
    stmt, answer, status = sender.send(reference, case_id=case_id, purpose=purpose,
                                       legal_basis=legal_basis,
                                       investigator=account.pseudonym)  # fmt: skip
    assert account.id is not None
    row = FollowUpRequest(
        id=stmt.request_id,
        account_id=account.id,
        reference=stmt.reference,
        to_country=stmt.to_country,
        case_id=case_id,
        purpose=purpose,
        legal_basis=legal_basis,
        status=answer.status if answer else "not_sent",
        deadline=parse_time(answer.deadline, "deadline") if answer else None,
        reason="" if answer else f"the owner's node answered {status}",
    )
    db.add(row)
    db.flush()
    return row


def refresh(db: Session, sender: FollowUpSender, row: FollowUpRequest) -> FollowUpRequest:
    """Ask the owner about a pending follow-up; keep and log its decision once made.

    An unreachable owner leaves the row as it was (the next look asks again).
    """
    if row.status != "pending":
        return row
    try:
        answer = sender.poll(row.to_country, row.id)
    except Exception:
        return row
    if answer.status == "pending":
        return row
    sender.record_answer(row.to_country, answer)
    row.status = answer.status
    row.released = json.dumps(answer.released)
    row.reason = answer.reason
    row.answered_at = utcnow()
    db.add(row)
    db.flush()
    return row


def follow_up_view(row: FollowUpRequest, now: datetime | None = None) -> dict[str, Any]:
    """The follow-up as ``GET /api/v1/follow-ups/{id}`` shows it."""
    deadline = _aware(row.deadline)
    at = now or utcnow()
    return {
        "id": row.id,
        "status": row.status,
        "released": json.loads(row.released),
        "reason": row.reason,
        "reference": row.reference,
        "to": row.to_country,
        "case": row.case_id,
        "purpose": row.purpose,
        "deadline": format_time(deadline) if deadline else None,
        "overdue": row.status == "pending" and deadline is not None and at > deadline,
        "purged": row.purged_at is not None,
    }


def purge_expired(
    db: Session, sender: FollowUpSender, retention_days: float, now: datetime | None = None
) -> int:
    """Delete released data answered more than ``retention_days`` ago; log each purge.

    Returns:
        How many follow-ups were purged.
    """
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    rows = db.exec(
        select(FollowUpRequest).where(
            col(FollowUpRequest.purged_at).is_(None),
            col(FollowUpRequest.answered_at).is_not(None),
        )
    ).all()
    done = 0
    for row in rows:
        answered = _aware(row.answered_at)
        if answered is None or answered > cutoff:
            continue
        fields = list(json.loads(row.released))
        sender.record_purge(row.to_country, row.id, fields)
        row.released = "{}"
        row.purged_at = now or utcnow()
        db.add(row)
        done += 1
    db.flush()
    return done


def decide(
    store: FollowUpStore,
    config: NodeConfig,
    request_id: str,
    liaison: Account,
    *,
    release: bool,
    fields: list[str],
    note: str = "",
    reason: str = "",
) -> IncomingFollowUp:
    """Record a liaison officer's decision on an incoming follow-up.

    Raises:
        InputError: no such pending follow-up, unknown fields, a release of a reference
            that resolves to no record, or a refusal without a reason.
    """
    item = store.get(request_id)
    if item is None or item.status != "pending":
        raise InputError("no such pending follow-up", field="id")
    if not release:
        if not reason.strip():
            raise InputError("a refusal gives a reason", field="reason")
        return store.decide(
            replace(item, status="refused", reason=reason, decided_by=liaison.pseudonym)
        )
    wanted = list(fields) + (["note"] if note and "note" not in fields else [])
    chosen = check_fields(wanted)
    if item.record_id is None:
        raise InputError("the reference resolves to no record here: refuse it", field="id")
    data = record_data(config.registry.url, config.registry.mapping, item.record_id,
                       contact=config.followup.contact)  # fmt: skip
    data["note"] = note
    released = {f: data.get(f, "") for f in chosen}
    return store.decide(
        replace(item, status="released", released=released, decided_by=liaison.pseudonym)
    )
