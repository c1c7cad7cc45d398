"""The federation root CA: one ECDSA P-256 key, a self-signed certificate, a CRL, a ledger.

A CA folder holds ``ca.pem`` (the trust anchor every node gets), ``ca.key`` (0600; it never
leaves the authority), ``crl.pem`` (the revocation list, signed by ``ca.key``) and
``issued.json`` (one line per certificate issued: serial, country, fingerprints, validity).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from certs._files import (
    load_certificate,
    load_crl,
    load_private_key,
    write_atomic,
    write_private_key,
)
from certs.identity import certificate_fingerprint, key_fingerprint
from fedlookup.errors import ConfigError, InputError

__all__ = ["DEFAULT_CA_DAYS", "DEFAULT_CRL_DAYS", "CAFiles", "init_ca"]

#: Default validity of the root certificate (ten years).
DEFAULT_CA_DAYS = 3650
#: Default lifetime of a CRL before it must be re-signed (``fedlookup ca crl``).
DEFAULT_CRL_DAYS = 7

# Allow for clocks a little behind the authority's when a certificate is first used.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CAFiles:
    """The files of a federation CA folder.

    Args:
        directory: the CA folder.
    """

    directory: Path

    @property
    def cert_path(self) -> Path:
        """``ca.pem``: the root certificate (the federation's trust anchor)."""
        return self.directory / "ca.pem"

    @property
    def key_path(self) -> Path:
        """``ca.key``: the authority's private key, mode 0600."""
        return self.directory / "ca.key"

    @property
    def crl_path(self) -> Path:
        """``crl.pem``: the current revocation list."""
        return self.directory / "crl.pem"

    @property
    def ledger_path(self) -> Path:
        """``issued.json``: what the CA has issued and revoked."""
        return self.directory / "issued.json"

    @classmethod
    def open(cls, directory: Path) -> CAFiles:
        """Open an existing CA folder.

        Raises:
            ConfigError: the folder lacks ``ca.pem``, ``ca.key`` or ``crl.pem``.
        """
        ca = cls(Path(directory))
        for path in (ca.cert_path, ca.key_path, ca.crl_path):
            if not path.is_file():
                raise ConfigError(
                    "ca.dir", f"{path.name} missing (run `fedlookup ca init`)", str(directory)
                )
        return ca

    def certificate(self) -> x509.Certificate:
        """The root certificate."""
        return load_certificate(self.cert_path)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The authority's key (refused if the file is readable by others)."""
        return load_private_key(self.key_path)

    def crl(self) -> x509.CertificateRevocationList:
        """The current revocation list."""
        return load_crl(self.crl_path)

    def ledger(self) -> list[dict[str, Any]]:
        """Entries of ``issued.json``, oldest first (empty when absent)."""
        if not self.ledger_path.exists():
            return []
        try:
            data = json.loads(self.ledger_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"unreadable ledger: {exc}", file=str(self.ledger_path)) from exc
        entries = data.get("issued") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InputError("expected an object with an 'issued' list", file=str(self.ledger_path))
        return entries

    def record_issued(
        self, cert: x509.Certificate, country: str | None, hosts: Sequence[str]
    ) -> None:
        """Append a newly issued certificate to ``issued.json``."""
        ledger = self.ledger()
        ledger.append(
            {
                "serial": format(cert.serial_number, "x"),
                "country": country,
                "hosts": list(hosts),
                "not_before": cert.not_valid_before_utc.isoformat(),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "fingerprint": certificate_fingerprint(cert),
                "key_fingerprint": key_fingerprint(cert),
                "revoked": None,
            }
        )
        self.write_ledger(ledger)

    def write_ledger(self, entries: list[dict[str, Any]]) -> None:
        """Replace ``issued.json`` atomically."""
        text = json.dumps({"issued": entries}, indent=2, sort_keys=True) + "\n"
        write_atomic(self.ledger_path, text.encode("utf-8"))


def init_ca(
    out_dir: Path,
    name: str,
    *,
    days: int = DEFAULT_CA_DAYS,
    crl_days: int = DEFAULT_CRL_DAYS,
    not_before: datetime | None = None,
) -> CAFiles:
    """Create a federation root CA in ``out_dir``.

    Args:
        out_dir: folder to create (or an empty existing one).
        name: the federation's name, used as the root's common name.
        days: validity of the root certificate.
        crl_days: lifetime of the first (empty) revocation list.
        not_before: start of validity (default: now less a small clock allowance).

    Returns:
        The new CA's files.

    Raises:
        ConfigError: ``out_dir`` already holds a CA key, or ``name``/``days`` is invalid.
    """
    from certs.crl import write_crl  # certs.crl imports this module

    if not name.strip():
        raise ConfigError("ca.name", "must not be empty")
    if days < 1 or crl_days < 1:
        raise ConfigError("ca.days", "validity must be at least one day")
    ca = CAFiles(Path(out_dir))
    if ca.key_path.exists():
        raise ConfigError("ca.dir", "already holds ca.key; refusing to overwrite", str(out_dir))
    start = (not_before or datetime.now(UTC) - CLOCK_SKEW).replace(microsecond=0)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name.strip())])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    write_private_key(ca.key_path, key)
    write_atomic(ca.cert_path, cert.public_bytes(Encoding.PEM))
    write_crl(ca, [], number=1, days=crl_days, key=key, cert=cert)
    ca.write_ledger([])
    return ca
