"""Console pages of follow-ups: the investigator's requests and the liaison officer's queue.

``/follow-ups`` shows an investigator (or supervisor) their follow-ups, each pending one
refreshed from its owner, and shows a liaison officer the requests received from peers
with a release form (fields to release, a note) and a refusal form (a reason). The
"Request follow-up" button on a check's hit posts to ``/follow-ups``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from fedlookup.errors import FedlookupError, InputError
from node.desk.api.deps import CurrentAccount, CurrentInvestigator, CurrentLiaison, Principal, State
from node.desk.api.deps import principal as _principal
from node.desk.api.routes.follow_ups import incoming, sender
from node.desk.asking import FOLLOWUP_FIELDS
from node.desk.follow_ups import (
    FollowUpRequest,
    decide,
    follow_up_view,
    refresh,
    request_follow_up,
)
from node.desk.models import Role
from node.desk.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(_principal)]


@router.get("/follow-ups")
def page(request: Request, account: CurrentAccount, who: Who, state: State) -> Response:
    """The caller's follow-ups, or (liaison) the incoming queue."""
    if account.role == Role.LIAISON:
        items = [item.to_json() for item in incoming(state).incoming()]
        return render(request, "follow_ups.html", who, incoming=items, fields=FOLLOWUP_FIELDS,
                      mine=None)  # fmt: skip
    if account.role not in (Role.INVESTIGATOR, Role.SUPERVISOR):
        raise HTTPException(403, f"role {account.role} has no follow-ups")
    with state.db.session() as db:
        rows = db.exec(
            select(FollowUpRequest)
            .where(FollowUpRequest.account_id == account.id)
            .order_by(col(FollowUpRequest.created_at).desc())
        ).all()
        follow_ups = state.asker.follow_ups if state.asker else None
        views = [follow_up_view(refresh(db, follow_ups, r) if follow_ups else r) for r in rows]
    return render(request, "follow_ups.html", who, mine=views, incoming=None,
                  fields=FOLLOWUP_FIELDS)  # fmt: skip


@router.post("/follow-ups")
def ask(
    account: CurrentInvestigator,
    state: State,
    reference: Annotated[str, Form(max_length=64)],
    case: Annotated[str, Form(min_length=1, max_length=256)],
    purpose: Annotated[str, Form(min_length=1, max_length=256)],
    legal_basis: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Send a follow-up for a hit's reference, then show the list."""
    with state.db.session() as db:
        try:
            request_follow_up(db, sender(state), account, reference=reference, case_id=case,
                              purpose=purpose, legal_basis=legal_basis)  # fmt: skip
        except InputError as exc:
            raise HTTPException(422, exc.reason) from exc
    return RedirectResponse("/follow-ups", status_code=303)


@router.post("/follow-ups/incoming/{request_id}")
def decision(
    request_id: str,
    account: CurrentLiaison,
    state: State,
    decision: Annotated[str, Form(pattern="^(release|refuse)$")],
    fields: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=256)] = "",
    reason: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Release the ticked fields, or refuse with a reason."""
    try:
        decide(incoming(state), state.node, request_id, account,
               release=decision == "release", fields=fields or [], note=note,
               reason=reason)  # fmt: skip
    except InputError as exc:
        raise HTTPException(422, exc.reason) from exc
    except FedlookupError as exc:
        raise HTTPException(503, f"registry not readable: {exc}") from exc
    return RedirectResponse("/follow-ups", status_code=303)
