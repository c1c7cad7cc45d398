"""Structured logs of a node: readable text or one JSON object per line.

Every record carries its ``extra`` fields (``event``, ``peer``, ``method``, ``reason``,
``detail``, ``request_id`` ...) so a log collector can filter refusals by reason. The node
never logs a plaintext serial: the fields logged are peers, request ids, counts and reason
texts built by fedlookup itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

__all__ = [
    "HANDSHAKE_LISTENERS",
    "JsonFormatter",
    "TextFormatter",
    "capture_native_log",
    "configure_logging",
    "native_level",
    "quiet_native_log",
]

#: Called with a reason code for each handshake grpc refused (the node's metrics hook in).
HANDSHAKE_LISTENERS: list[Callable[[str], None]] = []
_HANDSHAKE = re.compile(r"Handshake failed with (?:fatal )?error \w+: (?P<detail>.*)$")
_handshake_log = logging.getLogger("fedlookup.node.identity")
_native_log = logging.getLogger("fedlookup.grpc")

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message`` and extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as a JSON line."""
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, sort_keys=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as one line of text (plus a traceback if any)."""
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        extras = " ".join(
            f"{k}={v!r}" if " " in str(v) else f"{k}={v}" for k, v in _extras(record).items()
        )
        line = f"{when[:23]}Z {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def configure_logging(
    fmt: str = "text", level: str = "info", stream: IO[str] | None = None
) -> None:
    """Send fedlookup's logs to ``stream`` (default stderr) in ``fmt``.

    Args:
        fmt: ``text`` or ``json``.
        level: ``debug``, ``info``, ``warning`` or ``error``.
        stream: where to write.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


# grpc's own lines: "<I|W|E|F><mmdd> <time> <thread> <file>:<line>] message".
_NATIVE = re.compile(r"^(?P<severity>[IWEF])\d{4} ")
_SEVERITY = {"I": logging.DEBUG, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
# Lines grpc prints because this module asked it for INFO (to see handshake failures):
# true, but about our own setting, so not worth an operator's attention.
_SELF_INFLICTED = (
    "Log level INFO is not suitable for production",
    "All log messages before absl::InitializeLog() is called",
)


def native_level(line: str) -> int:
    """The Python logging level of one grpc native log line.

    grpc is run at INFO only so the node sees why a TLS handshake failed; everything else
    it says at INFO is routed to DEBUG, warnings and errors keep their level, and the lines
    about that INFO setting itself are DEBUG. So a node at ``log_level = "info"`` shows only
    grpc's warnings and errors.
    """
    if any(noise in line for noise in _SELF_INFLICTED):
        return logging.DEBUG
    match = _NATIVE.match(line)
    if match is None:
        return logging.WARNING  # an unrecognised line on stderr: show it
    return _SEVERITY[match.group("severity")]


def quiet_native_log() -> None:
    """Keep grpc's native log off a command-line user's terminal (a check, a status).

    Outcomes already say why a peer was unavailable; grpc's own lines would only repeat it
    in its words. Must run before the first channel is created. ``GRPC_VERBOSITY`` set in
    the environment still wins.
    """
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")


def _pump(read_fd: int) -> None:
    with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
        for raw in lines:
            line = raw.rstrip("\n")
            match = _HANDSHAKE.search(line)
            if match:
                # The caller sees only "Socket closed"; this line is the one place that
                # says why (expired, unknown issuer, wrong usage, ...).
                _handshake_log.warning(
                    "refused caller at the TLS handshake",
                    extra={
                        "event": "refused",
                        "reason": "TLSHandshakeError",
                        "detail": match.group("detail"),
                    },
                )
                for listener in list(HANDSHAKE_LISTENERS):
                    listener("TLSHandshakeError")
            elif line.strip():
                _native_log.log(native_level(line), line)


def capture_native_log() -> IO[str]:
    """Route grpc's native log lines into Python logging, and turn on the one that matters.

    grpc's TLS layer refuses a bad client certificate before any Python code runs and logs
    the reason only through its native logger, at INFO. This raises grpc's verbosity to INFO
    (it must happen before the first server is created), sends file descriptor 2 through a
    pipe, and re-emits each line as a log record: a failed handshake becomes a structured
    ``refused`` record with the TLS reason. Call once, early, in a node process only.

    Returns:
        A text stream on the original standard error, for :func:`configure_logging`.
    """
    os.environ.setdefault("GRPC_VERBOSITY", "INFO")
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    stream = os.fdopen(original, "w", buffering=1, encoding="utf-8")
    sys.stderr = stream  # Python's own tracebacks bypass the pipe
    threading.Thread(target=_pump, args=(read_fd,), name="native-log", daemon=True).start()
    return stream
