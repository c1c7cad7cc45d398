"""Console pages of every user: log in, log out, language, home (new check, budget)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from fedlookup.errors import FedlookupError
from node.desk import accounts
from node.desk.api.deps import DeskState, Principal, State, cookie_name, principal
from node.desk.models import CHECKING_ROLES, DeskCheck, Role
from node.desk.settings import LANGUAGES
from node.desk.web.render import render

__all__ = ["client_address", "router"]

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(principal)]


def client_address(request: Request) -> str:
    """The caller's address (the peer of the connection; a proxy's own header is not trusted)."""
    return request.client.host if request.client else ""


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form."""
    return render(request, "login.html")


@router.post("/login")
def login(
    request: Request,
    state: State,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check the credentials; on success start a session (cookie) and go home."""
    address = client_address(request)
    failure: str | None = None
    with state.db.session() as db:
        try:
            account = accounts.authenticate(db, state.settings, name, password, code,
                                            address=address)  # fmt: skip
            secret, _ = accounts.start_session(db, account, state.settings.session_hours)
        except accounts.RateLimitedError:
            failure = "login.rate_limited"
        except accounts.LockedError:
            failure = "login.locked"
        except FedlookupError:
            failure = "login.failed"
    if failure is not None:
        status = 429 if failure == "login.rate_limited" else 401
        return render(request, "login.html", error=failure, name=name, status_code=status)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        cookie_name(state.settings),
        secret,
        max_age=int(state.settings.session_hours * 3600),
        httponly=True,
        secure=state.settings.https,
        samesite="strict",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, who: Who, state: State) -> Response:
    """End the session."""
    if who.session is not None:
        with state.db.session() as db:
            row = db.merge(who.session)
            accounts.end_session(db, row, who.account, client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(cookie_name(state.settings), path="/")
    return response


@router.get("/lang/{code}")
def set_language(code: str, request: Request, next: str = "/") -> Response:
    """Switch the console's language (a cookie), back to the page it came from."""
    # Only a path of this site: never an absolute or scheme-relative URL (open redirect).
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="strict",
                            secure=_https(request))  # fmt: skip
    return response


def _https(request: Request) -> bool:
    state: DeskState = request.app.state.desk
    return state.settings.https


@router.get("/")
def home(request: Request, who: Who, state: State) -> Response:
    """Home: new check (one firearm, or a list) and the latest checks, by role."""
    account = who.account
    if account.role == Role.AUDITOR:
        return RedirectResponse("/audit", status_code=303)
    if account.role == Role.OPERATOR:
        return RedirectResponse("/accounts", status_code=303)
    with state.db.session() as db:
        recent = db.exec(
            select(DeskCheck)
            .where(DeskCheck.account_id == account.id)
            .order_by(col(DeskCheck.created_at).desc())
            .limit(20)
        ).all()
    return render(
        request,
        "home.html",
        who,
        can_check=account.role in CHECKING_ROLES,
        recent=recent,
        used=state.queue.used_today(account),
        budget=state.settings.items_per_day,
        approval_above=state.settings.approval_above,
    )
