"""The one decision "is this peer who it must be?", for callers and answerers alike.

A server checks the certificate a caller presented; a client checks the certificate the
node it dialled presented. Both go through :class:`PeerAuthenticator`: the chain to a
federation root, the extended key usage of the role (``clientAuth`` for a caller,
``serverAuth`` for an answering node), validity, revocation, the country SAN, and the key the
signed federation directory pins for that country. Only the direction differs: a client
also names the country it meant to reach and the host it dialled.

Example::

    auth = PeerAuthenticator(ReloadingPeerVerifier([ca], [crl]), directory_watcher)
    caller = auth.check_client(pem_from_handshake)            # server side
    auth.check_server("FR", der_from_handshake, "127.0.0.1")   # client side, before sending
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from certs.identity import PeerIdentity
from certs.verify import Usage

__all__ = ["PeerAuthenticator", "PinCheck", "VerifierLike"]


class VerifierLike(Protocol):
    """:class:`certs.PeerVerifier` or :class:`certs.ReloadingPeerVerifier`."""

    def verify(
        self,
        cert: bytes,
        *,
        now: datetime | None = None,
        usage: Usage = "client",
        server_name: str | None = None,
        expected_country: str | None = None,
    ) -> PeerIdentity:
        """Verify a certificate (raises on any failure)."""
        ...


class PinCheck(Protocol):
    """The federation directory's membership and key-pin check (``DirectoryWatcher``)."""

    def check_peer(self, peer: PeerIdentity) -> object:
        """Raise ``UnlistedPeerError`` unless ``peer`` is a member with its pinned key."""
        ...


class PeerAuthenticator:
    """Chain, usage, revocation, country and key pin of a peer, in one place.

    Args:
        verifier: verifies the certificate itself (roots and CRLs, reloaded on change).
        directory: the signed directory in force (membership and pinned keys).
    """

    def __init__(self, verifier: VerifierLike, directory: PinCheck) -> None:
        self._verifier = verifier
        self._directory = directory

    def check_client(self, cert: bytes) -> PeerIdentity:
        """Authenticate a caller (the certificate it presented to this node's server).

        Returns:
            The caller's identity.

        Raises:
            CertificateError, RevokedError: the certificate is not acceptable.
            UnlistedPeerError: the country is not a member, or its key is not the pinned one.
        """
        peer = self._verifier.verify(cert, usage="client")
        self._directory.check_peer(peer)
        return peer

    def check_server(self, country: str, cert: bytes, host: str) -> PeerIdentity:
        """Authenticate an answering node before anything is sent to it.

        Args:
            country: the member this node meant to reach (from the directory).
            cert: the certificate the node at its endpoint presented (DER or PEM).
            host: the host name or address dialled.

        Returns:
            The answering node's identity (its country is ``country``).

        Raises:
            CertificateError, RevokedError: the certificate is not acceptable as a server's.
            CountryMismatchError: the certificate names another country.
            UnlistedPeerError: its key is not the one the directory pins for ``country``.
        """
        peer = self._verifier.verify(
            cert, usage="server", server_name=host, expected_country=country
        )
        self._directory.check_peer(peer)
        return peer
