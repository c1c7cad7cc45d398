"""Small file helpers: atomic writes and the log's ``meta.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fedlookup.errors import AuditError
from fedlookup.files import write_atomic

__all__ = ["atomic_write", "read_meta"]


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename (never half-written)."""
    write_atomic(path, data, mode=mode)


def read_meta(directory: Path) -> dict[str, Any] | None:
    """Return the log's ``meta.json``, or None for a new log.

    Raises:
        AuditError: present but unreadable.
    """
    path = directory / "meta.json"
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AuditError(f"{path}: unreadable: {exc}") from exc
    if not isinstance(meta, dict):
        raise AuditError(f"{path}: not a JSON object")
    return meta
