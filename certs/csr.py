"""Certificate requests: a node's key never leaves the node.

The node writes a PKCS#10 request (``fedlookup node csr``) signed with its own key; the
authority checks it and issues the certificate (``fedlookup ca sign-csr``); the node
installs the certificate after checking it matches its key and chains to the root
(``fedlookup node install-cert``). The same three steps serve a first issue, a renewal
with the same key (the directory's pin still matches) and a key rotation (``--new-key``:
the new key waits beside the old one until its certificate is installed).

What the authority reads from a request: the country (the SAN URI
``urn:fedlookup:country:CC``), the host names and addresses (DNS/IP SANs) and the public
key, which must be ECDSA P-256 (grpc's TLS refuses Ed25519). The request's signature
proves the requester holds the key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from certs.identity import COUNTRY_URI_PREFIX, country_uri, validate_country
from fedlookup.errors import CertificateError, InputError

__all__ = ["NodeRequest", "create_csr", "read_csr", "require_matching_key"]


@dataclass(frozen=True)
class NodeRequest:
    """A verified certificate request.

    Attributes:
        country: the country the request names.
        hosts: its DNS names and IP addresses.
        public_key: the requester's P-256 public key.
    """

    country: str
    hosts: tuple[str, ...]
    public_key: ec.EllipticCurvePublicKey


def create_csr(key: ec.EllipticCurvePrivateKey, country: str, hosts: Sequence[str]) -> bytes:
    """A PEM certificate request for a node of ``country`` serving under ``hosts``.

    Raises:
        InputError: a malformed country or host.
    """
    validate_country(country)
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(country_uri(country))]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if not host or any(c.isspace() for c in host):
                raise InputError(f"invalid host name {host!r}", field="--host") from None
            names.append(x509.DNSName(host))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"fedlookup node {country}")])
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.PEM)


def read_csr(path: Path) -> NodeRequest:
    """Read and check a node's certificate request.

    Raises:
        InputError: unreadable, not a PEM request, a bad signature, a key other than
            P-256, or no (or more than one) country; the message names the file.
    """
    where = str(path)
    try:
        csr = x509.load_pem_x509_csr(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=where) from exc
    except ValueError as exc:
        raise InputError("not a PEM certificate request", file=where) from exc
    if not csr.is_signature_valid:
        raise InputError("the request's signature does not verify", file=where)
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InputError("the key must be ECDSA P-256", file=where)
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise InputError("no subject alternative names (country, hosts)", file=where) from exc
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
    countries = [u[len(COUNTRY_URI_PREFIX) :] for u in uris if u.startswith(COUNTRY_URI_PREFIX)]
    if len(countries) != 1:
        raise InputError(f"expected one country URI, found {len(countries)}", file=where)
    country = validate_country(countries[0], field="country")
    hosts = [*san.get_values_for_type(x509.DNSName)]
    hosts += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return NodeRequest(country, tuple(hosts), key)


def require_matching_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    """Raise unless ``cert`` certifies ``key``'s public half.

    Raises:
        CertificateError: the certificate is for another key.
    """
    if cert.public_key() != key.public_key():
        raise CertificateError("the certificate is for another key than this node's")
