"""Reading the certificate a peer's endpoint presents, before anything is sent to it.

grpc's Python client checks only the chain and the host name of the node it dials, and
exposes neither the certificate it saw nor a verification hook. The gRPC transport
therefore first completes a TLS 1.3 handshake of its own with the endpoint (presenting
this node's certificate, as the channel will), reads the leaf certificate, and has it
authenticated (country, pinned key, revocation) before the channel carries any request.
The probe sends nothing but the handshake.

Example::

    der = peer_certificate("FR", "127.0.0.1:7443", credentials, timeout=5)
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from contextlib import ExitStack
from typing import Protocol

from fedlookup.errors import PeerUnavailableError

__all__ = ["PemCredentials", "peer_certificate", "split_target"]


class PemCredentials(Protocol):
    """``federation.grpc_transport.ClientCredentials``: PEM bytes of root, chain, key."""

    @property
    def ca(self) -> bytes: ...

    @property
    def cert(self) -> bytes: ...

    @property
    def key(self) -> bytes: ...


def split_target(target: str) -> tuple[str, int]:
    """``(host, port)`` of ``host:port`` or ``[v6]:port``.

    Raises:
        ValueError: no port.
    """
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"endpoint {target!r} has no port")
    return host.strip("[]"), int(port)


def _memory_file(stack: ExitStack, data: bytes) -> str:
    """A path to ``data`` for ``ssl``'s file API: a Linux memfd (never on disk), elsewhere a
    0600 file in a private temporary directory removed as soon as it is loaded."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("fedlookup-tls", os.MFD_CLOEXEC)
        stack.callback(os.close, fd)
        os.write(fd, data)
        return f"/proc/self/fd/{fd}"
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="fedlookup-tls-"))
    path = os.path.join(folder, "pem")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def _context(creds: PemCredentials) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    # Names, country, pin and revocation are the authenticator's; the chain is checked here
    # too so a stranger's certificate never even reaches it.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=creds.ca.decode("ascii"))
    with ExitStack() as stack:
        ctx.load_cert_chain(_memory_file(stack, creds.cert), _memory_file(stack, creds.key))
    return ctx


def peer_certificate(country: str, target: str, creds: PemCredentials, *, timeout: float) -> bytes:
    """The DER leaf certificate presented at ``target`` in a TLS 1.3 handshake.

    Args:
        country: the member expected there (named in errors).
        target: ``host:port`` of the peer.
        creds: this node's client credentials (root, certificate, key).
        timeout: seconds for connect and handshake.

    Returns:
        The peer's leaf certificate, DER.

    Raises:
        PeerUnavailableError: unreachable, no TLS 1.3, or a chain to no federation root
            (the reason names which).
    """
    host, port = split_target(target)
    try:
        ctx = _context(creds)
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            ctx.wrap_socket(sock, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except TimeoutError as exc:
        reason = f"no answer before deadline (TLS handshake with {target})"
        raise PeerUnavailableError(country, reason) from exc
    except ssl.SSLCertVerificationError as exc:
        raise PeerUnavailableError(
            country, f"server certificate refused: {exc.verify_message}"
        ) from exc
    except ssl.SSLError as exc:
        raise PeerUnavailableError(country, f"TLS handshake failed: {exc.reason or exc}") from exc
    except OSError as exc:
        raise PeerUnavailableError(
            country, f"cannot connect to {target}: {exc.strerror or exc}"
        ) from exc
    if not der:
        raise PeerUnavailableError(country, "server presented no certificate")
    return der
