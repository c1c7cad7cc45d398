"""The handshake probe: endpoints parsed, an unreachable peer named with its reason."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
from pki_fixtures import TestPKI

from federation.tls_probe import peer_certificate, split_target
from fedlookup.errors import PeerUnavailableError


@pytest.mark.parametrize(
    ("target", "parts"),
    [("127.0.0.1:7443", ("127.0.0.1", 7443)), ("[::1]:80", ("::1", 80)),
     ("de.node.example:1", ("de.node.example", 1))],
)  # fmt: skip
def test_split_target(target: str, parts: tuple[str, int]) -> None:
    assert split_target(target) == parts


def test_a_target_without_port_is_refused() -> None:
    with pytest.raises(ValueError, match="no port"):
        split_target("127.0.0.1")


@dataclass(frozen=True)
class _Pem:
    ca: bytes
    cert: bytes
    key: bytes


def test_an_unreachable_peer_is_unavailable_with_its_reason(test_pki: TestPKI) -> None:
    de = test_pki.nodes["DE"]
    creds = _Pem(
        test_pki.ca.cert_path.read_bytes(), de.cert_path.read_bytes(), de.key_path.read_bytes()
    )
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PeerUnavailableError, match=r"cannot connect to 127\.0\.0\.1") as info:
        peer_certificate("FR", f"127.0.0.1:{port}", creds, timeout=2)
    assert info.value.peer == "FR"
