"""Console pages of supervisors (approvals), operators (accounts) and auditors (logs, events)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from fedlookup.errors import InputError
from node.desk import accounts
from node.desk.api.deps import (
    CurrentAuditor,
    CurrentOperator,
    CurrentSupervisor,
    Principal,
    State,
    may_see,
)
from node.desk.api.deps import principal as _principal
from node.desk.asking import log_statuses
from node.desk.models import Account, CheckStatus, DeskCheck, DeskEvent, Role
from node.desk.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(_principal)]


@router.get("/approvals")
def approvals(request: Request, account: CurrentSupervisor, who: Who, state: State) -> Response:
    """Batches of the supervisor's team waiting for a decision."""
    with state.db.session() as db:
        rows = db.exec(
            select(DeskCheck, Account)
            .join(Account, col(Account.id) == col(DeskCheck.account_id))
            .where(DeskCheck.status == CheckStatus.AWAITING_APPROVAL.value)
            .order_by(col(DeskCheck.created_at))
        ).all()
    waiting = [(c, owner) for c, owner in rows if may_see(account, owner)]
    return render(request, "approvals.html", who, rows=waiting)


@router.post("/approvals/{check_id}")
def decide(
    check_id: str,
    account: CurrentSupervisor,
    state: State,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
) -> Response:
    """Approve or reject one batch."""
    check = state.queue.get(check_id)
    with state.db.session() as db:
        owner = db.get(Account, check.account_id) if check else None
    if check is None or owner is None or not may_see(account, owner):
        raise HTTPException(404, "no such check")
    try:
        state.queue.decide(check_id, account, approve=decision == "approve")
    except LookupError:
        raise HTTPException(409, "this check is not awaiting approval") from None
    return RedirectResponse("/approvals", status_code=303)


@router.get("/audit")
def audit_page(request: Request, account: CurrentAuditor, who: Who, state: State) -> Response:
    """The node's logs (tree size, checkpoint, cosigners, verification) and desk events."""
    with state.db.session() as db:
        events = db.exec(select(DeskEvent).order_by(col(DeskEvent.id).desc()).limit(100)).all()
    return render(request, "audit.html", who, logs=log_statuses(state.node), events=events)


@router.get("/accounts")
def accounts_page(request: Request, account: CurrentOperator, who: Who, state: State) -> Response:
    """Every account, with a form to change its role."""
    with state.db.session() as db:
        rows = db.exec(select(Account).order_by(col(Account.name))).all()
    return render(request, "accounts.html", who, rows=rows, roles=[r.value for r in Role])


@router.post("/accounts/{name}/role")
def change_role(
    name: str,
    account: CurrentOperator,
    state: State,
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    """Give an account another role (recorded with the operator's name)."""
    with state.db.session() as db:
        try:
            accounts.change_role(db, name, role, actor=account.name)
        except InputError as exc:
            raise HTTPException(422, exc.reason) from exc
    return RedirectResponse("/accounts", status_code=303)
