"""The federation's revocation list: revoke a node certificate, re-sign the CRL.

The CRL carries a CRL number that grows by one at each signing and a ``next_update``
a few days ahead; verifiers refuse a CRL past its ``next_update`` (fail closed), so the
authority re-signs it on a schedule (``fedlookup ca crl``) even when nothing changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from certs._files import load_certificate, write_atomic
from certs.ca import DEFAULT_CRL_DAYS, CAFiles
from certs.verify import crl_number
from fedlookup.errors import InputError

__all__ = ["REVOCATION_REASONS", "refresh_crl", "revoke", "write_crl"]

#: Reasons ``revoke`` accepts (RFC 5280 names), mapped to their CRL reason codes.
REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
}


def write_crl(
    ca: CAFiles,
    revoked: Sequence[x509.RevokedCertificate],
    *,
    number: int,
    days: int = DEFAULT_CRL_DAYS,
    key: ec.EllipticCurvePrivateKey | None = None,
    cert: x509.Certificate | None = None,
    now: datetime | None = None,
) -> x509.CertificateRevocationList:
    """Sign a CRL holding ``revoked`` and write it to ``ca.crl_path`` atomically.

    Args:
        ca: the CA whose key signs.
        revoked: every revoked entry the list must hold.
        number: the CRL number (must grow with each signing).
        days: days until ``next_update``.
        key: the CA key when already loaded (else read from ``ca.key``).
        cert: the CA certificate when already loaded.
        now: signing time (default: now).

    Returns:
        The CRL written.
    """
    key = key or ca.private_key()
    cert = cert or ca.certificate()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(key, hashes.SHA256())
    write_atomic(ca.crl_path, crl.public_bytes(Encoding.PEM))
    return crl


def refresh_crl(ca: CAFiles, *, days: int = DEFAULT_CRL_DAYS) -> x509.CertificateRevocationList:
    """Re-sign the current CRL with a later ``next_update`` and the next CRL number.

    Returns:
        The CRL written.
    """
    crl = ca.crl()
    return write_crl(ca, list(crl), number=crl_number(crl) + 1, days=days)


def revoke(
    ca: CAFiles,
    cert_path: Path,
    reason: str = "unspecified",
    *,
    days: int = DEFAULT_CRL_DAYS,
    now: datetime | None = None,
) -> x509.CertificateRevocationList:
    """Revoke the certificate at ``cert_path`` and re-sign the CRL.

    Revoking a certificate already on the list changes nothing but the CRL's freshness.

    Args:
        ca: the CA that issued the certificate.
        cert_path: the node certificate (PEM).
        reason: one of :data:`REVOCATION_REASONS`.
        days: days until the new CRL's ``next_update``.
        now: revocation time (default: now).

    Returns:
        The CRL written.

    Raises:
        InputError: unknown reason, unreadable certificate, or one this CA did not issue.
    """
    if reason not in REVOCATION_REASONS:
        raise InputError(
            f"unknown revocation reason {reason!r}; one of {sorted(REVOCATION_REASONS)}",
            field="reason",
        )
    ca_cert = ca.certificate()
    cert = load_certificate(cert_path)
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise InputError("certificate was not issued by this CA", file=str(cert_path)) from exc
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    crl = ca.crl()
    entries = list(crl)
    if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is None:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now)
            .add_extension(x509.CRLReason(REVOCATION_REASONS[reason]), critical=False)
            .build()
        )
        entries.append(entry)
        _mark_revoked(ca, cert.serial_number, reason, now)
    return write_crl(ca, entries, number=crl_number(crl) + 1, days=days, cert=ca_cert, now=now)


def _mark_revoked(ca: CAFiles, serial: int, reason: str, when: datetime) -> None:
    ledger = ca.ledger()
    for item in ledger:
        if item.get("serial") == format(serial, "x"):
            item["revoked"] = {"at": when.isoformat(), "reason": reason}
    ca.write_ledger(ledger)
