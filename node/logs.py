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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

__all__ = [
    "HANDSHAKE_LISTENERS",
    "HandshakeFailure",
    "JsonFormatter",
    "TextFormatter",
    "capture_native_log",
    "configure_logging",
    "handshake_failure",
    "native_level",
    "quiet_native_log",
]

#: Called with a reason code for each handshake grpc refused (the node's metrics hook in).
HANDSHAKE_LISTENERS: list[Callable[[str], None]] = []
# grpc's "handshaker" trace: one line per step of each connection's handshake, naming the
# handshake manager, the step's result and the connection's addresses. A server-side
# connection's line carries ``grpc.internal.server_credentials``.
_HANDSHAKE_STEP = re.compile(
    r"handshaker\.cc:\d+\] handshake_manager (?P<manager>0x[0-9a-f]+): "
    r"error=(?P<error>.*?) shutdown=\w+ index=\d+, args=\{(?P<args>.*)"
)
_PEER_ADDRESS = re.compile(r"grpc\.internal\.endpoint_peer_address=(?P<address>[^,}]+)")
_TLS_REASON = re.compile(r"Ssl handshake failed \((?P<tsi>\w+)\): (?:\w+: )?(?P<detail>.*)$")
# grpc's own TLS line ("Handshake failed with error SSL_ERROR_SSL: ..."): says the same as the
# trace line above without the address, so it is kept at DEBUG.
_TLS_LINE = re.compile(r"Handshake failed with (?:fatal )?error \w+: ")
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


@dataclass(frozen=True)
class HandshakeFailure:
    """One server-side TLS handshake that did not complete, read from grpc's trace."""

    #: ``ipv4:127.0.0.1:50312``: the caller's address as grpc names it.
    address: str
    #: ``True`` when TLS refused the caller (certificate, version, cipher); ``False`` when the
    #: connection ended before the handshake did (closed, timed out): not a refusal.
    refused: bool
    #: The TLS reason (``... CERTIFICATE_VERIFY_FAILED: certificate has expired``) or grpc's.
    detail: str


def handshake_failure(line: str) -> HandshakeFailure | None:
    """The failed server-side handshake a grpc ``handshaker`` trace line reports, if any.

    grpc logs each step of a connection's handshake with the step's result and the
    connection's arguments, among them the peer's address; the step that fails carries the
    TLS reason. Lines of successful steps, of outgoing connections (no server credentials)
    and of anything else give ``None``.
    """
    step = _HANDSHAKE_STEP.search(line)
    if step is None or step.group("error") == "OK":
        return None
    args = step.group("args")
    address = _PEER_ADDRESS.search(args)
    if "grpc.internal.server_credentials" not in args or address is None:
        return None
    error = step.group("error")
    tls = _TLS_REASON.search(error)
    if tls is not None:
        return HandshakeFailure(address.group("address"), True, tls.group("detail").strip())
    # "Handshake read failed [type.googleapis.com/...]": keep grpc's words, not its payload.
    return HandshakeFailure(address.group("address"), False, error.split(" [", 1)[0].strip())


def _report(failure: HandshakeFailure) -> None:
    if not failure.refused:
        _handshake_log.info(
            "caller left during the TLS handshake",
            extra={"event": "handshake_abandoned", "address": failure.address,
                   "detail": failure.detail},
        )  # fmt: skip
        return
    # The caller sees only "Socket closed"; this line is the one place that says why
    # (expired, unknown issuer, wrong usage, ...) and who.
    _handshake_log.warning(
        "refused caller at the TLS handshake",
        extra={
            "event": "refused",
            "reason": "TLSHandshakeError",
            "address": failure.address,
            "detail": failure.detail,
        },
    )
    for listener in list(HANDSHAKE_LISTENERS):
        listener("TLSHandshakeError")


def _pump(read_fd: int) -> None:
    with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
        for raw in lines:
            line = raw.rstrip("\n")
            failure = handshake_failure(line)
            if failure is not None:
                _report(failure)
            elif _TLS_LINE.search(line):
                _native_log.debug(line)
            elif line.strip():
                _native_log.log(native_level(line), line)


def _with_handshake_trace(value: str) -> str:
    """``GRPC_TRACE`` with grpc's ``handshaker`` tracer added (an operator's own tracers kept)."""
    tracers = [t.strip() for t in value.split(",") if t.strip()]
    if "handshaker" not in tracers and "all" not in tracers:
        tracers.append("handshaker")
    return ",".join(tracers)


def capture_native_log() -> IO[str]:
    """Route grpc's native log lines into Python logging, and turn on the one that matters.

    grpc's TLS layer refuses a bad client certificate before any Python code runs and logs
    the reason only through its native logger, at INFO, without the caller's address. This
    raises grpc's verbosity to INFO and adds its ``handshaker`` tracer (whose lines name each
    connection's peer address and the step that failed), both before the first server is
    created, sends file descriptor 2 through a pipe, and re-emits each line as a log record:
    a failed handshake becomes a structured ``refused`` record with the TLS reason and the
    caller's address (:func:`handshake_failure`). Call once, early, in a node process only.

    Returns:
        A text stream on the original standard error, for :func:`configure_logging`.
    """
    # At least INFO, whatever was inherited (a quieter level would silently drop refusals);
    # which of grpc's lines are shown is then the node's own log_level.
    if os.environ.get("GRPC_VERBOSITY", "").upper() != "DEBUG":
        os.environ["GRPC_VERBOSITY"] = "INFO"
    os.environ["GRPC_TRACE"] = _with_handshake_trace(os.environ.get("GRPC_TRACE", ""))
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    stream = os.fdopen(original, "w", buffering=1, encoding="utf-8")
    sys.stderr = stream  # Python's own tracebacks bypass the pipe
    threading.Thread(target=_pump, args=(read_fd,), name="native-log", daemon=True).start()
    return stream
