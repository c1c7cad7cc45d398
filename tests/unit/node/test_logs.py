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


# grpc 1.72's "handshaker" trace lines, as a node saw them (pointers shortened).
_ARGS = (
    "args={endpoint=0x7f6f94000e00, args={grpc.internal.client_channel_call_destination=0x7f6f,"
    " grpc.internal.endpoint_local_address=ipv4:127.0.0.1:7551,"
    " grpc.internal.endpoint_peer_address=ipv4:127.0.0.1:48568,"
    " grpc.internal.event_engine=0x7f6fa400b840, grpc.internal.security_connector=0x55fa8bcc62d0,"
    " grpc.internal.server_credentials=0x55fa8bca7db0, grpc.resource_quota=0x55fa8bcca630},"
    " read_buffer.Length()=0, exit_early=0}"
)
_STEP = (
    "I0000 00:00:1796590301.541169    7952 handshaker.cc:142] handshake_manager 0x7f6f94001910: "
)
_REFUSED = (
    f"{_STEP}error=UNKNOWN: Ssl handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: "
    "error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: self signed "
    f"certificate shutdown=false index=2, {_ARGS}"
)
_ABANDONED = (
    f"{_STEP}error=UNKNOWN: Handshake read failed [type.googleapis.com/grpc.status.children="
    f"'H\\x00\\x00'] shutdown=false index=2, {_ARGS}"
)


def test_a_refused_handshake_is_read_with_the_callers_address() -> None:
    from node.logs import HandshakeFailure, handshake_failure

    assert handshake_failure(_REFUSED) == HandshakeFailure(
        address="ipv4:127.0.0.1:48568",
        refused=True,
        detail="error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: "
        "self signed certificate",
    )


def test_a_caller_leaving_mid_handshake_is_not_a_refusal() -> None:
    from node.logs import handshake_failure

    failure = handshake_failure(_ABANDONED)
    assert failure is not None
    assert (failure.refused, failure.address, failure.detail) == (
        False,
        "ipv4:127.0.0.1:48568",
        "UNKNOWN: Handshake read failed",
    )


@pytest.mark.parametrize(
    "line",
    [
        f"{_STEP}error=OK shutdown=false index=1, {_ARGS}",  # a step that succeeded
        # an outgoing connection (no server credentials) that failed: not a caller
        _REFUSED.replace("grpc.internal.server_credentials=0x55fa8bca7db0, ", ""),
        f"{_STEP}handshaking complete -- scheduling on_handshake_done with error=UNKNOWN: x",
        "I0000 00:00:1.5 7952 ssl_transport_security.cc:1665] Handshake failed with error "
        "SSL_ERROR_SSL: error:1000007d:CERTIFICATE_VERIFY_FAILED: self signed certificate",
    ],
)
def test_other_handshake_lines_are_not_failures(line: str) -> None:
    from node.logs import handshake_failure

    assert handshake_failure(line) is None


@pytest.mark.parametrize(
    ("before", "after"),
    [("", "handshaker"), ("tcp", "tcp,handshaker"), ("all", "all"), ("handshaker", "handshaker")],
)
def test_the_handshake_tracer_is_added_to_an_operators_own(before: str, after: str) -> None:
    from node.logs import _with_handshake_trace

    assert _with_handshake_trace(before) == after
