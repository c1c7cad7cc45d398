"""Rendering console pages: the template environment, the language, the CSRF token."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from node.desk.api.deps import DeskState, Principal
from node.desk.i18n import pick_language, translate

__all__ = ["language", "render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


def language(request: Request) -> str:
    """The request's language (see :func:`node.desk.i18n.pick_language`)."""
    state: DeskState = request.app.state.desk
    return pick_language(
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
        state.settings.language,
    )


def render(
    request: Request,
    template: str,
    who: Principal | None = None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from ``templates/<template>`` with ``t``, ``lang``, ``account`` and ``csrf`` set."""
    lang = language(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "t": partial(translate, lang),
            "lang": lang,
            "account": who.account if who else None,
            "csrf": who.session.csrf if who and who.session else "",
            **context,
        },
        status_code=status_code,
    )
