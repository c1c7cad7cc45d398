"""The verified connector: every connection to a peer is authenticated before it carries bytes.

grpc's Python client checks only the chain and host name of the node it dials, and exposes
neither the certificate it saw nor a verification hook. So grpc does not dial the peer: it
dials a :class:`PeerLink`, a listener on a unix socket in a private 0700 directory (a
filesystem socket, never an abstract one, which any local process could use to speak with
this node's certificate). For every connection grpc opens there, the link

1. opens TCP to the peer and completes TLS 1.3 presenting this node's certificate, ALPN
   ``h2``, the chain checked against the federation root (:mod:`federation.tls_context`);
2. has the certificate seen *on that connection* authenticated by the injected server check
   (``certs.PeerAuthenticator.check_server``: country, serverAuth, pinned key, revocation,
   host);
3. only then relays bytes both ways. On any failure it closes grpc's connection having sent
   the peer nothing, logs ``refused server FR at host:port: <reason>`` for a refusal, and
   keeps the reason for the transport (:meth:`PeerLink.failure`), which turns grpc's
   resulting ``UNAVAILABLE`` into it.

So a node at the endpoint that relays one connection to the real peer gets nothing on the
next, and a reconnection after a restart or a takeover is checked like the first.

All sockets and TLS objects live on one asyncio event loop thread per process (asyncio's
memory-BIO TLS, never an ``ssl.SSLSocket`` shared by two threads), started with the first
link and stopped with the last.

Example::

    link = PeerLink("FR", "127.0.0.1:7443", credentials, server_check=authenticator)
    channel = grpc.insecure_channel(link.address)
    ...
    channel.close(); link.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import ssl
import tempfile
import time
from dataclasses import dataclass
from typing import Protocol

from federation.link_loop import acquire_loop, release_loop
from federation.tls_context import PemCredentials, client_context, split_target
from fedlookup.errors import CertificateError

__all__ = ["DEFAULT_HANDSHAKE_S", "RECHECK_S", "LinkFailure", "PeerLink", "ServerCheck"]

_log = logging.getLogger("fedlookup.federation.client")

#: Seconds for connect plus TLS handshake when no call has said how long it may wait.
DEFAULT_HANDSHAKE_S = 10.0
#: Seconds a re-check of the open connections holds (a removal applies within this).
RECHECK_S = 1.0
_CHUNK = 256 * 1024


class ServerCheck(Protocol):
    """Authenticates the node answering at a member's endpoint (``certs.PeerAuthenticator``)."""

    def check_server(self, country: str, cert: bytes, host: str) -> object:
        """Raise a ``FedlookupError`` naming the mismatch unless ``cert`` is ``country``'s
        (country SAN, the key the directory pins, not revoked, ``serverAuth``, ``host``)."""
        ...


@dataclass(frozen=True)
class LinkFailure:
    """Why the link's last connection to the peer was not made.

    Attributes:
        reason: the reason, as :class:`PeerUnavailableError` words it.
        refused: the endpoint answered but was not the member (a refusal, logged).
    """

    reason: str
    refused: bool


