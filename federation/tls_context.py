"""The client side of this node's TLS to a peer, for :mod:`federation.peer_link`.

An :class:`ssl.SSLContext` that speaks TLS 1.3 only, offers ALPN ``h2`` (grpc's server
requires it), presents this node's certificate and checks the peer's chain against the
federation root. It checks no host name: the peer's name, country, pinned key and
revocation are the authenticator's (``certs.PeerAuthenticator.check_server``). The key
is loaded through a Linux memfd, so no copy of it is written to disk.

Example::

    ctx = client_context(credentials)
    host, port = split_target("127.0.0.1:7443")
"""

from __future__ import annotations

import os
import ssl
import tempfile
from contextlib import ExitStack
from typing import Protocol

__all__ = ["PemCredentials", "client_context", "split_target"]


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


def client_context(creds: PemCredentials) -> ssl.SSLContext:
    """A TLS 1.3 client context presenting ``creds``, checking the chain to ``creds.ca``.

    Raises:
        ssl.SSLError: the PEM material does not load (or the key does not match).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    # Names, country, pin and revocation are the authenticator's; the chain is checked here
    # too so a stranger's certificate never even reaches it.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=creds.ca.decode("ascii"))
    ctx.set_alpn_protocols(["h2"])  # grpc's server refuses a connection without it
    with ExitStack() as stack:
        ctx.load_cert_chain(_memory_file(stack, creds.cert), _memory_file(stack, creds.key))
    return ctx
