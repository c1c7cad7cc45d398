"""Who may call a real node: bad certificates, the identity interceptor, renewal.

Each bad credential is refused at the handshake or by the identity interceptor, with the
reason in the node's log; a statement whose country differs from the certificate is
refused; a renewed server certificate is served without a restart.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from node_grpc_fixtures import (
    TIMEOUT,
    credentials,
    evaluate,
    fill_index,
    statement,
    write_config,
)
from pki_fixtures import ANY_SERVER, TestPKI

from audit.statements import sign
from certs import issue_node_certificate
from federation.evaluation import BlindedQuery
from federation.grpc_transport import GrpcTransport
from fedlookup.errors import PeerRejectedError, PeerUnavailableError
from node.serve.service import RunningNode, serving

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "bad", ["other_ca", "self_signed", "expired", "not_yet_valid", "wrong_usage"]
)
def test_handshake_refuses_bad_certificates(
    indexed_de: RunningNode, test_pki: TestPKI, bad: str
) -> None:
    # The reason is logged by grpc's TLS layer (see test_node_cli for the node's log file).
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, bad),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerUnavailableError),
    ):
        t.node_info(timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("bad", "code", "reason"),
    [
        ("revoked", "UNAUTHENTICATED", "RevokedError"),
        ("no_country", "UNAUTHENTICATED", "CertificateError"),
        ("wrong_country", "PERMISSION_DENIED", "UnlistedPeerError"),
    ],
)
def test_interceptor_refuses_and_logs_the_reason(
    indexed_de: RunningNode,
    test_pki: TestPKI,
    caplog: pytest.LogCaptureFixture,
    bad: str,
    code: str,
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup")
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, bad),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerRejectedError, match=code) as info,
    ):
        t.node_info(timeout=TIMEOUT)
    refused = [r for r in caplog.records if getattr(r, "reason", None) == reason]
    assert refused, caplog.text
    detail = str(getattr(refused[-1], "detail", ""))
    assert detail
    # The peer sees only the fixed public message; the detail stays in the node's log.
    assert detail not in str(info.value)


def test_statement_country_must_match_the_certificate(
    indexed_de: RunningNode, test_pki: TestPKI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup")
    st = statement("NL", "DE", 1)  # FR's certificate, NL's name and NL's signature
    data = st.canonical()
    query = BlindedQuery.create([b"v1|x"])
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, "FR"),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerRejectedError, match="PERMISSION_DENIED") as info,
    ):
        t.evaluate(data, sign(data, test_pki.audit_keys["NL"]), query.request, timeout=10)
    assert "statement country does not match" in str(info.value)
    assert any(getattr(r, "reason", None) == "CountryMismatchError" for r in caplog.records)


def _server_serial(port: int, pki: TestPKI) -> int:
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    ctx.load_cert_chain(pki.nodes["FR"].cert_path, pki.nodes["FR"].key_path)
    ctx.set_alpn_protocols(["h2"])
    ctx.check_hostname = False
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_renewed_certificate_is_served_without_restart(test_pki: TestPKI, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "de", test_pki, "DE")
    fill_index(cfg)
    with serving(cfg) as node:
        first = _server_serial(node.port, test_pki)
        renewed = issue_node_certificate(test_pki.ca, "DE", tmp_path / "renewed")
        shutil.copy(renewed.key_path, cfg.tls.key)
        shutil.copy(renewed.cert_path, cfg.tls.cert)
        second = _server_serial(node.port, test_pki)
        evaluate(node.port, test_pki, 1)  # and calls still work
    assert first != second
    assert second == x509.load_pem_x509_certificate(renewed.cert_path.read_bytes()).serial_number
