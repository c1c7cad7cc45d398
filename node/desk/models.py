"""The desk's tables (SQLModel): accounts, tokens, sessions, checks, uploads, events.

The web tier keeps nothing in memory that another replica would need: a session, a pending
upload, a check and its progress all live in these tables, so several desk processes can
share one PostgreSQL database behind a load balancer. Times are UTC.

Plaintext serials exist here in two places only, both needed to show an investigator their
own results: ``DeskCheck.firearms`` and ``DeskCheck.result`` (and a pending ``Upload``,
deleted once sent). They never go to a peer or into a log.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "Account",
    "ApiToken",
    "CheckStatus",
    "DeskCheck",
    "DeskEvent",
    "Role",
    "Upload",
    "WebSession",
    "utcnow",
]


def utcnow() -> datetime:
    """Now, in UTC (SQLModel stores aware datetimes as UTC)."""
    return datetime.now(UTC)


class Role(enum.StrEnum):
    """What an account may do at the desk (``docs/desk.md`` has the table)."""

    #: Runs checks, sees their own cases.
    INVESTIGATOR = "investigator"
    #: Runs checks, approves large batches, sees the team's cases.
    SUPERVISOR = "supervisor"
    #: Handles incoming follow-up requests (the follow-up routes).
    LIAISON = "liaison"
    #: Manages accounts and roles.
    OPERATOR = "operator"
    #: Reads the audit view; cannot check.
    AUDITOR = "auditor"


#: Roles that may run a check.
CHECKING_ROLES = frozenset({Role.INVESTIGATOR, Role.SUPERVISOR})


class CheckStatus(enum.StrEnum):
    """Where a check is in its life."""

    AWAITING_APPROVAL = "awaiting_approval"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"


class Account(SQLModel, table=True):
    """A person (or a case-management system) known to the desk."""

    __tablename__ = "desk_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(max_length=16)
    team: str = Field(default="", max_length=64)
    password_hash: str | None = None
    totp_secret: str | None = None
    failures: int = 0
    locked_until: datetime | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def pseudonym(self) -> str:
        """The name written into signed statements: the account name, never a form field."""
        return self.name


class ApiToken(SQLModel, table=True):
    """A bearer token (only its SHA-256 is stored)."""

    __tablename__ = "desk_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="desk_account.id", index=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class WebSession(SQLModel, table=True):
    """A console session (the cookie holds the secret; only its SHA-256 is stored)."""

    __tablename__ = "desk_session"

    id: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(foreign_key="desk_account.id", index=True)
    csrf: str = Field(max_length=64)
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)


class DeskCheck(SQLModel, table=True):
    """One check submitted at the desk, its progress and its result document."""

    __tablename__ = "desk_check"

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="desk_account.id", index=True)
    case_id: str = Field(index=True, max_length=128)
    purpose: str
    legal_basis: str = ""
    status: str = Field(index=True, max_length=24)
    items: int
    done: int = 0
    firearms: str = Field(sa_column=Column(Text, nullable=False))
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str = ""
    source: str = ""
    approved_by: int | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None


class Upload(SQLModel, table=True):
    """A list uploaded for preview, waiting for the investigator's confirmation."""

    __tablename__ = "desk_upload"

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="desk_account.id", index=True)
    filename: str
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class DeskEvent(SQLModel, table=True):
    """The desk's own audit trail: logins, failures, lockouts, role changes, approvals."""

    __tablename__ = "desk_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(index=True, max_length=32)
    account: str = Field(default="", max_length=64)
    actor: str = Field(default="", max_length=64)
    address: str = Field(default="", index=True, max_length=64)
    detail: str = ""
