"""``/api/v1/audit``: the auditor's read-only view of the node's logs and the desk's events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from node.desk.api.deps import CurrentAuditor, DbSession, State
from node.desk.asking import log_statuses
from node.desk.models import DeskEvent

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/logs", responses={401: {}, 403: {}})
def logs(account: CurrentAuditor, state: State) -> Any:
    """The node's own log and its outgoing-query log: size, checkpoint, cosigners, verdict."""
    return [
        {
            "name": s.name,
            "origin": s.origin,
            "size": s.size,
            "checkpoint": s.checkpoint,
            "cosigners": list(s.cosigners),
            "verified": s.verified,
            "state": s.state,
            "findings": list(s.findings),
        }
        for s in log_statuses(state.node)
    ]


@router.get("/events", responses={401: {}, 403: {}})
def events(account: CurrentAuditor, db: DbSession, limit: int = 200) -> Any:
    """The desk's latest events: logins, failures, lockouts, role changes, approvals."""
    rows = db.exec(select(DeskEvent).order_by(col(DeskEvent.id).desc()).limit(min(limit, 5000)))
    return [
        {"at": e.at.isoformat(), "kind": e.kind, "account": e.account,
         "actor": e.actor, "address": e.address, "detail": e.detail}
        for e in rows.all()
    ]  # fmt: skip
