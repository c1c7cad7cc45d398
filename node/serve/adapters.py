"""Node wiring that belongs to no protocol role: the directory-change audit hook.

:func:`on_directory_change` is the :class:`~federation.directory_watch.DirectoryWatcher`
callback that logs each adopted directory in the node's audit log before it takes effect.
The responder's ports are wired in :mod:`node.serve.service` straight from ``federation``
(:class:`~federation.trail.ResponderTrail`, :class:`~federation.evaluation.Evaluator`, the
watcher itself as the directory).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from audit.entries import LogEntry
from audit.log import AuditLog
from federation.directory_model import Directory

__all__ = ["on_directory_change"]

_log = logging.getLogger("fedlookup.node")


def on_directory_change(log: AuditLog) -> Callable[[Directory | None, Directory], None]:
    """The watcher callback that logs each adopted directory before it takes effect."""

    def record(old: Directory | None, new: Directory) -> None:
        digest = hashlib.sha256(new.canonical()).hexdigest()
        log.append(LogEntry.directory_change(new.version, digest))
        _log.info(
            "federation directory adopted",
            extra={"event": "directory", "version": new.version, "previous": old and old.version},
        )

    return record
