"""The HTTP API under ``/api/v1``: one router per resource (``routes/``)."""

from __future__ import annotations

from fastapi import APIRouter

from node.desk.api.routes import accounts, audit, cases, checks, follow_ups

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(checks.router)
api_router.include_router(cases.router)
api_router.include_router(accounts.router)
api_router.include_router(audit.router)
api_router.include_router(follow_ups.router)
