"""Node certificates: issue and renew.

A node certificate is ECDSA P-256 (grpc's TLS stack refuses Ed25519), valid for a short
time (30 days by default), names its country in one SAN URI, its host names and addresses
in DNS/IP SANs, and may serve as both TLS server and TLS client (a node is both).

The parameters that make a bad certificate (a window in the past, no ``clientAuth``, no
country, self-signed) are ordinary arguments: the test PKI uses them, nothing else is needed.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs._files import load_certificate, load_private_key, write_atomic, write_private_key
from certs.ca import CLOCK_SKEW, CAFiles
from certs.identity import (
    certificate_country,
    country_uri,
    validate_country,
)
from fedlookup.errors import CertificateError, ConfigError, InputError

__all__ = [
    "DEFAULT_HOSTS",
    "DEFAULT_NODE_DAYS",
    "NodeCertFiles",
    "host_names",
    "issue_node_certificate",
    "renew",
    "sign_public_key",
]

#: Default validity of a node certificate; renew well before it ends.
DEFAULT_NODE_DAYS = 30
#: Default host names and addresses a node certificate covers.
DEFAULT_HOSTS = ("localhost", "127.0.0.1")

_USAGES = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


@dataclass(frozen=True)
class NodeCertFiles:
    """A node's credential folder.

    Attributes:
        cert_path: ``node.pem``, the node certificate alone (peers hold the root).
        key_path: ``node.key``, mode 0600.
        ca_path: ``ca.pem``, a copy of the federation root the node trusts.
    """

    cert_path: Path
    key_path: Path
    ca_path: Path

    @classmethod
    def in_dir(cls, directory: Path) -> NodeCertFiles:
        """The standard file names inside ``directory``."""
        d = Path(directory)
        return cls(d / "node.pem", d / "node.key", d / "ca.pem")


def _general_names(country: str | None, hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    if country is not None:
        names.append(x509.UniformResourceIdentifier(country_uri(country)))
    return names + host_names(hosts)


def host_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """``hosts`` as SAN entries: an IP address as ``IPAddress``, anything else as ``DNSName``.

    Raises:
        InputError: an empty host or one containing white space.
    """
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if not host or any(c.isspace() for c in host):
                raise InputError(f"invalid host name {host!r}", field="hosts") from None
            names.append(x509.DNSName(host))
    return names


def _build(
    ca: CAFiles | None,
    country: str | None,
    public_key: ec.EllipticCurvePublicKey,
    *,
    hosts: Sequence[str],
    start: datetime,
    days: int,
    usages: Sequence[str] = ("serverAuth", "clientAuth"),
    self_key: ec.EllipticCurvePrivateKey | None = None,
) -> x509.Certificate:
    """The node certificate for ``public_key``, signed by ``ca`` (or by ``self_key``)."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"fedlookup node {country or '--'}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    signing_key: ec.EllipticCurvePrivateKey
    if ca is not None:
        ca_cert = ca.certificate()
        signing_key, issuer = ca.private_key(), ca_cert.subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        )
    else:
        assert self_key is not None
        signing_key, issuer = self_key, subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    ekus = [_USAGES[u] for u in usages]
    names = _general_names(country, hosts)
    builder = leaf_builder(subject, issuer, public_key, start=start, days=days, ekus=ekus,
                           names=names, ski=ski, aki=aki)  # fmt: skip
    return builder.sign(signing_key, hashes.SHA256())


