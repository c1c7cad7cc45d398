"""Offline verification of a peer's certificate: chain, usage, revocation, country.

grpc's TLS stack already checks the chain during the handshake, but Python exposes no CRL
hook and no way to state *why* a handshake failed. The node therefore verifies the peer's
certificate again with :class:`PeerVerifier` (in a server interceptor) to check revocation,
read the country, and log a precise reason for every refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from certs._files import load_certificates, load_crl
from certs.diagnose import diagnose, parse_peer_certificate, server_subject
from certs.identity import (
    PeerIdentity,
    certificate_country,
    certificate_fingerprint,
    key_fingerprint,
    validate_country,
)
from fedlookup.errors import CertificateError, ConfigError, CountryMismatchError, RevokedError

__all__ = ["PeerVerifier"]

Usage = Literal["client", "server"]


def _crl_signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    if crl.issuer != ca.subject:
        return False
    try:
        return crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError, InvalidSignature):
        return False


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's CRLNumber extension (0 when it has none)."""
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


def _require_eku(leaf: x509.Certificate, usage: Usage) -> None:
    """RFC 5280 lets a certificate without the extension serve any purpose; a federation
    node certificate must say what it is for (issue_node_certificate sets both)."""
    wanted = (
        ExtendedKeyUsageOID.SERVER_AUTH if usage == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    )
    name = "serverAuth" if usage == "server" else "clientAuth"
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateError(f"wrong usage: no extended key usage (needs {name})") from None
    if wanted not in eku:
        raise CertificateError(f"wrong usage: extended key usage lacks {name}")


class PeerVerifier:
    """Verifies node certificates against the federation roots and revocation lists.

    Args:
        ca_certs: the federation root certificates (more than one during a key rollover).
        crls: a revocation list from each root; a CRL not signed by one of the roots is
            refused, and a certificate whose root has no CRL is refused (fail closed).

    Raises:
        ConfigError: no root, or a CRL no root signed.

    Example::

        verifier = PeerVerifier.from_files([Path("ca/ca.pem")], [Path("ca/crl.pem")])
        identity = verifier.verify(pem_bytes)      # PeerIdentity(country="DE", ...)
    """

    def __init__(
        self,
        ca_certs: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList],
    ) -> None:
        if not ca_certs:
            raise ConfigError("tls.ca", "at least one federation root certificate is needed")
        self._roots = list(ca_certs)
        self._store = Store(self._roots)
        # Keyed by the root's fingerprint: an old and a new root may share a name.
        self._crls: dict[str, x509.CertificateRevocationList] = {}
        for crl in crls:
            signers = [r for r in self._roots if _crl_signed_by(crl, r)]
            if not signers:
                raise ConfigError(
                    "tls.crl",
                    f"revocation list of {crl.issuer.rfc4514_string()} is not "
                    "signed by a federation root",
                )
            for root in signers:
                held = self._crls.get(certificate_fingerprint(root))
                if held is None or crl.last_update_utc > held.last_update_utc:
                    self._crls[certificate_fingerprint(root)] = crl

    @classmethod
    def from_files(
        cls, ca_paths: Sequence[Path] | Path, crl_paths: Sequence[Path] | Path
    ) -> PeerVerifier:
        """Build a verifier from PEM files (each CA file may hold several roots)."""
        ca_list = [ca_paths] if isinstance(ca_paths, Path) else list(ca_paths)
        crl_list = [crl_paths] if isinstance(crl_paths, Path) else list(crl_paths)
        roots = [c for p in ca_list for c in load_certificates(Path(p))]
        return cls(roots, [load_crl(Path(p)) for p in crl_list])

    def crl_numbers(self) -> dict[str, int]:
        """The CRL number held for each root, keyed by the root's fingerprint (0: none)."""
        return {fp: crl_number(crl) for fp, crl in self._crls.items()}

    @property
    def roots(self) -> list[x509.Certificate]:
        """The trusted root certificates."""
        return list(self._roots)

    def verify(
        self,
        cert: bytes | x509.Certificate,
        *,
        now: datetime | None = None,
        usage: Usage = "client",
        server_name: str | None = None,
        expected_country: str | None = None,
    ) -> PeerIdentity:
        """Verify a peer certificate and return the identity it proves.

        Args:
            cert: the certificate, as DER or PEM bytes (grpc's ``x509_pem_cert``) or parsed.
            now: the time to verify at (default: now).
            usage: ``"client"`` (the peer called us: needs ``clientAuth``) or ``"server"``
                (we called the peer: needs ``serverAuth`` and ``server_name`` in its SANs).
            server_name: the host name or address dialled; required with ``usage="server"``.
            expected_country: refuse a certificate for any other country.

        Returns:
            The peer's identity: country, fingerprints, serial, end of validity.

        Raises:
            CertificateError: unparsable, unknown issuer, self-signed, expired, not yet
                valid, wrong usage, wrong host name, no country, stale or missing CRL.
            RevokedError: the certificate is on its root's revocation list.
            CountryMismatchError: the country differs from ``expected_country``.
        """
        leaf = parse_peer_certificate(cert)
        at = (now or datetime.now(UTC)).astimezone(UTC)
        builder = PolicyBuilder().store(self._store).time(at)
        try:
            if usage == "server":
                if not server_name:
                    raise ConfigError("server_name", "required to verify a server certificate")
                chain = builder.build_server_verifier(server_subject(server_name)).verify(leaf, [])
            else:
                chain = builder.build_client_verifier().verify(leaf, []).chain
        except VerificationError as exc:
            eku = (
                ExtendedKeyUsageOID.SERVER_AUTH
                if usage == "server"
                else ExtendedKeyUsageOID.CLIENT_AUTH
            )
            reason = diagnose(leaf, self._roots, at, eku, server_name, str(exc))
            raise CertificateError(reason) from exc
        _require_eku(leaf, usage)
        country = certificate_country(leaf)
        self._check_revocation(leaf, chain[-1], at)
        if expected_country is not None and country != validate_country(expected_country):
            raise CountryMismatchError(f"certificate is for {country}, expected {expected_country}")
        return PeerIdentity(
            country=country,
            fingerprint=certificate_fingerprint(leaf),
            key_fingerprint=key_fingerprint(leaf),
            serial=leaf.serial_number,
            not_after=leaf.not_valid_after_utc,
        )

    def _check_revocation(
        self, leaf: x509.Certificate, root: x509.Certificate, at: datetime
    ) -> None:
        crl = self._crls.get(certificate_fingerprint(root))
        if crl is None:
            raise CertificateError(f"no revocation list for issuer {root.subject.rfc4514_string()}")
        next_update = crl.next_update_utc
        if next_update is not None and at > next_update:
            raise CertificateError(
                f"revocation list out of date since {next_update.isoformat()}; "
                "the authority must re-sign it (`fedlookup ca crl`)"
            )
        entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
        if entry is not None:
            try:
                why = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
            except x509.ExtensionNotFound:
                why = "unspecified"
            raise RevokedError(
                f"certificate serial {leaf.serial_number:x} revoked at "
                f"{entry.revocation_date_utc.isoformat()} ({why})"
            )
