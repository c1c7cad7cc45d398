"""Test PKI built with the project's own ``certs`` code (a pytest plugin, session-scoped).

One federation CA with node certificates for DE, FR and NL (hosts ``localhost`` and
``127.0.0.1``), one Ed25519 audit key per country, a signed federation directory listing the
three, and one certificate per way a peer can be wrong. Every bad certificate comes from the
same recipes with different arguments; nothing here forges a certificate by hand.

Use the ``test_pki`` fixture, or :func:`build_test_pki` outside pytest::

    def test_something(test_pki: TestPKI) -> None:
        verifier = test_pki.verifier()
        assert verifier.verify(test_pki.nodes["DE"].cert_path.read_bytes()).country == "DE"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certs import (
    CAFiles,
    NodeCertFiles,
    PeerVerifier,
    init_ca,
    issue_node_certificate,
    key_fingerprint,
    revoke,
)
from certs._files import load_certificate, write_atomic

__all__ = ["ANY_SERVER", "BAD_CERTS", "COUNTRIES", "TestPKI", "build_test_pki", "test_pki"]

#: Countries with a good node certificate.
COUNTRIES = ("DE", "FR", "NL")

#: Each bad certificate, and the keyword its refusal reason starts with.
BAD_CERTS = {
    "expired": "expired",
    "not_yet_valid": "not yet valid",
    "wrong_usage": "wrong usage",
    "other_ca": "unknown issuer",
    "self_signed": "self-signed",
    "revoked": "revoked",  # RevokedError, not CertificateError
    "no_country": "no country",
    "wrong_country": "",  # valid certificate for XX: refused by the directory, not the chain
}


@dataclass(frozen=True)
class TestPKI:
    """Paths of the session's test PKI.

    Attributes:
        root: the folder holding everything.
        ca: the federation CA (its CRL lists the ``revoked`` certificate).
        other_ca: an unrelated CA (issuer of the ``other_ca`` certificate).
        nodes: good node credentials by country (``node.pem``, ``node.key``, ``ca.pem``).
        bad: bad node credentials by name (keys of :data:`BAD_CERTS`).
        audit_keys: Ed25519 audit signing key of each good country.
        audit_key_paths: PEM PKCS#8 (0600) file of each audit signing key.
        audit_pub_paths: PEM SubjectPublicKeyInfo file of each audit public key.
        directory_path: a directory signed by ``ca`` listing DE, FR, NL (version 1).
    """

    __test__ = False  # not a test class, despite its name

    root: Path
    ca: CAFiles
    other_ca: CAFiles
    nodes: dict[str, NodeCertFiles]
    bad: dict[str, NodeCertFiles]
    audit_keys: dict[str, Ed25519PrivateKey]
    audit_key_paths: dict[str, Path]
    audit_pub_paths: dict[str, Path]
    directory_path: Path

    def verifier(self) -> PeerVerifier:
        """A verifier trusting ``ca`` with its current CRL."""
        return PeerVerifier.from_files(self.ca.cert_path, self.ca.crl_path)

    def pem(self, name: str) -> bytes:
        """PEM bytes of a good (by country) or bad (by name) node certificate."""
        files = self.nodes.get(name) or self.bad[name]
        return files.cert_path.read_bytes()


def _audit_key(folder: Path) -> tuple[Ed25519PrivateKey, Path, Path]:
    key = Ed25519PrivateKey.generate()
    key_path, pub_path = folder / "audit.key", folder / "audit.pub"
    write_atomic(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        mode=0o600,
    )
    write_atomic(
        pub_path,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return key, key_path, pub_path


def build_test_pki(root: Path) -> TestPKI:
    """Build the whole test PKI under ``root`` (about 20 P-256 keys: well under a second)."""
    from federation.directory import write_directory
    from federation.directory_model import Directory, DirectoryLimits, Member

    now = datetime.now(UTC)
    ca = init_ca(root / "ca", "fedlookup test federation")
    other_ca = init_ca(root / "other-ca", "some other authority")
    nodes = {cc: issue_node_certificate(ca, cc, root / cc) for cc in COUNTRIES}
    bad_dir = root / "bad"
    bad = {
        "expired": issue_node_certificate(
            ca, "DE", bad_dir / "expired", not_before=now - timedelta(days=10), days=1
        ),
        "not_yet_valid": issue_node_certificate(
            ca, "DE", bad_dir / "not_yet_valid", not_before=now + timedelta(days=10), days=30
        ),
        "wrong_usage": issue_node_certificate(
            ca, "DE", bad_dir / "wrong_usage", usages=("serverAuth",)
        ),
        "other_ca": issue_node_certificate(other_ca, "DE", bad_dir / "other_ca"),
        "self_signed": issue_node_certificate(
            None, "DE", bad_dir / "self_signed", self_signed=True
        ),
        "revoked": issue_node_certificate(ca, "DE", bad_dir / "revoked"),
        "no_country": issue_node_certificate(ca, None, bad_dir / "no_country"),
        "wrong_country": issue_node_certificate(ca, "XX", bad_dir / "wrong_country"),
    }
    revoke(ca, bad["revoked"].cert_path, "keyCompromise")
    audit = {cc: _audit_key(root / cc) for cc in COUNTRIES}
    members = [
        Member(
            country=cc,
            endpoint=f"127.0.0.1:{50051 + i}",
            key_fingerprint=key_fingerprint(load_certificate(nodes[cc].cert_path)),
            audit_public_key=audit[cc][0].public_key().public_bytes_raw(),
            limits=DirectoryLimits(max_items_per_request=1000, items_per_day=100_000),
        )
        for i, cc in enumerate(COUNTRIES)
    ]
    directory = Directory(
        federation="fedlookup test federation", version=1, issued_at=now, members=tuple(members)
    )
    directory_path = root / "directory.json"
    write_directory(directory, ca, directory_path)
    return TestPKI(
        root=root,
        ca=ca,
        other_ca=other_ca,
        nodes=nodes,
        bad=bad,
        audit_keys={cc: a[0] for cc, a in audit.items()},
        audit_key_paths={cc: a[1] for cc, a in audit.items()},
        audit_pub_paths={cc: a[2] for cc, a in audit.items()},
        directory_path=directory_path,
    )


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """The session's test PKI (see :class:`TestPKI`). Treat its files as read-only; copy
    the CA folder first if a test must revoke or re-sign."""
    return build_test_pki(tmp_path_factory.mktemp("pki"))


class AnyServer:
    """A ``server_check`` that accepts whatever node answers (the chain is still checked).

    For tests of a *server's* behaviour, which dial it directly with a hand-built
    ``GrpcTransport``; the client's check of the answering node is tested in
    ``tests/adversarial/test_impostor_endpoint.py`` and ``tests/unit/certs``.
    """

    def check_server(self, country: str, cert: bytes, host: str) -> object:
        """Accept (see the class docstring)."""
        return None


#: The one instance tests pass as ``server_check=ANY_SERVER``.
ANY_SERVER = AnyServer()
