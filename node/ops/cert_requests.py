"""A node's side of certificate requests: ``fedlookup node csr`` and ``node install-cert``.

``csr`` signs a request with the node's TLS key (``tls.key``), or with a new key kept
beside it as ``<tls.key>.new`` (0600) until its certificate is installed; with no key yet
(a node set up without ``--ca-dir``) the new key becomes ``tls.key`` directly. The host
names default to those of the current certificate, else ``localhost`` and ``127.0.0.1``.

``install-cert`` checks the certificate the authority returned before it replaces
``tls.cert``: it chains to ``tls.ca``, is not revoked by ``tls.crl``, names this node's
country, is valid now for both TLS roles, and certifies the waiting new key (which then
replaces ``tls.key``) or the current one. A serving node takes the new files up without
restart (``certs.reload``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from certs import DEFAULT_HOSTS, PeerVerifier
from certs._files import load_certificate, load_private_key, write_private_key
from certs.csr import create_csr, require_matching_key
from fedlookup.errors import CertificateError, FedlookupError
from fedlookup.files import write_atomic
from node.config import NodeConfig

__all__ = ["CsrReport", "InstallReport", "install_certificate", "pending_key_path", "write_csr"]


@dataclass(frozen=True)
class CsrReport:
    """What ``node csr`` wrote: the request, the key it is for, and what it asks."""

    request: Path
    key: Path
    new_key: bool
    country: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class InstallReport:
    """What ``node install-cert`` installed."""

    cert: Path
    key_rotated: bool
    country: str
    not_after: str
    fingerprint: str


def pending_key_path(cfg: NodeConfig) -> Path:
    """Where a new key waits for its certificate."""
    return cfg.tls.key.with_name(cfg.tls.key.name + ".new")


def _hosts_of(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    hosts = [*san.get_values_for_type(x509.DNSName)]
    hosts += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(hosts)


def _current_hosts(cfg: NodeConfig) -> tuple[str, ...]:
    try:
        cert = load_certificate(cfg.tls.cert)
    except FedlookupError:
        return DEFAULT_HOSTS
    return _hosts_of(cert) or DEFAULT_HOSTS


def write_csr(
    cfg: NodeConfig, out: Path, *, hosts: Sequence[str] = (), new_key: bool = False
) -> CsrReport:
    """Write a certificate request for this node to ``out``.

    Args:
        cfg: the node configuration (country, TLS key and certificate paths).
        out: the request file (PEM), for the authority.
        hosts: host names and addresses; default: the current certificate's.
        new_key: request for a new key (kept as :func:`pending_key_path`).

    Returns:
        What was written.

    Raises:
        KeyFileError: the current key cannot be read.
        InputError: a malformed host name.
    """
    first = not cfg.tls.key.exists()
    if first or new_key:
        key = ec.generate_private_key(ec.SECP256R1())
        key_path = cfg.tls.key if first else pending_key_path(cfg)
        write_private_key(key_path, key)
    else:
        key_path = cfg.tls.key
        key = load_private_key(key_path)
    chosen = tuple(hosts) or _current_hosts(cfg)
    write_atomic(out, create_csr(key, cfg.node.country, chosen))
    return CsrReport(out, key_path, first or new_key, cfg.node.country, chosen)


def install_certificate(cfg: NodeConfig, cert_path: Path) -> InstallReport:
    """Check ``cert_path`` against this node and install it as ``tls.cert``.

    Raises:
        CertificateError: not from the federation root, revoked, expired, for another
            country, or for neither the waiting nor the current key (nothing is changed).
        InputError, KeyFileError: a file cannot be read.
    """
    cert = load_certificate(cert_path)
    verifier = PeerVerifier.from_files(cfg.tls.ca, cfg.tls.crl)
    identity = verifier.verify(cert, usage="client", expected_country=cfg.node.country)
    for host in _hosts_of(cert)[:1]:
        verifier.verify(cert, usage="server", server_name=host, expected_country=identity.country)
    pending = pending_key_path(cfg)
    rotated = False
    try:
        require_matching_key(cert, load_private_key(cfg.tls.key))
    except CertificateError:
        if not pending.exists():
            raise
        require_matching_key(cert, load_private_key(pending))
        rotated = True
    pem = cert.public_bytes(Encoding.PEM)
    if rotated:
        # Key first, then certificate: the reloader takes the pair up when both changed.
        pending.replace(cfg.tls.key)
    write_atomic(cfg.tls.cert, pem)
    return InstallReport(
        cfg.tls.cert,
        rotated,
        identity.country,
        identity.not_after.isoformat(),
        identity.fingerprint,
    )
