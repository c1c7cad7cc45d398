"""What a certificate says, as a plain dictionary (``fedlookup ca inspect``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from certs._files import load_certificate, load_crl
from certs.identity import (
    certificate_country,
    certificate_fingerprint,
    key_fingerprint,
    usage_names,
)
from fedlookup.errors import CertificateError

__all__ = ["inspect_certificate"]


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def inspect_certificate(
    path: Path, *, crl_path: Path | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Describe the certificate at ``path``.

    Args:
        path: a PEM certificate (a node's ``node.pem`` or the CA's ``ca.pem``).
        crl_path: a revocation list to look the serial up in (``revoked`` is ``None``
            when not given).
        now: the time ``valid_now`` refers to (default: now).

    Returns:
        ``subject``, ``issuer``, ``serial`` (hex), ``country`` (or ``None``), ``sans``
        (``dns``, ``ip``, ``uri`` lists), ``not_before``, ``not_after``, ``valid_now``,
        ``is_ca``, ``key_usage``, ``extended_key_usage``, ``fingerprint_sha256``,
        ``key_fingerprint_sha256``, ``revoked``.

    Raises:
        InputError: the file (or CRL) is missing or not PEM.
    """
    cert = load_certificate(Path(path))
    at = now or datetime.now(UTC)
    san = _ext(cert, x509.SubjectAlternativeName)
    bc = _ext(cert, x509.BasicConstraints)
    ku = _ext(cert, x509.KeyUsage)
    try:
        country: str | None = certificate_country(cert)
    except CertificateError:
        country = None
    usages: list[str] = []
    if ku is not None:
        for name in (
            "digital_signature",
            "key_cert_sign",
            "crl_sign",
            "key_encipherment",
            "key_agreement",
            "content_commitment",
            "data_encipherment",
        ):
            if getattr(ku, name):
                usages.append(name)
    revoked: bool | None = None
    if crl_path is not None:
        crl = load_crl(Path(crl_path))
        revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "country": country,
        "sans": {
            "dns": san.get_values_for_type(x509.DNSName) if san else [],
            "ip": [str(i) for i in san.get_values_for_type(x509.IPAddress)] if san else [],
            "uri": san.get_values_for_type(x509.UniformResourceIdentifier) if san else [],
        },
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "valid_now": cert.not_valid_before_utc <= at <= cert.not_valid_after_utc,
        "is_ca": bool(bc and bc.ca),
        "key_usage": usages,
        "extended_key_usage": usage_names(cert),
        "fingerprint_sha256": certificate_fingerprint(cert),
        "key_fingerprint_sha256": key_fingerprint(cert),
        "revoked": revoked,
    }
