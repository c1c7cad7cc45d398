"""How a country is written into, and read from, a node certificate.

A node certificate names its country in exactly one SAN URI, ``urn:fedlookup:country:DE``
(docs/adr/0002-identity-in-certificates.md). Fingerprints are SHA-256, lower-case hex.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from fedlookup.errors import CertificateError, InputError

__all__ = [
    "COUNTRY_URI_PREFIX",
    "PeerIdentity",
    "certificate_country",
    "certificate_fingerprint",
    "country_uri",
    "key_fingerprint",
    "usage_names",
    "validate_country",
]

#: Prefix of the SAN URI carrying a node's country.
COUNTRY_URI_PREFIX = "urn:fedlookup:country:"

_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}


@dataclass(frozen=True)
class PeerIdentity:
    """Who a verified peer is, as read from its certificate (never from a request field).

    Attributes:
        country: ISO 3166-1 alpha-2 code from the certificate's country SAN URI.
        fingerprint: SHA-256 of the certificate's DER bytes, lower-case hex.
        key_fingerprint: SHA-256 of the certificate's SubjectPublicKeyInfo DER, lower-case
            hex; what the federation directory pins (it survives renewal with the same key).
        serial: the certificate's serial number.
        not_after: end of validity, UTC.
    """

    country: str
    fingerprint: str
    key_fingerprint: str
    serial: int
    not_after: datetime


def validate_country(country: str, *, field: str = "country") -> str:
    """Return ``country`` if it is an ISO 3166-1 alpha-2 code in upper case.

    Only the form is checked (two letters A-Z): user-assigned codes such as ``XX`` are
    accepted, which tests use for a well-formed country no directory lists.

    Raises:
        InputError: naming ``field``, when the code is not two upper-case letters.
    """
    if not isinstance(country, str) or not _COUNTRY_RE.fullmatch(country):
        raise InputError(
            f"{country!r} is not an ISO 3166-1 alpha-2 code (two upper-case letters)",
            field=field,
        )
    return country


def country_uri(country: str) -> str:
    """The SAN URI naming ``country`` (``urn:fedlookup:country:DE``)."""
    return COUNTRY_URI_PREFIX + validate_country(country)


def certificate_country(cert: x509.Certificate) -> str:
    """The one country a certificate names in its SAN URIs.

    Raises:
        CertificateError: no SAN, no country URI, more than one, or a malformed code.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise CertificateError("no country: certificate has no subject alternative name") from exc
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
    found = [u[len(COUNTRY_URI_PREFIX) :] for u in uris if u.startswith(COUNTRY_URI_PREFIX)]
    if not found:
        raise CertificateError(f"no country: no {COUNTRY_URI_PREFIX}CC URI in the certificate")
    if len(found) > 1:
        raise CertificateError(f"ambiguous country: certificate names {sorted(found)}")
    code = found[0]
    if not _COUNTRY_RE.fullmatch(code):
        raise CertificateError(f"malformed country {code!r} in certificate")
    return code


def usage_names(cert: x509.Certificate) -> list[str]:
    """The certificate's extended key usages by RFC 5280 name (dotted OID if unnamed)."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return []
    return [_EKU_NAMES.get(oid, oid.dotted_string) for oid in eku]


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def key_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo DER, lower-case hex."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()
