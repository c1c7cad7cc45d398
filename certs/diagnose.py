"""Why a certificate failed chain verification, in words an operator can act on.

``cryptography``'s verifier says only that no valid chain was found; the node's log must
say which rule the peer broke (docs/architecture.md: a refused peer sees only
``UNAVAILABLE``). :func:`diagnose` checks the usual causes one by one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs.identity import usage_names
from fedlookup.errors import CertificateError

__all__ = ["diagnose", "parse_peer_certificate", "server_subject"]


def parse_peer_certificate(cert: bytes | x509.Certificate) -> x509.Certificate:
    """Parse DER or PEM bytes (or pass a parsed certificate through).

    Raises:
        CertificateError: no certificate, or bytes that do not parse.
    """
    if isinstance(cert, x509.Certificate):
        return cert
    if not cert:
        raise CertificateError("no certificate presented")
    try:
        if cert.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(cert)
        return x509.load_der_x509_certificate(cert)
    except ValueError as exc:
        raise CertificateError(f"unparsable certificate: {exc}") from exc


def server_subject(name: str) -> x509.DNSName | x509.IPAddress:
    """The verification subject for a dialled host name or address."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _san_hosts(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    ]


def diagnose(
    leaf: x509.Certificate,
    roots: Sequence[x509.Certificate],
    at: datetime,
    eku: x509.ObjectIdentifier,
    server_name: str | None,
    detail: str,
) -> str:
    """The first rule ``leaf`` breaks, as a sentence for the node's log.

    Args:
        leaf: the refused certificate.
        roots: the trusted roots.
        at: the verification time.
        eku: the extended key usage required (clientAuth or serverAuth).
        server_name: the host dialled, for server certificates.
        detail: the verifier's own message, used when no known rule explains the failure.

    Returns:
        A reason starting with a stable keyword: ``self-signed``, ``unknown issuer``,
        ``expired``, ``not yet valid``, ``wrong usage``, ``wrong host name``,
        ``issuer expired`` or ``invalid chain``.
    """
    subject = leaf.subject.rfc4514_string()
    issuer = next((r for r in roots if _signed_by(leaf, r)), None)
    if issuer is None:
        if leaf.issuer == leaf.subject and _signed_by(leaf, leaf):
            return f"self-signed certificate ({subject}); not issued by the federation CA"
        return f"unknown issuer {leaf.issuer.rfc4514_string()}: not signed by a federation CA"
    if at > leaf.not_valid_after_utc:
        return f"expired at {leaf.not_valid_after_utc.isoformat()}"
    if at < leaf.not_valid_before_utc:
        return f"not yet valid (valid from {leaf.not_valid_before_utc.isoformat()})"
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca:
        return "wrong usage: a CA certificate presented as a node certificate"
    try:
        eku_ext = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        has_eku = eku in eku_ext
    except x509.ExtensionNotFound:
        has_eku = False
    if not has_eku:
        want = "clientAuth" if eku == ExtendedKeyUsageOID.CLIENT_AUTH else "serverAuth"
        return f"wrong usage: extended key usage {usage_names(leaf)} lacks {want}"
    if server_name is not None and server_name not in _san_hosts(leaf):
        return f"wrong host name: {server_name} not in {_san_hosts(leaf)}"
    if not issuer.not_valid_before_utc <= at <= issuer.not_valid_after_utc:
        return f"issuer expired or not yet valid: {issuer.subject.rfc4514_string()}"
    return f"invalid chain: {detail}"
