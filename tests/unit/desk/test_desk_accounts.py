"""Accounts on a real database (SQLite, and PostgreSQL when one is named): lockout, rate
limit, tokens, sessions, role changes, budgets; every event recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from fedlookup.errors import InputError
from node.desk import accounts
from node.desk.db import DeskDatabase
from node.desk.jobs import BudgetExceededError, CheckQueue
from node.desk.models import DeskEvent
from node.desk.security import AuthenticationError
from node.desk.settings import DeskSettings

SETTINGS = DeskSettings(max_failures=2, lockout_minutes=5, login_per_minute=4,
                        items_per_day=10, approval_above=5)  # fmt: skip
PASSWORD = "a long enough password"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeskDatabase]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    database = DeskDatabase(url)
    yield database
    database.close()


def _kinds(db: DeskDatabase) -> list[str]:
    with db.session() as s:
        return [e.kind for e in s.exec(select(DeskEvent).order_by(DeskEvent.id)).all()]


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    DeskDatabase(f"sqlite:///{tmp_path / 'd.sqlite3'}").close()
    assert (tmp_path / "d.sqlite3").stat().st_mode & 0o777 == 0o600


def test_login_lockout_and_events(db: DeskDatabase) -> None:
    with db.session() as s:
        accounts.add_user(s, "ida", "investigator", password=PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthenticationError), db.session() as s:
            accounts.authenticate(s, SETTINGS, "ida", "wrong", address="127.0.0.1")
    with pytest.raises(accounts.LockedError), db.session() as s:
        accounts.authenticate(s, SETTINGS, "ida", PASSWORD, address="127.0.0.1")
    assert _kinds(db) == ["account_added", "login_failed", "login_failed", "account_locked",
                          "login_locked"]  # fmt: skip


def test_rate_limit_per_address(db: DeskDatabase) -> None:
    for _ in range(4):
        with pytest.raises(AuthenticationError), db.session() as s:
            accounts.authenticate(s, SETTINGS, "nobody", "x", address="127.0.0.9")
    with pytest.raises(accounts.RateLimitedError), db.session() as s:
        accounts.authenticate(s, SETTINGS, "nobody", "x", address="127.0.0.9")
    with pytest.raises(AuthenticationError), db.session() as s:  # another address is not limited
        accounts.authenticate(s, SETTINGS, "nobody", "x", address="127.0.0.10")


def test_totp_account_needs_the_code(db: DeskDatabase) -> None:
    from node.desk.security import totp_code

    with db.session() as s:
        _, _, secret = accounts.add_user(s, "sam", "supervisor", password=PASSWORD, totp=True)
    assert secret is not None
    with pytest.raises(AuthenticationError), db.session() as s:
        accounts.authenticate(s, SETTINGS, "sam", PASSWORD, "000000")
    with db.session() as s:
        assert accounts.authenticate(s, SETTINGS, "sam", PASSWORD, totp_code(secret)).name == "sam"


def test_tokens_sessions_and_roles(db: DeskDatabase) -> None:
    with db.session() as s:
        token = accounts.add_token(s, "cms", "investigator")
        with pytest.raises(InputError, match="has role investigator"):
            accounts.add_token(s, "cms", "auditor")
    with db.session() as s:
        account = accounts.token_account(s, token)
        cookie, _ = accounts.start_session(s, account, 1)
    with db.session() as s:
        found, session = accounts.session_account(s, cookie)
        assert found.name == "cms"
        accounts.change_role(s, "cms", "auditor", actor="otto")
        accounts.end_session(s, session, found)
    with pytest.raises(AuthenticationError), db.session() as s:
        accounts.session_account(s, cookie)
    with pytest.raises(AuthenticationError), db.session() as s:
        accounts.token_account(s, "not-a-token")
    assert "role_changed" in _kinds(db)
    assert "logout" in _kinds(db)


def test_bad_names_roles_and_passwords(db: DeskDatabase) -> None:
    with db.session() as s:
        for name, role, password in (
            ("a b", "investigator", PASSWORD),
            ("ida", "wizard", PASSWORD),
            ("ida", "auditor", "short"),
        ):
            with pytest.raises(InputError):
                accounts.add_user(s, name, role, password=password)


def test_budget_and_approval(db: DeskDatabase) -> None:
    queue = CheckQueue(db, SETTINGS)
    with db.session() as s:
        ida, _, _ = accounts.add_user(s, "ida", "investigator", password=PASSWORD)
    small = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                         firearms=[("Glock", "ABC123")] * 4)  # fmt: skip
    large = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                         firearms=[("Glock", "ABC123")] * 6)  # fmt: skip
    assert (small.status, large.status) == ("queued", "awaiting_approval")
    assert queue.used_today(ida) == 10
    with pytest.raises(BudgetExceededError, match="0 of 10"):
        queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                     firearms=[("Glock", "ABC123")])  # fmt: skip
    queue.decide(large.id, ida, approve=False)
    assert queue.used_today(ida) == 4  # a rejected batch costs nothing
