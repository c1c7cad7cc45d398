"""The console's message catalogue: one JSON file per language in ``node/desk/messages``.

Every text a page shows comes from the catalogue through ``t("key")`` in the templates;
a key missing from a language falls back to English, and a test checks that every language
has every English key. The language is the ``lang`` cookie (set by the language links),
else the browser's ``Accept-Language``, else ``[desk] language``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from node.desk.settings import LANGUAGES

__all__ = ["catalogue", "pick_language", "translate"]

_DIR = Path(__file__).with_name("messages")


@cache
def catalogue(language: str) -> dict[str, str]:
    """The messages of ``language`` (English when unknown)."""
    name = language if language in LANGUAGES else "en"
    data: dict[str, str] = json.loads((_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


def translate(language: str, key: str, **values: object) -> str:
    """The message ``key`` in ``language`` with ``{name}`` fields filled in."""
    text = catalogue(language).get(key) or catalogue("en").get(key) or key
    return text.format(**values) if values else text


def pick_language(cookie: str | None, accept: str | None, default: str) -> str:
    """The language of a request: cookie, then ``Accept-Language``, then the default."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default
