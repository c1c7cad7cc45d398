"""``/api/v1/follow-ups``: ask the owner of a hit for its core data, and answer such asks.

Requester (investigators, supervisors):

* ``POST /api/v1/follow-ups`` ``{"reference", "case", "purpose", "legal_basis"}``: signed,
  logged and sent to the reference's owner; ``201`` with the follow-up's view;
* ``GET /api/v1/follow-ups/{id}``: ``{"id", "status", "released", "reason", "deadline",
  "overdue", ...}``; a pending one is refreshed from the owner first.

Owner (liaison officers):

* ``GET /api/v1/follow-ups/incoming``: a JSON array of ``{"id", "reference", "from",
  "case", "purpose", "deadline", "status", "overdue", "known"}``;
* ``POST /api/v1/follow-ups/incoming/{id}/decision`` ``{"decision": "release", "fields":
  [...], "note"?}`` or ``{"decision": "refuse", "reason"}``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from fedlookup.errors import FedlookupError, InputError
from node.desk.api.deps import (
    CurrentInvestigator,
    CurrentLiaison,
    DbSession,
    DeskState,
    State,
    may_see,
)
from node.desk.asking import FollowUpSender, FollowUpStore
from node.desk.follow_ups import (
    FollowUpRequest,
    decide,
    follow_up_view,
    refresh,
    request_follow_up,
)
from node.desk.models import Account

__all__ = ["DecisionBody", "FollowUpBody", "router"]

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])


class FollowUpBody(BaseModel):
    """A follow-up request: the hit's reference and why (every field is logged)."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=64, description="The hit's reference.")
    case: str = Field(min_length=1, max_length=256)
    purpose: str = Field(min_length=1, max_length=256)
    legal_basis: str = Field(default="", max_length=256)


class DecisionBody(BaseModel):
    """A liaison officer's decision."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["release", "refuse"]
    fields: list[str] = Field(default_factory=list, max_length=8)
    note: str = Field(default="", max_length=256)
    reason: str = Field(default="", max_length=256)


def sender(state: DeskState) -> FollowUpSender:
    """The node's follow-up sender, or ``503`` on a desk that does not ask."""
    if state.asker is None or state.asker.follow_ups is None:
        raise HTTPException(503, "this desk replica does not send; use the one holding the lock")
    return state.asker.follow_ups


def incoming(state: DeskState) -> FollowUpStore:
    """The node's queue of incoming follow-ups."""
    if state.incoming is None:
        raise HTTPException(503, "no follow-up queue")
    return state.incoming


def _invalid(exc: InputError) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.reason, "errors": [{"field": exc.field or "", "message": exc.reason}]},
        status_code=422,
    )


@router.post("", status_code=201, responses={422: {}, 503: {}})
def create(body: FollowUpBody, account: CurrentInvestigator, db: DbSession, state: State) -> Any:
    """Ask the owner of ``reference`` for the record's core data."""
    try:
        row = request_follow_up(db, sender(state), account, reference=body.reference,
                                case_id=body.case, purpose=body.purpose,
                                legal_basis=body.legal_basis)  # fmt: skip
    except InputError as exc:
        return _invalid(exc)
    return follow_up_view(row)


@router.get("", responses={401: {}})
def mine(account: CurrentInvestigator, db: DbSession) -> Any:
    """The caller's follow-ups, newest first (not refreshed)."""
    rows = db.exec(
        select(FollowUpRequest)
        .where(FollowUpRequest.account_id == account.id)
        .order_by(col(FollowUpRequest.created_at).desc())
    ).all()
    return [follow_up_view(r) for r in rows]


@router.get("/incoming", responses={403: {}})
def list_incoming(account: CurrentLiaison, state: State) -> Any:
    """Follow-ups received from peers, pending first, then by deadline."""
    return [item.to_json() for item in incoming(state).incoming()]


@router.post("/incoming/{request_id}/decision", responses={403: {}, 404: {}, 422: {}})
def decision(request_id: str, body: DecisionBody, account: CurrentLiaison, state: State) -> Any:
    """Release chosen fields, or refuse with a reason."""
    store = incoming(state)
    if store.get(request_id) is None:
        raise HTTPException(404, "no such follow-up")
    try:
        item = decide(store, state.node, request_id, account,
                      release=body.decision == "release", fields=body.fields, note=body.note,
                      reason=body.reason)  # fmt: skip
    except InputError as exc:
        return _invalid(exc)
    except FedlookupError as exc:
        raise HTTPException(503, f"registry not readable: {exc}") from exc
    return {**item.to_json(), "released_fields": list(item.released)}


@router.get("/{request_id}", responses={404: {}})
def get_one(request_id: str, account: CurrentInvestigator, db: DbSession, state: State) -> Any:
    """One follow-up; a pending one is refreshed from its owner first."""
    row = db.get(FollowUpRequest, request_id)
    if row is None or not _visible(db, account, row):
        raise HTTPException(404, "no such follow-up")
    if row.status == "pending" and state.asker is not None and state.asker.follow_ups:
        row = refresh(db, state.asker.follow_ups, row)
    return follow_up_view(row)


def _visible(db: DbSession, viewer: Account, row: FollowUpRequest) -> bool:
    owner = db.get(Account, row.account_id)
    return owner is not None and may_see(viewer, owner)
