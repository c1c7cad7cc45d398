"""Structured logs: JSON lines carry the extra fields; text lines stay readable."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from node.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """configure_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_extra_fields() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    logging.getLogger("fedlookup.test").warning(
        "refused caller", extra={"event": "refused", "reason": "RevokedError", "peer": None}
    )
    doc = json.loads(stream.getvalue().splitlines()[-1])
    assert doc["message"] == "refused caller"
    assert doc["reason"] == "RevokedError"
    assert doc["level"] == "warning"
    assert "peer" not in doc  # empty fields are left out


def test_text_lines_show_key_values() -> None:
    stream = io.StringIO()
    configure_logging("text", "info", stream)
    logging.getLogger("fedlookup.test").info("node serving", extra={"address": "127.0.0.1:1"})
    line = stream.getvalue().splitlines()[-1]
    assert "node serving address=127.0.0.1:1" in line


@pytest.mark.parametrize(
    ("line", "level"),
    [
        (
            "W0000 00:00:1796580338.367632   21556 log.cc:102] Log level INFO is not suitable "
            "for production. Prefer WARNING or ERROR.",
            logging.DEBUG,
        ),
        (
            "WARNING: All log messages before absl::InitializeLog() is called are written to "
            "STDERR",
            logging.DEBUG,
        ),
        ("I0000 00:00:1796580338.3 21556 server.cc:12] started", logging.DEBUG),
        ("W1206 18:05:38.3 21556 x.cc:1] keepalive watchdog", logging.WARNING),
        (
            "E0000 00:00:1796580338.379786   21556 chttp2_server.cc:1685] UNKNOWN:No address added",
            logging.ERROR,
        ),
        ("something else entirely", logging.WARNING),
    ],
)
def test_grpc_native_lines_keep_their_severity_and_its_info_chatter_is_debug(
    line: str, level: int
) -> None:
    from node.logs import native_level

    assert native_level(line) == level
