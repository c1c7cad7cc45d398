"""Accounts, tokens and sessions: who is at the desk, and the audit trail of how they got in.

Every login, failed login, lockout, logout, account creation, token and role change is a
:class:`~node.desk.models.DeskEvent` row (shown on the auditor page). Lockout is per
account (``max_failures`` failures in a row lock it for ``lockout_minutes``); the rate limit
is per client address (``login_per_minute`` failures a minute), both counted in the
database so that every replica enforces the same limits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from fedlookup.errors import FedlookupError, InputError
from node.desk import security
from node.desk.models import Account, ApiToken, DeskEvent, Role, WebSession, utcnow
from node.desk.settings import DeskSettings

__all__ = [
    "LockedError",
    "RateLimitedError",
    "add_token",
    "add_user",
    "authenticate",
    "change_role",
    "end_session",
    "record",
    "session_account",
    "start_session",
    "token_account",
]

# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = security.hash_password("not a password of anyone")


class LockedError(FedlookupError):
    """The account is locked after too many failed logins."""


class RateLimitedError(FedlookupError):
    """Too many failed logins from one address: wait a minute."""


def record(
    db: Session,
    kind: str,
    *,
    account: str = "",
    actor: str = "",
    address: str = "",
    detail: str = "",
) -> None:
    """Append an event to the desk's audit trail (committed with the caller's session)."""
    db.add(DeskEvent(kind=kind, account=account, actor=actor, address=address, detail=detail))


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {role!r}; one of {allowed}", field="--role") from None


def _name(name: str) -> str:
    cleaned = name.strip()
    if (
        not cleaned
        or len(cleaned) > 64
        or not cleaned.replace("-", "").replace(".", "").replace("_", "").isalnum()
    ):
        raise InputError("1 to 64 letters, digits, '.', '-' or '_'", field="NAME")
    return cleaned


def add_user(
    db: Session,
    name: str,
    role: str,
    *,
    password: str | None = None,
    team: str = "",
    totp: bool = False,
    actor: str = "cli",
) -> tuple[Account, str, str | None]:
    """Create an account with a password (and a TOTP secret when ``totp``).

    Returns:
        The account, its password (the given one, or a new one-time password) and the
        TOTP secret (or ``None``).

    Raises:
        InputError: bad name or role, an empty password, or the name is taken.
    """
    name, checked = _name(name), _role(role)
    if db.exec(select(Account).where(Account.name == name)).first() is not None:
        raise InputError(f"account {name!r} exists", field="NAME")
    password = security.new_password() if password is None else password
    if len(password) < 12:
        raise InputError("a password has at least 12 characters", field="password")
    secret = security.new_totp_secret() if totp else None
    account = Account(
        name=name,
        role=checked.value,
        team=team,
        password_hash=security.hash_password(password),
        totp_secret=secret,
    )
    db.add(account)
    record(db, "account_added", account=name, actor=actor, detail=f"role={checked.value}")
    db.flush()
    return account, password, secret


def add_token(db: Session, name: str, role: str, *, actor: str = "cli") -> str:
    """A new bearer token for ``name`` (the account is created, without password, if new).

    Raises:
        InputError: bad name or role, or the account exists under another role.
    """
    name, checked = _name(name), _role(role)
    account = db.exec(select(Account).where(Account.name == name)).first()
    if account is None:
        account = Account(name=name, role=checked.value)
        db.add(account)
        record(db, "account_added", account=name, actor=actor, detail=f"role={checked.value}")
        db.flush()
    elif account.role != checked.value:
        raise InputError(f"account {name!r} has role {account.role}", field="--role")
    token = security.new_secret()
    assert account.id is not None
    db.add(ApiToken(account_id=account.id, token_hash=security.secret_hash(token)))
    record(db, "token_added", account=name, actor=actor)
    return token


def authenticate(
    db: Session,
    settings: DeskSettings,
    name: str,
    password: str,
    code: str = "",
    *,
    address: str = "",
) -> Account:
    """Check a login; count failures, lock and rate-limit; record the outcome.

    Raises:
        RateLimitedError: too many failures from ``address`` in the last minute.
        LockedError: the account is locked.
        AuthenticationError: wrong name, password or one-time code.
    """
    now = utcnow()
    recent = db.exec(
        select(func.count())
        .select_from(DeskEvent)
        .where(DeskEvent.kind == "login_failed", DeskEvent.address == address)
        .where(col(DeskEvent.at) > now - timedelta(minutes=1))
    ).one()
    if recent >= settings.login_per_minute:
        record(db, "login_rate_limited", account=name[:64], address=address)
        db.commit()  # the record stays, whatever the caller does with the error
        raise RateLimitedError("too many failed logins from this address; wait a minute")
    account = db.exec(select(Account).where(Account.name == name)).first()
    if account is not None and account.locked_until is not None and account.locked_until > now:
        record(db, "login_locked", account=account.name, address=address)
        db.commit()
        raise LockedError("this account is locked after failed logins; try again later")
    try:
        if account is None or account.password_hash is None or not account.active:
            security.verify_password(_DUMMY_HASH, password + "\0")
            raise security.AuthenticationError("wrong name or password")
        security.verify_password(account.password_hash, password)
        if account.totp_secret:
            security.verify_totp(account.totp_secret, code)
    except security.AuthenticationError:
        record(db, "login_failed", account=name[:64], address=address)
        if account is not None:
            account.failures += 1
            if account.failures >= settings.max_failures:
                account.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                account.failures = 0
                record(db, "account_locked", account=account.name, address=address)
            db.add(account)
        db.commit()
        raise
    if security.password_needs_rehash(account.password_hash):
        account.password_hash = security.hash_password(password)
    account.failures = 0
    account.locked_until = None
    db.add(account)
    record(db, "login", account=account.name, address=address)
    return account


def token_account(db: Session, token: str) -> Account:
    """The active account a bearer token belongs to.

    Raises:
        AuthenticationError: unknown token or inactive account.
    """
    row = db.exec(
        select(Account)
        .join(ApiToken, col(ApiToken.account_id) == col(Account.id))
        .where(ApiToken.token_hash == security.secret_hash(token))
    ).first()
    if row is None or not row.active:
        raise security.AuthenticationError("unknown token")
    return row


def start_session(db: Session, account: Account, hours: float) -> tuple[str, WebSession]:
    """A new console session; returns the cookie value and the stored row."""
    # Housekeeping at each login: expired sessions go (no timer needed on any replica).
    db.execute(delete(WebSession).where(col(WebSession.expires_at) <= utcnow()))
    secret = security.new_secret()
    assert account.id is not None
    row = WebSession(
        id=security.secret_hash(secret),
        account_id=account.id,
        csrf=security.new_secret(),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    db.add(row)
    return secret, row


def session_account(db: Session, cookie: str) -> tuple[Account, WebSession]:
    """The account and session behind a session cookie.

    Raises:
        AuthenticationError: unknown or expired session, inactive account.
    """
    row = db.get(WebSession, security.secret_hash(cookie))
    if row is None or row.expires_at <= utcnow():
        raise security.AuthenticationError("not logged in")
    account = db.get(Account, row.account_id)
    if account is None or not account.active:
        raise security.AuthenticationError("not logged in")
    return account, row


def end_session(db: Session, session: WebSession, account: Account, address: str = "") -> None:
    """Log out: the session row is deleted, the logout recorded."""
    db.delete(session)
    record(db, "logout", account=account.name, address=address)


def change_role(db: Session, name: str, role: str, *, actor: str) -> Account:
    """Give ``name`` another role (recorded with who did it, and the old and new role).

    Raises:
        InputError: unknown account or role.
    """
    checked = _role(role)
    account = db.exec(select(Account).where(Account.name == name)).first()
    if account is None:
        raise InputError(f"no account {name!r}", field="name")
    old = account.role
    account.role = checked.value
    db.add(account)
    record(db, "role_changed", account=name, actor=actor, detail=f"{old} -> {checked.value}")
    return account
