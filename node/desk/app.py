"""The desk's ASGI application: API, console pages, static files, security headers.

:func:`create_app` builds it over a :class:`~node.desk.api.deps.DeskState`; nothing in it
keeps state between requests (sessions, uploads and checks are rows), so any number of
replicas may serve behind a load balancer.

Every response carries a Content-Security-Policy without inline scripts or styles
(``default-src 'self'``), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
no-referrer`` and framing denied; HTTPS responses add HSTS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import fedlookup
from node.desk.api.deps import DeskState, LoginRequired
from node.desk.api.main import api_router
from node.desk.api.routes.checks import unprocessable
from node.desk.web import checks, follow_ups, pages, review
from node.desk.web.render import render

__all__ = ["CSP", "create_app"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(state: DeskState) -> FastAPI:
    """The desk application over ``state``."""
    app = FastAPI(
        title="fedlookup desk",
        version=fedlookup.__version__,
        description="Hit/no-hit checks at the federation, for investigators and their systems.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.desk = state
    app.include_router(api_router)
    app.include_router(pages.router)
    app.include_router(checks.router)
    app.include_router(review.router)
    app.include_router(follow_ups.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), "static")

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        if state.settings.https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return unprocessable([_row_error(e) for e in exc.errors()])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        return render(request, "error.html", None, message=str(exc.detail),
                      status_code=exc.status_code)  # fmt: skip

    return app


def _row_error(error: Any) -> dict[str, Any]:
    """A pydantic error as ``{"row", "field", "message", "loc"}`` (row 1-based, or null)."""
    loc = [p for p in error.get("loc", ())]
    row = None
    if len(loc) >= 3 and loc[:2] == ["body", "firearms"] and isinstance(loc[2], int):
        row = loc[2] + 1
    fields = [p for p in loc if isinstance(p, str) and p != "body"]
    return {"row": row, "field": fields[-1] if fields else "", "message": error.get("msg", ""),
            "loc": loc}  # fmt: skip
