"""HTTPS server certificates (``fedlookup ca issue-server``): a web server's, never a node's."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from typer.testing import CliRunner

from certs import CAFiles, PeerVerifier, init_ca, issue_server_certificate
from fedlookup.errors import CertificateError, ConfigError, FedlookupError, InputError
from node.cli.main import app

HOSTS = ["desk.de.fedlookup.test", "localhost", "127.0.0.1"]


@pytest.fixture
def web_ca(tmp_path: Path) -> CAFiles:
    return init_ca(tmp_path / "desk-ca", "test desks' web CA")


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_a_server_certificate_verifies_for_its_hosts_and_serves_only(
    tmp_path: Path, web_ca: CAFiles
) -> None:
    files = issue_server_certificate(web_ca, tmp_path / "desk", hosts=HOSTS, days=30)
    cert = _cert(files.cert_path)
    assert stat.S_IMODE(files.key_path.stat().st_mode) == 0o600
    assert files.ca_path.read_bytes() == web_ca.cert_path.read_bytes()
    store = Store([_cert(web_ca.cert_path)])
    for name in (x509.DNSName("desk.de.fedlookup.test"), x509.DNSName("localhost")):
        PolicyBuilder().store(store).build_server_verifier(name).verify(cert, [])
    with pytest.raises(VerificationError):
        PolicyBuilder().store(store).build_server_verifier(
            x509.DNSName("de.fedlookup.test")
        ).verify(cert, [])
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == []
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert json.loads(web_ca.ledger_path.read_text())["issued"][0]["country"] is None


def test_a_server_certificate_never_passes_as_a_node_even_from_the_federation_ca(
    tmp_path: Path,
) -> None:
    federation = init_ca(tmp_path / "ca", "test federation")
    files = issue_server_certificate(federation, tmp_path / "desk", hosts=HOSTS)
    verifier = PeerVerifier.from_files(federation.cert_path, federation.crl_path)
    with pytest.raises(CertificateError):
        verifier.verify(files.cert_path.read_bytes())


def test_an_existing_key_is_kept_unless_replaced(tmp_path: Path, web_ca: CAFiles) -> None:
    first = issue_server_certificate(web_ca, tmp_path / "desk", hosts=HOSTS)
    key = first.key_path.read_bytes()
    with pytest.raises(ConfigError, match="exists"):
        issue_server_certificate(web_ca, tmp_path / "desk", hosts=HOSTS)
    assert first.key_path.read_bytes() == key
    issue_server_certificate(web_ca, tmp_path / "desk", hosts=HOSTS, replace=True)
    assert first.key_path.read_bytes() != key


@pytest.mark.parametrize(
    ("hosts", "days", "error"),
    [
        ([], 30, InputError),
        (["desk de"], 30, InputError),
        (HOSTS, 0, ConfigError),
        (HOSTS, 365 * 20, ConfigError),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(
    tmp_path: Path, web_ca: CAFiles, hosts: list[str], days: int, error: type[FedlookupError]
) -> None:
    with pytest.raises(error):
        issue_server_certificate(web_ca, tmp_path / "desk", hosts=hosts, days=days)
    assert not (tmp_path / "desk").exists()


def test_the_command_line_issues_one(tmp_path: Path, web_ca: CAFiles) -> None:
    out = tmp_path / "desk"
    args = ["ca", "issue-server", "--dir", str(web_ca.directory), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--host", "desk.de.example", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["sans"]["dns"] == ["desk.de.example"]
    assert info["country"] is None
    assert info["extended_key_usage"] == ["serverAuth"]
    again = CliRunner().invoke(app, [*args, "--host", "desk.de.example"])
    assert isinstance(again.exception, ConfigError)
