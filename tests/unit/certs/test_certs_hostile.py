"""A CRL rollback, a certificate without the needed EKU, and the one peer check both ways."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pki_fixtures import TestPKI

from certs import (
    CAFiles,
    PeerAuthenticator,
    ReloadingPeerVerifier,
    country_uri,
    init_ca,
    issue_node_certificate,
    key_fingerprint,
    revoke,
)
from certs._files import load_certificate
from fedlookup.errors import (
    CertificateError,
    CountryMismatchError,
    RevokedError,
    UnlistedPeerError,
)


def test_an_older_crl_keeps_the_newer_in_force(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca = init_ca(tmp_path / "ca", "Rollback federation")
    fr = issue_node_certificate(ca, "FR", tmp_path / "FR")
    crl = tmp_path / "crl.pem"
    shutil.copyfile(ca.crl_path, crl)
    old = crl.read_bytes()
    verifier = ReloadingPeerVerifier([ca.cert_path], [crl])
    revoke(ca, fr.cert_path, "keyCompromise")
    shutil.copyfile(ca.crl_path, crl)
    with pytest.raises(RevokedError):
        verifier.verify(fr.cert_path.read_bytes())
    crl.write_bytes(old)
    os.utime(crl, ns=(1, 1))  # a stamp surely different from the newer file's
    caplog.set_level(logging.WARNING, logger="certs")
    with pytest.raises(RevokedError):
        verifier.verify(fr.cert_path.read_bytes())
    assert "CRL number 1, lower than the 2 in force" in caplog.text


def _no_eku_certificate(ca: CAFiles) -> bytes:
    """A certificate the CA signed for DE with no extended key usage at all (RFC 5280 would
    let it serve any purpose)."""
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = ca.certificate()
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    san = [x509.UniformResourceIdentifier(country_uri("DE")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DE")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca.private_key(), hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_certificate_without_eku_is_refused(tmp_path: Path) -> None:
    ca = init_ca(tmp_path / "ca", "EKU federation")
    verifier = ReloadingPeerVerifier([ca.cert_path], [ca.crl_path])
    with pytest.raises(CertificateError, match="no extended key usage"):
        verifier.verify(_no_eku_certificate(ca))


def test_a_caller_certificate_needs_client_auth(tmp_path: Path) -> None:
    ca = init_ca(tmp_path / "ca", "EKU federation")
    de = issue_node_certificate(ca, "DE", tmp_path / "DE", usages=("serverAuth",))
    verifier = ReloadingPeerVerifier([ca.cert_path], [ca.crl_path])
    with pytest.raises(CertificateError, match="clientAuth"):
        verifier.verify(de.cert_path.read_bytes())


class _Pins:
    def __init__(self, pins: dict[str, str]) -> None:
        self.pins = pins

    def check_peer(self, peer: object) -> object:
        country, key = getattr(peer, "country"), getattr(peer, "key_fingerprint")  # noqa: B009
        if self.pins.get(country) != key:
            raise UnlistedPeerError(f"{country}: key not pinned")
        return peer


def _authenticator(test_pki: TestPKI, pins: dict[str, str]) -> PeerAuthenticator:
    return PeerAuthenticator(test_pki.verifier(), _Pins(pins))


def test_one_check_for_answering_nodes(test_pki: TestPKI) -> None:
    fr = test_pki.nodes["FR"].cert_path.read_bytes()
    pin = key_fingerprint(load_certificate(test_pki.nodes["FR"].cert_path))
    auth = _authenticator(test_pki, {"FR": pin})
    assert auth.check_server("FR", fr, "127.0.0.1").country == "FR"
    assert auth.check_client(fr).country == "FR"
    with pytest.raises(CountryMismatchError, match="certificate is for FR, expected DE"):
        auth.check_server("DE", fr, "127.0.0.1")
    with pytest.raises(CertificateError):
        auth.check_server("FR", fr, "fr.example.org")  # not a name in its certificate
    with pytest.raises(UnlistedPeerError):
        _authenticator(test_pki, {"FR": "0" * 64}).check_server("FR", fr, "127.0.0.1")


def test_a_revoked_answering_node_is_refused(test_pki: TestPKI) -> None:
    revoked = test_pki.bad["revoked"].cert_path.read_bytes()
    with pytest.raises(RevokedError):
        _authenticator(test_pki, {}).check_server("DE", revoked, "127.0.0.1")
