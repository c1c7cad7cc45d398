"""The peer links' TLS client context and endpoint parsing."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import pytest
from pki_fixtures import TestPKI

from federation.tls_context import client_context, split_target


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


def test_the_client_context_is_tls13_with_h2_and_a_required_chain(test_pki: TestPKI) -> None:
    de = test_pki.nodes["DE"]
    creds = _Pem(
        test_pki.ca.cert_path.read_bytes(), de.cert_path.read_bytes(), de.key_path.read_bytes()
    )
    ctx = client_context(creds)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert not ctx.check_hostname  # the authenticator checks the name, country and pin
    assert len(ctx.get_ca_certs()) == 1
