"""The federation PKI: a root CA, node certificates naming their country, revocation.

A node certificate is ECDSA P-256, short-lived (30 days), usable for TLS server and client
auth, and names its country in one SAN URI ``urn:fedlookup:country:CC``
(docs/adr/0002-identity-in-certificates.md). :class:`PeerVerifier` checks a peer's
certificate offline (chain, usage, validity, revocation, country) and raises with a precise
reason; it never returns ``False``.

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from certs import init_ca, issue_node_certificate, PeerVerifier
    >>> tmp = Path(tempfile.mkdtemp())
    >>> ca = init_ca(tmp / "ca", "Example federation")
    >>> node = issue_node_certificate(ca, "DE", tmp / "DE")
    >>> verifier = PeerVerifier.from_files(ca.cert_path, ca.crl_path)
    >>> verifier.verify(node.cert_path.read_bytes()).country
    'DE'
"""

from certs.authenticate import PeerAuthenticator
from certs.ca import DEFAULT_CA_DAYS, DEFAULT_CRL_DAYS, CAFiles, init_ca
from certs.crl import REVOCATION_REASONS, refresh_crl, revoke
from certs.identity import (
    COUNTRY_URI_PREFIX,
    PeerIdentity,
    certificate_country,
    certificate_fingerprint,
    country_uri,
    key_fingerprint,
    validate_country,
)
from certs.inspect import inspect_certificate
from certs.issue import (
    DEFAULT_HOSTS,
    DEFAULT_NODE_DAYS,
    NodeCertFiles,
    issue_node_certificate,
    renew,
)
from certs.reload import CredentialFiles, ReloadingPeerVerifier
from certs.server import DEFAULT_SERVER_DAYS, ServerCertFiles, issue_server_certificate
from certs.verify import PeerVerifier

__all__ = [
    "COUNTRY_URI_PREFIX",
    "DEFAULT_CA_DAYS",
    "DEFAULT_CRL_DAYS",
    "DEFAULT_HOSTS",
    "DEFAULT_NODE_DAYS",
    "DEFAULT_SERVER_DAYS",
    "REVOCATION_REASONS",
    "CAFiles",
    "CredentialFiles",
    "NodeCertFiles",
    "PeerAuthenticator",
    "PeerIdentity",
    "PeerVerifier",
    "ReloadingPeerVerifier",
    "ServerCertFiles",
    "certificate_country",
    "certificate_fingerprint",
    "country_uri",
    "init_ca",
    "inspect_certificate",
    "issue_node_certificate",
    "issue_server_certificate",
    "key_fingerprint",
    "refresh_crl",
    "renew",
    "revoke",
    "validate_country",
]
