"""The one canonical JSON encoding of every signed or hashed audit object.

Canonical form: UTF-8, object keys sorted, no whitespace, integers only (no floats), strings
escaped as :func:`json.dumps` does with ``ensure_ascii=False``. Parsing is strict: the bytes
must re-encode to exactly themselves, so an object has one and only one byte form. See
``docs/adr/0003-audit-encoding.md``.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from fedlookup.errors import VerificationError

__all__ = ["b64", "canonical_bytes", "format_time", "parse_canonical", "parse_time", "unb64"]

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _reject_float(value: str) -> Any:
    raise ValueError(f"floating point number {value} is not allowed")


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    """Encode ``obj`` canonically.

    Raises:
        ValueError: ``obj`` holds a float or a non-JSON value.
    """

    def check(value: Any) -> None:
        if isinstance(value, float):
            raise ValueError("floating point numbers are not allowed")
        if isinstance(value, dict):
            for v in value.values():
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)

    check(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_canonical(data: bytes, what: str) -> dict[str, Any]:
    """Parse canonical JSON bytes into an object, refusing any other byte form.

    Raises:
        VerificationError: not UTF-8, not JSON, not an object, or not canonical.
    """
    try:
        obj = json.loads(data.decode("utf-8"), parse_float=_reject_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise VerificationError(f"{what}: not canonical JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise VerificationError(f"{what}: not a JSON object")
    try:
        again = canonical_bytes(obj)
    except ValueError as exc:  # lone surrogates cannot be re-encoded
        raise VerificationError(f"{what}: not canonical JSON ({exc})") from exc
    if again != data:
        raise VerificationError(f"{what}: not in canonical form")
    return obj


def b64(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, what: str) -> bytes:
    """Decode canonical standard base64 (re-encoding must match).

    Raises:
        VerificationError: not a string, or not canonical base64.
    """
    if not isinstance(text, str):
        raise VerificationError(f"{what}: expected a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise VerificationError(f"{what}: invalid base64") from exc
    if b64(raw) != text:
        raise VerificationError(f"{what}: non-canonical base64")
    return raw


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-11-22T00:10:00.123Z``."""
    if when.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(text: Any, what: str) -> datetime:
    """Parse a timestamp written by :func:`format_time`.

    Raises:
        VerificationError: any other form.
    """
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise VerificationError(f"{what}: timestamp must look like 2026-01-31T12:00:00.000Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise VerificationError(f"{what}: invalid timestamp {text}") from exc
