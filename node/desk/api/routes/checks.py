"""``/api/v1/checks``: run a check, poll it, approve it.

``POST /api/v1/checks`` answers ``200`` with the ``fedlookup.check/v1`` document when the
check finishes within ``[desk] sync_wait_s`` (or ``202`` with ``{"id", "status"}`` to poll at
``GET /api/v1/checks/{id}``; ``"wait": false`` asks for ``202`` at once). A batch above
``[desk] approval_above`` answers ``202`` with status ``awaiting_approval`` until a supervisor
decides at ``POST /api/v1/checks/{id}/approval``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from node.desk.api.deps import (
    CurrentAccount,
    CurrentInvestigator,
    CurrentSupervisor,
    DbSession,
    State,
    may_see,
)
from node.desk.asking import firearm_items
from node.desk.jobs import BudgetExceededError
from node.desk.models import Account, CheckStatus, DeskCheck

__all__ = ["CheckRequest", "Firearm", "check_view", "router", "unprocessable"]

router = APIRouter(prefix="/checks", tags=["checks"])


class Firearm(BaseModel):
    """One firearm to check."""

    model_config = ConfigDict(extra="forbid")
    make: str = Field(min_length=1, max_length=200, description="Make (manufacturer).")
    serial: str = Field(min_length=1, max_length=200, description="Serial as marked.")


class CheckRequest(BaseModel):
    """A check: why, and which firearms."""

    model_config = ConfigDict(extra="forbid")
    case: str = Field(min_length=1, max_length=128, description="Case reference (logged).")
    purpose: str = Field(min_length=1, max_length=500, description="Purpose (logged).")
    legal_basis: str = Field(default="", max_length=500, description="Legal basis (logged).")
    firearms: list[Firearm] = Field(min_length=1, max_length=100_000)
    wait: bool = Field(default=True, description="Wait for the answer (false: 202 at once).")


class CheckAccepted(BaseModel):
    """A check to poll."""

    id: str
    status: str


def unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    """A ``422`` naming each bad row (1-based) and field."""
    return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)


def check_view(check: DeskCheck, owner: Account) -> dict[str, Any]:
    """A check as ``GET /api/v1/checks/{id}`` shows it."""
    return {
        "id": check.id,
        "status": check.status,
        "case": check.case_id,
        "purpose": check.purpose,
        "legal_basis": check.legal_basis,
        "items": check.items,
        "done": check.done,
        "investigator": owner.name,
        "created_at": check.created_at.isoformat(),
        "finished_at": check.finished_at.isoformat() if check.finished_at else None,
        "error": check.error,
        "result": json.loads(check.result) if check.result else None,
    }


@router.post(
    "",
    responses={
        200: {"description": "The `fedlookup.check/v1` document."},
        202: {"model": CheckAccepted, "description": "Queued or awaiting approval: poll it."},
        401: {"description": "No or unknown credentials."},
        403: {"description": "The role may not run checks."},
        422: {"description": "Bad input: `errors` names each row (1-based) and field."},
        429: {"description": "The account's daily item budget is spent."},
    },
)
def create_check(
    body: CheckRequest, account: CurrentInvestigator, state: State, response: Response
) -> Any:
    """Check firearms at every other member country, signed under the caller's account."""
    pairs = [(f.make, f.serial) for f in body.firearms]
    _, errors = firearm_items(pairs)
    if errors:
        return unprocessable([{**e.to_json(), "loc": ["body", "firearms", e.row - 1, e.field]}
                              for e in errors])  # fmt: skip
    try:
        check = state.queue.submit(
            account,
            case_id=body.case,
            purpose=body.purpose,
            legal_basis=body.legal_basis,
            firearms=pairs,
            source="api",
        )
    except BudgetExceededError as exc:
        raise HTTPException(429, str(exc)) from exc
    location = {"Location": f"/api/v1/checks/{check.id}"}
    if body.wait and check.status == CheckStatus.QUEUED.value:
        finished = state.queue.wait(check.id, state.settings.sync_wait_s)
        if finished is not None and finished.status == CheckStatus.DONE.value and finished.result:
            return Response(finished.result, media_type="application/json", headers=location)
        if finished is not None and finished.status == CheckStatus.FAILED.value:
            return JSONResponse(
                {"id": check.id, "status": finished.status, "error": finished.error},
                status_code=502,
                headers=location,
            )
        check = finished or check
    return JSONResponse({"id": check.id, "status": check.status}, 202, headers=location)


@router.get("", responses={401: {}, 403: {}})
def list_checks(account: CurrentAccount, db: DbSession, status: str | None = None) -> Any:
    """The caller's checks (a supervisor's: the team's), newest first, without results."""
    query = select(DeskCheck, Account).join(Account, col(Account.id) == col(DeskCheck.account_id))
    if status:
        query = query.where(DeskCheck.status == status)
    rows = db.exec(query.order_by(col(DeskCheck.created_at).desc()).limit(500)).all()
    return [
        {k: v for k, v in check_view(c, owner).items() if k != "result"}
        for c, owner in rows
        if may_see(account, owner)
    ]


def _visible(db: DbSession, account: Account, check_id: str) -> tuple[DeskCheck, Account]:
    check = db.get(DeskCheck, check_id)
    owner = db.get(Account, check.account_id) if check is not None else None
    if check is None or owner is None or not may_see(account, owner):
        raise HTTPException(404, "no such check")
    return check, owner


@router.get("/{check_id}", responses={401: {}, 404: {}})
def get_check(check_id: str, account: CurrentAccount, db: DbSession) -> Any:
    """A check: its status and progress, and its result document once ``done``."""
    check, owner = _visible(db, account, check_id)
    return check_view(check, owner)


class Decision(BaseModel):
    """A supervisor's decision about a large batch."""

    model_config = ConfigDict(extra="forbid")
    approve: bool


@router.post("/{check_id}/approval", responses={401: {}, 403: {}, 404: {}, 409: {}})
def decide(
    check_id: str, decision: Decision, account: CurrentSupervisor, db: DbSession, state: State
) -> Any:
    """Approve (queue) or reject a batch of the supervisor's team awaiting approval."""
    check, _ = _visible(db, account, check_id)
    try:
        decided = state.queue.decide(check.id, account, approve=decision.approve)
    except LookupError:
        raise HTTPException(409, f"check is {check.status}, not awaiting approval") from None
    return {"id": decided.id, "status": decided.status}
