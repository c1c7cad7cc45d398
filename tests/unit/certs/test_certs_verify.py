"""PeerVerifier: good certificates accepted with their country, each bad one refused with
its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pki_fixtures import COUNTRIES, TestPKI

from certs import PeerVerifier, certificate_fingerprint, key_fingerprint
from certs._files import load_certificate
from fedlookup.errors import (
    CertificateError,
    ConfigError,
    CountryMismatchError,
    RevokedError,
)


@pytest.mark.parametrize("country", COUNTRIES)
def test_good_certificate_gives_its_country_and_fingerprints(
    test_pki: TestPKI, country: str
) -> None:
    cert = load_certificate(test_pki.nodes[country].cert_path)
    identity = test_pki.verifier().verify(test_pki.pem(country))
    assert identity.country == country
    assert identity.fingerprint == certificate_fingerprint(cert)
    assert identity.key_fingerprint == key_fingerprint(cert)
    assert identity.serial == cert.serial_number
    assert identity.not_after == cert.not_valid_after_utc


def test_der_pem_and_parsed_forms_agree(test_pki: TestPKI) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509 import Certificate

    cert = load_certificate(test_pki.nodes["FR"].cert_path)
    verifier = test_pki.verifier()
    forms: list[bytes | Certificate] = [
        cert,
        cert.public_bytes(Encoding.DER),
        cert.public_bytes(Encoding.PEM),
    ]
    assert {verifier.verify(f) for f in forms} == {verifier.verify(cert)}


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("expired", CertificateError, "expired at "),
        ("not_yet_valid", CertificateError, "not yet valid"),
        ("wrong_usage", CertificateError, "wrong usage: extended key usage ['serverAuth'] lacks"),
        ("other_ca", CertificateError, "unknown issuer CN=some other authority"),
        ("self_signed", CertificateError, "self-signed certificate"),
        ("revoked", RevokedError, "revoked at "),
        ("no_country", CertificateError, "no country"),
    ],
)
def test_bad_certificate_refused_with_reason(
    test_pki: TestPKI, name: str, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error) as info:
        test_pki.verifier().verify(test_pki.pem(name))
    assert type(info.value) is error
    assert reason in str(info.value)


def test_revoked_reason_is_named(test_pki: TestPKI) -> None:
    with pytest.raises(RevokedError, match=r"\(keyCompromise\)"):
        test_pki.verifier().verify(test_pki.pem("revoked"))


def test_wrong_country_passes_chain_but_not_an_expected_country(test_pki: TestPKI) -> None:
    verifier = test_pki.verifier()
    assert verifier.verify(test_pki.pem("wrong_country")).country == "XX"
    with pytest.raises(CountryMismatchError, match="certificate is for XX, expected DE"):
        verifier.verify(test_pki.pem("wrong_country"), expected_country="DE")


def test_ca_certificate_is_not_a_node_certificate(test_pki: TestPKI) -> None:
    with pytest.raises(CertificateError, match="wrong usage: a CA certificate"):
        test_pki.verifier().verify(test_pki.ca.cert_path.read_bytes())


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAA==\n"])
def test_missing_or_garbage_certificate(test_pki: TestPKI, data: bytes) -> None:
    with pytest.raises(CertificateError):
        test_pki.verifier().verify(data)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_server_usage_checks_host_name(test_pki: TestPKI, host: str) -> None:
    identity = test_pki.verifier().verify(test_pki.pem("NL"), usage="server", server_name=host)
    assert identity.country == "NL"


def test_wrong_host_name_refused(test_pki: TestPKI) -> None:
    with pytest.raises(CertificateError, match=r"wrong host name: node\.example"):
        test_pki.verifier().verify(test_pki.pem("NL"), usage="server", server_name="node.example")
    with pytest.raises(CertificateError, match=r"wrong host name: 127\.0\.0\.2"):
        test_pki.verifier().verify(test_pki.pem("NL"), usage="server", server_name="127.0.0.2")


def test_server_usage_needs_a_name(test_pki: TestPKI) -> None:
    with pytest.raises(ConfigError, match="server_name"):
        test_pki.verifier().verify(test_pki.pem("NL"), usage="server")


def test_verification_time_is_a_parameter(test_pki: TestPKI) -> None:
    later = datetime.now(UTC) + timedelta(days=12)
    with pytest.raises(CertificateError, match="expired"):
        test_pki.verifier().verify(test_pki.pem("DE"), now=later + timedelta(days=40))
    # The not-yet-valid certificate becomes valid; the CRL (7 days) is by then stale.
    with pytest.raises(CertificateError, match="revocation list out of date"):
        test_pki.verifier().verify(test_pki.pem("not_yet_valid"), now=later)


def test_other_root_trusts_only_its_own(test_pki: TestPKI) -> None:
    other = PeerVerifier.from_files(test_pki.other_ca.cert_path, test_pki.other_ca.crl_path)
    assert other.verify(test_pki.pem("other_ca")).country == "DE"
    with pytest.raises(CertificateError, match="unknown issuer CN=fedlookup test federation"):
        other.verify(test_pki.pem("DE"))


def test_two_roots_during_rollover(test_pki: TestPKI) -> None:
    both = PeerVerifier.from_files(
        [test_pki.ca.cert_path, test_pki.other_ca.cert_path],
        [test_pki.ca.crl_path, test_pki.other_ca.crl_path],
    )
    assert both.verify(test_pki.pem("other_ca")).country == "DE"
    assert both.verify(test_pki.pem("FR")).country == "FR"
    with pytest.raises(RevokedError):
        both.verify(test_pki.pem("revoked"))


def test_root_without_crl_fails_closed(test_pki: TestPKI) -> None:
    verifier = PeerVerifier.from_files(
        [test_pki.ca.cert_path, test_pki.other_ca.cert_path], [test_pki.ca.crl_path]
    )
    with pytest.raises(CertificateError, match="no revocation list for issuer"):
        verifier.verify(test_pki.pem("other_ca"))


def test_crl_of_an_untrusted_issuer_is_a_config_error(test_pki: TestPKI) -> None:
    with pytest.raises(ConfigError, match="not signed by a federation root"):
        PeerVerifier.from_files(test_pki.ca.cert_path, test_pki.other_ca.crl_path)


def test_no_root_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        PeerVerifier([], [])