def leaf_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    start: datetime,
    days: int,
    ekus: Sequence[x509.ObjectIdentifier],
    names: Sequence[x509.GeneralName],
    ski: x509.SubjectKeyIdentifier,
    aki: x509.AuthorityKeyIdentifier,
) -> x509.CertificateBuilder:
    """An end-entity certificate, ready to sign: not a CA, digital signature only, the
    extended key usages ``ekus``, subject alternative names ``names``, key identifiers."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )


def sign_public_key(
    ca: CAFiles,
    country: str,
    public_key: ec.EllipticCurvePublicKey,
    *,
    hosts: Sequence[str],
    days: int = DEFAULT_NODE_DAYS,
) -> x509.Certificate:
    """Issue a node certificate for a key the CA never sees (a certificate request's).

    Args:
        ca: the issuing CA.
        country: the node's country (SAN URI).
        public_key: the node's ECDSA P-256 public key.
        hosts: DNS names and IP addresses.
        days: validity in days from now.

    Returns:
        The certificate, recorded in the CA's ledger.

    Raises:
        InputError: malformed country or host.
        ConfigError: bad validity, or a validity beyond the root's.
    """
    validate_country(country)
    if days < 1:
        raise ConfigError("days", "validity must be at least one day")
    start = (datetime.now(UTC) - CLOCK_SKEW).replace(microsecond=0)
    if start + timedelta(days=days) > ca.certificate().not_valid_after_utc:
        raise ConfigError("days", "would outlive the root")
    cert = _build(ca, country, public_key, hosts=hosts, start=start, days=days)
    ca.record_issued(cert, country, hosts)
    return cert


def issue_node_certificate(
    ca: CAFiles | None,
    country: str | None,
    out_dir: Path,
    *,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    days: int = DEFAULT_NODE_DAYS,
    not_before: datetime | None = None,
    usages: Sequence[str] = ("serverAuth", "clientAuth"),
    key: ec.EllipticCurvePrivateKey | None = None,
    self_signed: bool = False,
    replace: bool = False,
) -> NodeCertFiles:
    """Issue a node certificate for ``country`` into ``out_dir`` (``node.pem``, ``node.key``).

    Args:
        ca: the issuing CA; ``None`` only with ``self_signed=True``.
        country: ISO 3166-1 alpha-2 code written in the SAN URI; ``None`` writes no country
            (a certificate every verifier refuses; for tests).
        out_dir: folder for ``node.pem``, ``node.key`` (0600) and a copy of ``ca.pem``.
        hosts: DNS names and IP addresses the node serves under.
        days: validity in days from ``not_before``.
        not_before: start of validity (default: now less a small clock allowance).
        usages: extended key usages, from ``serverAuth`` and ``clientAuth``.
        key: reuse this key (renewal) instead of generating one.
        self_signed: sign with the node's own key (a certificate nobody trusts; for tests).
        replace: overwrite the credentials already in ``out_dir`` (renewal).

    Returns:
        The files written.

    Raises:
        InputError: malformed country or host.
        ConfigError: bad validity or usages, ``ca``/``self_signed`` inconsistent, a
            validity beyond the root's, or ``out_dir`` already holding a key.
    """
    if country is not None:
        validate_country(country)
    if days < 1:
        raise ConfigError("days", "validity must be at least one day")
    if (ca is None) != self_signed:
        raise ConfigError("ca", "give a CA, or no CA with self_signed=True")
    unknown = set(usages) - set(_USAGES)
    if unknown or not usages:
        raise ConfigError("usages", f"choose from {sorted(_USAGES)}, got {list(usages)}")
    files = NodeCertFiles.in_dir(Path(out_dir))
    if files.key_path.exists() and not replace:
        raise ConfigError("out", f"{files.key_path} exists; use `fedlookup ca renew`")
    start = (not_before or datetime.now(UTC) - CLOCK_SKEW).replace(microsecond=0)
    ca_cert = ca.certificate() if ca is not None else None
    if ca_cert is not None and start + timedelta(days=days) > ca_cert.not_valid_after_utc:
        raise ConfigError(
            "days", f"would outlive the root, valid until {ca_cert.not_valid_after_utc}"
        )
    key = key or ec.generate_private_key(ec.SECP256R1())
    cert = _build(
        ca if ca is not None and ca_cert is not None else None,
        country,
        key.public_key(),
        hosts=hosts,
        start=start,
        days=days,
        usages=usages,
        self_key=key,
    )
    write_private_key(files.key_path, key)
    write_atomic(files.cert_path, cert.public_bytes(Encoding.PEM))
    if ca is not None:
        shutil.copyfile(ca.cert_path, files.ca_path)
        ca.record_issued(cert, country, hosts)
    return files


def renew(
    ca: CAFiles,
    cert_path: Path,
    *,
    days: int = DEFAULT_NODE_DAYS,
    new_key: bool = False,
) -> NodeCertFiles:
    """Issue a fresh certificate replacing ``cert_path``: same country, same hosts.

    The key is kept by default, so the key fingerprint pinned in the federation directory
    still matches; ``new_key=True`` rotates it (publish a new directory afterwards). The
    old certificate stays valid until it expires unless revoked (``superseded``).

    Args:
        ca: the issuing CA.
        cert_path: the current node certificate; its key is ``node.key`` beside it.
        days: validity of the new certificate.
        new_key: generate a new key instead of reusing the current one.

    Returns:
        The files rewritten (same folder).

    Raises:
        InputError: the certificate is unreadable or names no country.
    """
    old = load_certificate(cert_path)
    try:
        country = certificate_country(old)
        san = old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (CertificateError, x509.ExtensionNotFound) as exc:
        raise InputError(f"cannot renew: {exc}", file=str(cert_path)) from exc
    if Path(cert_path).name != "node.pem":
        raise InputError("renew expects a node.pem from `fedlookup ca issue`", file=str(cert_path))
    hosts = [*san.get_values_for_type(x509.DNSName)]
    hosts += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    folder = Path(cert_path).parent
    key = None if new_key else load_private_key(NodeCertFiles.in_dir(folder).key_path)
    return issue_node_certificate(
        ca, country, folder, hosts=hosts, days=days, key=key, replace=True
    )
