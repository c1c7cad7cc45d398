"""Who is asking, and what their role lets them do: FastAPI dependencies.

Authentication is a bearer token (``Authorization: Bearer ...``) or a console session
cookie; with the cookie, a request that changes something must also carry the session's
CSRF token (``X-CSRF-Token`` header, or the ``csrf`` form field on console pages).

* no or unknown credentials: ``401`` (API) or a redirect to ``/login`` (console);
* a role that may not do this: ``403``.

Routes declare what they need by type: ``account: CurrentInvestigator`` runs the check
for roles that may run checks; ``CurrentSupervisor``, ``CurrentOperator``,
``CurrentAuditor`` and ``CurrentLiaison`` likewise.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from node.desk import accounts
from node.desk.asking import Asker, FollowUpStore, NodeConfig
from node.desk.db import DeskDatabase
from node.desk.jobs import CheckQueue
from node.desk.models import CHECKING_ROLES, Account, Role, WebSession
from node.desk.security import AuthenticationError
from node.desk.settings import DeskSettings

__all__ = [
    "CurrentAccount",
    "CurrentAuditor",
    "CurrentInvestigator",
    "CurrentLiaison",
    "CurrentOperator",
    "CurrentSupervisor",
    "DbSession",
    "DeskState",
    "LoginRequired",
    "Principal",
    "State",
    "cookie_name",
    "may_see",
    "principal",
]


@dataclass
class DeskState:
    """What every request may use: settings, database, queue, the node's configuration."""

    settings: DeskSettings
    db: DeskDatabase
    queue: CheckQueue
    node: NodeConfig
    asks: bool = False
    #: The node's asking credentials, held by the desk that owns the outgoing log.
    asker: Asker | None = None
    #: The node's queue of follow-ups received from peers.
    incoming: FollowUpStore | None = None


class LoginRequired(Exception):
    """A console page needs a logged-in account (the app redirects to ``/login``)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated account and, for a console session, the session row."""

    account: Account
    session: WebSession | None = None


def _state(request: Request) -> DeskState:
    state: DeskState = request.app.state.desk
    return state


State = Annotated[DeskState, Depends(_state)]


def _db(state: State) -> Iterator[Session]:
    with state.db.session() as session:
        yield session


DbSession = Annotated[Session, Depends(_db)]


def cookie_name(settings: DeskSettings) -> str:
    """The session cookie's name (``__Host-`` prefixed over HTTPS, as browsers require)."""
    return "__Host-desk" if settings.https else "desk_session"


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def principal(request: Request, state: State) -> Principal:
    """The caller, from a bearer token or a session cookie (with CSRF on changes).

    Raises:
        HTTPException: 401 for an API call without valid credentials (or without the CSRF
            token a cookie session needs to change something).
        LoginRequired: the same, for a console page.
    """
    api = request.url.path.startswith("/api/")
    header = request.headers.get("authorization", "")
    with state.db.session() as db:
        try:
            if header.lower().startswith("bearer "):
                return Principal(accounts.token_account(db, header[7:].strip()))
            cookie = request.cookies.get(cookie_name(state.settings))
            if not cookie:
                raise AuthenticationError("not logged in")
            account, session = accounts.session_account(db, cookie)
        except AuthenticationError:
            if api:
                raise HTTPException(
                    401, "authentication required", headers={"WWW-Authenticate": "Bearer"}
                ) from None
            raise LoginRequired() from None
    if request.method in _UNSAFE:
        sent = request.headers.get("x-csrf-token", "")
        if not sent and not api:
            form = await request.form()
            sent = str(form.get("csrf", ""))
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise HTTPException(403, "missing or wrong CSRF token")
    return Principal(account, session)


CurrentPrincipal = Annotated[Principal, Depends(principal)]


def _account(who: CurrentPrincipal) -> Account:
    return who.account


CurrentAccount = Annotated[Account, Depends(_account)]


def _require(roles: frozenset[Role], what: str) -> Callable[[Account], Account]:
    def check(account: CurrentAccount) -> Account:
        if account.role not in roles:
            raise HTTPException(403, f"role {account.role} may not {what}")
        return account

    return check


CurrentInvestigator = Annotated[Account, Depends(_require(CHECKING_ROLES, "run checks"))]
CurrentSupervisor = Annotated[
    Account, Depends(_require(frozenset({Role.SUPERVISOR}), "approve checks"))
]
CurrentOperator = Annotated[
    Account, Depends(_require(frozenset({Role.OPERATOR}), "manage accounts"))
]
CurrentAuditor = Annotated[
    Account, Depends(_require(frozenset({Role.AUDITOR}), "read the audit view"))
]
CurrentLiaison = Annotated[
    Account, Depends(_require(frozenset({Role.LIAISON}), "handle follow-ups"))
]


def may_see(viewer: Account, owner: Account) -> bool:
    """Whether ``viewer`` may see checks of ``owner``: their own, or their team's as supervisor."""
    if viewer.id == owner.id:
        return True
    return viewer.role == Role.SUPERVISOR and bool(viewer.team) and viewer.team == owner.team
