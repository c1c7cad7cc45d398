"""CA and node certificate recipes: files, modes, extensions, ledger, renewal, inspection."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs import (
    CAFiles,
    PeerVerifier,
    certificate_country,
    init_ca,
    inspect_certificate,
    issue_node_certificate,
    key_fingerprint,
    renew,
    validate_country,
)
from certs._files import load_certificate, load_private_key
from fedlookup.errors import CertificateError, ConfigError, InputError, KeyFileError


@pytest.fixture
def ca(tmp_path: Path) -> CAFiles:
    return init_ca(tmp_path / "ca", "Unit federation")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_writes_root_crl_ledger_and_a_private_key(ca: CAFiles) -> None:
    assert _mode(ca.key_path) == 0o600
    root = ca.certificate()
    assert root.subject == root.issuer
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert len(ca.crl()) == 0
    assert ca.ledger() == []
    assert CAFiles.open(ca.directory) == ca


def test_init_refuses_to_overwrite(ca: CAFiles) -> None:
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        init_ca(ca.directory, "again")


@pytest.mark.parametrize(("name", "days"), [("", 10), ("ok", 0)])
def test_init_rejects_bad_arguments(tmp_path: Path, name: str, days: int) -> None:
    with pytest.raises(ConfigError):
        init_ca(tmp_path / "ca", name, days=days)


def test_open_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ca\.pem missing"):
        CAFiles.open(tmp_path)


def test_node_certificate_profile(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "FR", tmp_path / "FR", hosts=["fr.example", "127.0.0.9"])
    assert _mode(files.key_path) == 0o600
    assert files.ca_path.read_bytes() == ca.cert_path.read_bytes()
    cert = load_certificate(files.cert_path)
    ext = cert.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ku = ext.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    assert not ku.key_cert_sign
    assert list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:fedlookup:country:FR"]
    assert san.get_values_for_type(x509.DNSName) == ["fr.example"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.9"]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    assert certificate_country(cert) == "FR"
    (entry,) = ca.ledger()
    assert entry["country"] == "FR"
    assert entry["serial"] == format(cert.serial_number, "x")
    assert entry["revoked"] is None


@pytest.mark.parametrize("bad", ["de", "DEU", "D", "", "1A", "ÄB"])
def test_country_codes_are_validated(ca: CAFiles, tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError, match="ISO 3166-1 alpha-2") as info:
        issue_node_certificate(ca, bad, tmp_path / "x")
    assert info.value.field == "country"
    assert not (tmp_path / "x").exists()


def test_validate_country_returns_the_code() -> None:
    assert validate_country("NL") == "NL"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0}, "days"),
        ({"usages": ("codeSigning",)}, "usages"),
        ({"usages": ()}, "usages"),
        ({"self_signed": True}, "ca"),
    ],
)
def test_issue_rejects_bad_arguments(
    ca: CAFiles, tmp_path: Path, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        issue_node_certificate(ca, "DE", tmp_path / "x", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_bad_host_is_refused(ca: CAFiles, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid host name"):
        issue_node_certificate(ca, "DE", tmp_path / "x", hosts=["bad host"])


def test_renew_keeps_country_hosts_and_key(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "NL", tmp_path / "NL", hosts=["nl.example"])
    old = load_certificate(files.cert_path)
    renewed = renew(ca, files.cert_path, days=5)
    new = load_certificate(renewed.cert_path)
    assert new.serial_number != old.serial_number
    assert certificate_country(new) == "NL"
    assert key_fingerprint(new) == key_fingerprint(old)
    san = new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["nl.example"]
    assert (new.not_valid_after_utc - new.not_valid_before_utc).days == 5
    verifier = PeerVerifier.from_files(ca.cert_path, ca.crl_path)
    assert verifier.verify(new).country == "NL"
    assert len(ca.ledger()) == 2


def test_renew_with_new_key(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "NL", tmp_path / "NL")
    old = load_certificate(files.cert_path)
    new = load_certificate(renew(ca, files.cert_path, new_key=True).cert_path)
    assert key_fingerprint(new) != key_fingerprint(old)
    assert _mode(files.key_path) == 0o600


def test_renew_refuses_a_certificate_without_country(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, None, tmp_path / "none")
    with pytest.raises(InputError, match="cannot renew: no country"):
        renew(ca, files.cert_path)


def test_key_readable_by_others_is_refused(ca: CAFiles) -> None:
    os.chmod(ca.key_path, 0o644)
    with pytest.raises(KeyFileError, match="must be 0600"):
        load_private_key(ca.key_path)


@pytest.mark.parametrize("content", [b"", b"not a key"])
def test_malformed_key_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError):
        load_private_key(path)


def test_missing_certificate_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.pem"):
        load_certificate(tmp_path / "nope.pem")


def test_self_signed_and_no_country_certificates(tmp_path: Path) -> None:
    files = issue_node_certificate(None, "DE", tmp_path / "s", self_signed=True)
    cert = load_certificate(files.cert_path)
    assert cert.issuer == cert.subject
    assert not files.ca_path.exists()
    with pytest.raises(CertificateError, match="no country"):
        certificate_country(
            load_certificate(
                issue_node_certificate(None, None, tmp_path / "n", self_signed=True).cert_path
            )
        )


def test_inspect_reports_identity_and_revocation(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "DE", tmp_path / "DE")
    info = inspect_certificate(files.cert_path, crl_path=ca.crl_path)
    cert = load_certificate(files.cert_path)
    assert info["country"] == "DE"
    assert info["sans"] == {
        "dns": ["localhost"],
        "ip": ["127.0.0.1"],
        "uri": ["urn:fedlookup:country:DE"],
    }
    assert info["extended_key_usage"] == ["serverAuth", "clientAuth"]
    assert info["key_fingerprint_sha256"] == key_fingerprint(cert)
    assert info["revoked"] is False
    assert info["valid_now"] is True
    assert info["is_ca"] is False
    root = inspect_certificate(ca.cert_path)
    assert root["is_ca"] is True
    assert root["country"] is None
    assert root["revoked"] is None


def test_issue_refuses_to_replace_a_nodes_key(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "DE", tmp_path / "DE")
    before = files.key_path.read_bytes()
    with pytest.raises(ConfigError, match="ca renew"):
        issue_node_certificate(ca, "DE", tmp_path / "DE")
    assert files.key_path.read_bytes() == before


def test_node_certificate_cannot_outlive_the_root(tmp_path: Path) -> None:
    short = init_ca(tmp_path / "short", "short-lived root", days=10)
    with pytest.raises(ConfigError, match="outlive the root") as info:
        issue_node_certificate(short, "DE", tmp_path / "DE", days=30)
    assert info.value.field == "days"
    assert issue_node_certificate(short, "DE", tmp_path / "DE", days=9).cert_path.exists()
