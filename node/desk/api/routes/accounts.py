"""``/api/v1/me`` and ``/api/v1/accounts``: who am I, and (operators) who is who."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from fedlookup.errors import InputError
from node.desk import accounts
from node.desk.api.deps import CurrentAccount, CurrentOperator, DbSession, State
from node.desk.models import Account

__all__ = ["account_view", "router"]

router = APIRouter(tags=["accounts"])


def account_view(account: Account) -> dict[str, Any]:
    """An account as the API shows it (never its secrets)."""
    return {
        "name": account.name,
        "role": account.role,
        "team": account.team,
        "totp": account.totp_secret is not None,
        "active": account.active,
        "locked": account.locked_until is not None,
    }


@router.get("/me", responses={401: {}})
def me(account: CurrentAccount, state: State) -> Any:
    """The caller's account, and what is left of today's budget."""
    used = state.queue.used_today(account)
    return {
        **account_view(account),
        "items_per_day": state.settings.items_per_day,
        "items_used_today": used,
        "approval_above": state.settings.approval_above,
    }


@router.get("/accounts", responses={401: {}, 403: {}})
def list_accounts(account: CurrentOperator, db: DbSession) -> Any:
    """Every account (operators)."""
    return [account_view(a) for a in db.exec(select(Account).order_by(col(Account.name))).all()]


class RoleChange(BaseModel):
    """A new role for an account."""

    model_config = ConfigDict(extra="forbid")
    role: str


@router.put("/accounts/{name}/role", responses={401: {}, 403: {}, 422: {}})
def set_role(name: str, change: RoleChange, account: CurrentOperator, db: DbSession) -> Any:
    """Give an account another role (recorded in the desk's audit trail)."""
    try:
        changed = accounts.change_role(db, name, change.role, actor=account.name)
    except InputError as exc:
        raise HTTPException(422, exc.reason) from exc
    return account_view(changed)