class PeerLink:
    """A local endpoint for grpc that reaches one peer over authenticated TLS 1.3.

    Args:
        country: the member expected at ``target`` (named in reasons and logs).
        target: ``host:port`` of the peer.
        credentials: this node's root, certificate and key (PEM).
        server_check: authenticates the certificate presented on each connection.
        server_name: the name checked instead of ``target``'s host.

    Raises:
        ValueError: ``target`` has no port.
        ssl.SSLError: the credentials do not load.
    """

    def __init__(
        self,
        country: str,
        target: str,
        credentials: PemCredentials,
        *,
        server_check: ServerCheck,
        server_name: str | None = None,
    ) -> None:
        self._country = country
        self._target = target
        self._host, self._port = split_target(target)
        self._name = server_name or self._host
        self._check = server_check
        self._ctx = client_context(credentials)
        self._failure: LinkFailure | None = None
        #: Seconds allowed for connect plus handshake (the transport sets the call's timeout).
        self.handshake_timeout = DEFAULT_HANDSHAKE_S
        self._tasks: set[asyncio.Task[None]] = set()
        #: The certificate each relayed connection was authenticated with, by its task.
        self._live: dict[asyncio.Task[None], bytes] = {}
        self._rechecked = 0.0
        self._closed = False
        self._dir = tempfile.mkdtemp(prefix="fedlookup-link-")  # mode 0700
        self.path = os.path.join(self._dir, "peer.sock")
        self._loop = acquire_loop()
        try:
            start = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
            self._server = start.result(timeout=10)
            os.chmod(self.path, 0o600)
        except BaseException:
            release_loop()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    @property
    def address(self) -> str:
        """The target to give ``grpc.insecure_channel`` (``unix:/…/peer.sock``)."""
        return f"unix:{self.path}"

    def failure(self) -> LinkFailure | None:
        """Why the last connection attempt failed; ``None`` once one has been authenticated."""
        return self._failure

    def close(self) -> None:
        """Stop listening, drop every relayed connection, remove the socket and its directory."""
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        finally:
            release_loop()
            shutil.rmtree(self._dir, ignore_errors=True)

    async def _listen(self) -> asyncio.AbstractServer:
        return await asyncio.start_unix_server(self._accepted, path=self.path)

    async def _shutdown(self) -> None:
        self._server.close()
        await self._server.wait_closed()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accepted(self, local_r: asyncio.StreamReader, local_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        remote_w: asyncio.StreamWriter | None = None
        try:
            opened = await self._open()
            if opened is None:
                return  # grpc's bytes were never read: nothing reached the peer
            remote_r, remote_w, der = opened
            self._live[task] = der
            await _relay(local_r, local_w, remote_r, remote_w)
        except asyncio.CancelledError:
            pass  # the link is closing, or a re-check refused the peer (see recheck)
        finally:
            self._tasks.discard(task)
            self._live.pop(task, None)
            local_w.transport.abort()
            if remote_w is not None:
                remote_w.transport.abort()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes] | None:
        """Connect, handshake and authenticate; ``None`` (reason kept) on any failure."""
        timeout = self.handshake_timeout
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self._host, self._port, ssl=self._ctx, server_hostname=self._name,
                    ssl_handshake_timeout=timeout, ssl_shutdown_timeout=1.0,
                ),
                timeout=timeout,
            )  # fmt: skip
        except TimeoutError:
            self._fail(f"no answer before deadline (TLS handshake with {self._target})")
            return None
        except ssl.SSLCertVerificationError as exc:
            detail = f"server certificate refused: {exc.verify_message}"
            self._refuse("CertificateError", detail, detail)
            return None
        except ssl.SSLError as exc:
            self._fail(f"TLS handshake failed: {exc.reason or exc}")
            return None
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)  # "Connection refused"
            self._fail(f"cannot connect to {self._target}: {why}")
            return None
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        try:
            if not der:
                raise CertificateError("server presented no certificate")
            self._check.check_server(self._country, der, self._name)
        except Exception as exc:  # a FedlookupError names the mismatch; any other fails closed
            writer.transport.abort()
            reason = f"answering node is not {self._country}: {exc}"
            self._refuse(type(exc).__name__, str(exc), reason)
            return None
        self._failure = None
        return reader, writer, der

    def recheck(self, *, max_age: float = RECHECK_S) -> LinkFailure | None:
        """Authenticate every open connection's certificate again, before a call uses them.

        A connection is authenticated when it opens; the directory and the CRL may change
        while it stays open (a member removed or re-keyed, a certificate revoked). Calls
        therefore re-check the certificates of the open connections (a certificate check,
        about 0.3 ms, no network) when the last re-check is older than ``max_age`` seconds,
        and drop a connection whose peer no longer passes, with the refusal logged: the
        call then fails with that reason instead of being sent.

        Returns:
            The refusal, or ``None`` when every open connection still passes (or was
            re-checked less than ``max_age`` seconds ago).
        """
        now = time.monotonic()
        if now - self._rechecked < max_age:
            return None
        self._rechecked = now
        refused: LinkFailure | None = None
        for task, der in list(self._live.items()):
            try:
                self._check.check_server(self._country, der, self._name)
            except Exception as exc:  # fail closed, as on opening
                reason = f"answering node is not {self._country}: {exc}"
                self._refuse(type(exc).__name__, str(exc), reason)
                self._live.pop(task, None)
                self._loop.call_soon_threadsafe(task.cancel)
                refused = self._failure
        return refused

    def _fail(self, reason: str) -> None:
        self._failure = LinkFailure(reason, refused=False)
        _log.info("cannot reach %s at %s: %s", self._country, self._target, reason)

    def _refuse(self, kind: str, detail: str, reason: str) -> None:
        self._failure = LinkFailure(reason, refused=True)
        _log.warning(
            "refused server %s at %s: %s",
            self._country,
            self._target,
            detail,
            extra={
                "event": "refused_server",
                "peer": self._country,
                "address": self._target,
                "reason": kind,
                "detail": detail,
            },
        )


async def _relay(
    local_r: asyncio.StreamReader,
    local_w: asyncio.StreamWriter,
    remote_r: asyncio.StreamReader,
    remote_w: asyncio.StreamWriter,
) -> None:
    """Copy both ways until either side ends (the caller closes both)."""
    up = asyncio.ensure_future(_pump(local_r, remote_w))
    down = asyncio.ensure_future(_pump(remote_r, local_w))
    try:
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pump in (up, down):
            pump.cancel()
        await asyncio.gather(up, down, return_exceptions=True)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        return  # the connection broke: the relay ends, grpc sees it closed
