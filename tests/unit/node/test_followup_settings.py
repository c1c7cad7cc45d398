"""``[followup]`` settings and the optional e-mail notice (to a small SMTP server on loopback)."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest

from federation.followup import IncomingFollowUp
from fedlookup.errors import ConfigError
from node.followup_config import FollowUpConfig, SmtpConfig
from node.serve.followup_notice import notifier


def test_defaults_and_per_peer_policy() -> None:
    cfg = FollowUpConfig.from_mapping(
        {"deadline_hours": 24, "peers": {"NL": {"auto_release": ["make", "category"]}}}, "t"
    )
    assert cfg.policy("DE").deadline_hours == 24
    assert cfg.policy("DE").auto_release == frozenset()
    assert cfg.policy("NL").deadline_hours == 24  # inherits the default deadline
    assert cfg.policy("NL").auto_release == {"make", "category"}
    assert FollowUpConfig.from_mapping(None, "t").policy("FR").deadline_hours == 48


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"deadline_hour": 1}, "followup.deadline_hour"),
        ({"deadline_hours": 0}, "followup.deadline_hours"),
        ({"peers": {"nl": {}}}, "followup.peers.nl"),
        ({"peers": {"NL": {"auto_release": ["address"]}}}, "followup.peers.NL.auto_release"),
        ({"smtp": {"port": 25}}, "followup.smtp.host"),
        ({"smtp": {"host": "127.0.0.1", "to": ["nobody"]}}, "followup.smtp.to"),
    ],
)
def test_bad_fields_are_named(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        FollowUpConfig.from_mapping(raw, "node.toml")
    assert info.value.field == field


def _smtp_server(received: list[bytes]) -> tuple[socket.socket, threading.Thread]:
    """A one-message SMTP server on 127.0.0.1 (just enough of RFC 5321)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 test\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    body = b""
                    for data in lines:
                        if data == b".\r\n":
                            break
                        body += data
                    received.append(body)
                    conn.sendall(b"250 ok\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_notice_names_reference_case_and_deadline_never_a_serial() -> None:
    received: list[bytes] = []
    server, thread = _smtp_server(received)
    port = server.getsockname()[1]
    now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    item = IncomingFollowUp(
        request_id="r1", from_country="DE", reference="FR-0101-0101-0101-0101", case_id="C-9",
        purpose="trafficking", legal_basis="art. 12", investigator="ida", received_at=now,
        deadline=now + timedelta(hours=48), record_id="FR-1",
    )  # fmt: skip
    notifier(SmtpConfig("127.0.0.1", port, "fedlookup@fr.example", ("liaison@fr.example",)),
             "FR")(item)  # fmt: skip
    thread.join(timeout=10)
    server.close()
    text = received[0].decode()
    assert "FR-0101-0101-0101-0101" in text
    assert "C-9" in text
    assert "2026-12-08T10:00:00.000Z" in text
    assert "To: liaison@fr.example" in text
