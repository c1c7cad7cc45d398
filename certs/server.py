"""HTTPS server certificates (the investigators' desk): TLS server only, no federation identity.

A server certificate is what a browser or an HTTP client checks when it opens the desk:
ECDSA P-256, ``serverAuth`` only, the desk's host names and addresses in DNS/IP SANs, and
**no** country SAN URI and no ``clientAuth``, so that it can never pass as a node
(:class:`~certs.verify.PeerVerifier` refuses a certificate without both). Issue it from the
agency's own web CA, not from the federation root: the federation CA key stays offline and
vouches for nodes only (docs/pki.md).

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from certs import init_ca
    >>> from certs.server import issue_server_certificate
    >>> tmp = Path(tempfile.mkdtemp())
    >>> web_ca = init_ca(tmp / "web-ca", "Example agency web CA")
    >>> files = issue_server_certificate(web_ca, tmp / "desk", hosts=["desk.de.example"])
    >>> files.cert_path.name, files.key_path.name
    ('server.pem', 'server.key')
"""

from __future__ import annotations

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

from certs._files import write_atomic, write_private_key
from certs.ca import CLOCK_SKEW, CAFiles
from certs.issue import host_names, leaf_builder
from fedlookup.errors import ConfigError, InputError

__all__ = ["DEFAULT_SERVER_DAYS", "ServerCertFiles", "issue_server_certificate"]

#: Default validity of a server certificate (browsers accept at most 398 days).
DEFAULT_SERVER_DAYS = 90


@dataclass(frozen=True)
class ServerCertFiles:
    """A server's credential folder.

    Attributes:
        cert_path: ``server.pem``, the certificate.
        key_path: ``server.key``, mode 0600.
        ca_path: ``ca.pem``, a copy of the issuing CA (what clients must trust).
    """

    cert_path: Path
    key_path: Path
    ca_path: Path

    @classmethod
    def in_dir(cls, directory: Path) -> ServerCertFiles:
        """The standard file names inside ``directory``."""
        d = Path(directory)
        return cls(d / "server.pem", d / "server.key", d / "ca.pem")


def issue_server_certificate(
    ca: CAFiles,
    out_dir: Path,
    *,
    hosts: Sequence[str],
    days: int = DEFAULT_SERVER_DAYS,
    replace: bool = False,
) -> ServerCertFiles:
    """Issue a TLS server certificate for ``hosts`` into ``out_dir`` with a new key.

    Args:
        ca: the issuing CA (a web CA of the agency's, not the federation root).
        out_dir: folder for ``server.pem``, ``server.key`` (0600) and a copy of ``ca.pem``.
        hosts: DNS names and IP addresses the server answers under; the first is the
            subject's common name.
        days: validity in days from now.
        replace: overwrite a key already in ``out_dir`` (renewal, with a new key).

    Returns:
        The files written.

    Raises:
        InputError: no host, or a malformed one.
        ConfigError: a validity under one day or beyond the CA's, or ``out_dir`` already
            holding a key without ``replace``.
    """
    if not hosts:
        raise InputError("a server certificate needs at least one host name", field="hosts")
    names = host_names(hosts)
    if days < 1:
        raise ConfigError("days", "validity must be at least one day")
    files = ServerCertFiles.in_dir(Path(out_dir))
    if files.key_path.exists() and not replace:
        raise ConfigError("out", f"{files.key_path} exists; pass --replace to renew")
    ca_cert = ca.certificate()
    start = (datetime.now(UTC) - CLOCK_SKEW).replace(microsecond=0)
    if start + timedelta(days=days) > ca_cert.not_valid_after_utc:
        raise ConfigError(
            "days", f"would outlive the CA, valid until {ca_cert.not_valid_after_utc}"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
        ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    cert = leaf_builder(
        subject, ca_cert.subject, key.public_key(), start=start, days=days,
        ekus=[ExtendedKeyUsageOID.SERVER_AUTH], names=names, ski=ski, aki=aki,
    ).sign(ca.private_key(), hashes.SHA256())  # fmt: skip
    files.key_path.parent.mkdir(parents=True, exist_ok=True)
    write_private_key(files.key_path, key)
    write_atomic(files.cert_path, cert.public_bytes(Encoding.PEM))
    shutil.copyfile(ca.cert_path, files.ca_path)
    ca.record_issued(cert, None, hosts)
    return files
