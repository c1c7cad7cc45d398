"""``/api/v1/cases/{case}``: every check under a case that the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, col, select

from node.desk.api.deps import CurrentAccount, DbSession, may_see
from node.desk.api.routes.checks import check_view
from node.desk.models import Account, DeskCheck

__all__ = ["case_checks", "router"]

router = APIRouter(prefix="/cases", tags=["cases"])


def case_checks(db: Session, viewer: Account, case_id: str) -> list[tuple[DeskCheck, Account]]:
    """The checks under ``case_id`` that ``viewer`` may see, oldest first."""
    rows = db.exec(
        select(DeskCheck, Account)
        .join(Account, col(Account.id) == col(DeskCheck.account_id))
        .where(DeskCheck.case_id == case_id)
        .order_by(col(DeskCheck.created_at))
    ).all()
    return [(c, owner) for c, owner in rows if may_see(viewer, owner)]


@router.get("/{case_id}", responses={401: {}})
def get_case(case_id: str, account: CurrentAccount, db: DbSession) -> Any:
    """The case's checks with their results."""
    return {
        "case": case_id,
        "checks": [check_view(c, owner) for c, owner in case_checks(db, account, case_id)],
    }
