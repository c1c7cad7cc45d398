"""The HTTP API under ``/api/v1``: one router per resource (``routes/``).

A follow-up resource joins as ``routes/follow_ups.py`` with its router included here; the
liaison role's dependency (``CurrentLiaison``) is already in :mod:`node.desk.api.deps`.
"""

from __future__ import annotations

from fastapi import APIRouter

from node.desk.api.routes import accounts, audit, cases, checks

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(checks.router)
api_router.include_router(cases.router)
api_router.include_router(accounts.router)
api_router.include_router(audit.router)
