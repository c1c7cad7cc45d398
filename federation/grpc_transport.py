"""The gRPC :class:`~federation.transport.PeerTransport`: one peer over mutual TLS.

The one module outside ``node`` that uses the gRPC client API. grpc does not dial the peer
itself: its channel goes through a :class:`~federation.peer_link.PeerLink`, which opens
every connection to the peer with the node's own certificate as client credential (the peer
learns who asks from it) and has the certificate seen on *that* connection authenticated
(the injected :class:`ServerCheck`, ``certs.PeerAuthenticator`` in a node: country, pinned
key, revocation, host) before it carries a byte: an impostor, a relay or a node that took
over the endpoint after a good call gets nothing but a handshake, and the peer is
unavailable with the reason. It gives every call a deadline, assembles the streamed index
(offsets contiguous, SHA-256 checked, resumed from the last byte received when the stream
breaks), and translates :class:`grpc.RpcError` into :class:`PeerUnavailableError` (could
not reach, too slow, broken, refused) or :class:`PeerRejectedError` (the peer answered with
a refusal), keeping the status message the peer sent.

Example::

    creds = ClientCredentials.from_files(ca="ca.pem", cert="node.pem", key="node.key")
    with GrpcTransport("FR", "127.0.0.1:7443", creds, server_check=authenticator) as fr:
        info = fr.node_info(timeout=5)
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from federation.followup import FollowUpAnswer
from federation.index_head import HeadCheck
from federation.peer_link import DEFAULT_HANDSHAKE_S, PeerLink, ServerCheck
from federation.refusals import peer_error
from federation.transport import Evaluation, IndexDownload, Limits, NodeInfo
from fedlookup.errors import (
    FedlookupError,
    IndexIntegrityError,
    InputError,
    PeerRejectedError,
    PeerUnavailableError,
)
from fedlookup.identifiers import IDENTIFIER_VERSION
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc

__all__ = ["ClientCredentials", "GrpcTransport", "ServerCheck", "translate_rpc_error"]

_MAX_RESUMES = 3


@dataclass(frozen=True)
class ClientCredentials:
    """PEM material for the client side of mutual TLS.

    Attributes:
        ca: the federation root certificate (the peer's certificate must chain to it).
        cert: this node's certificate (chain).
        key: this node's private key.
    """

    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def from_files(cls, *, ca: Path | str, cert: Path | str, key: Path | str) -> ClientCredentials:
        """Read the three PEM files."""
        return cls(Path(ca).read_bytes(), Path(cert).read_bytes(), Path(key).read_bytes())


def translate_rpc_error(country: str, exc: grpc.RpcError, action: str) -> Exception:
    """The fedlookup error for a failed call (raise it ``from exc``), by the one refusal
    table's verdict for its status (:func:`federation.refusals.peer_error`)."""
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else None) or str(exc)
    name = code.name if code is not None else "UNKNOWN"
    return peer_error(country, action, name, details)


@dataclass
class _Transfer:
    """An index transfer in progress (kept across resumed streams)."""

    buf: bytearray = field(default_factory=bytearray)
    digest: bytes | None = None
    total: int = -1
    version: int = 0
    head: bytes = b""
    signature: bytes = b""


class GrpcTransport:
    """One peer node reached over gRPC with mutual TLS.

    Args:
        country: the peer's country code (from the directory).
        target: ``host:port`` of the peer.
        credentials: this node's client credentials.
        server_check: authenticates the answering node on every connection, before the
            connection carries a request.
        head_check: verifies the signed head of every index download before it is returned
            (``federation.index_head.DirectoryHeadCheck``); ``None`` skips it.
        server_name: override of the name checked against the peer's certificate.
        max_message_bytes: largest message accepted from the peer.
    """

    def __init__(
        self,
        country: str,
        target: str,
        credentials: ClientCredentials,
        *,
        server_check: ServerCheck,
        head_check: HeadCheck | None = None,
        server_name: str | None = None,
        max_message_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._country = country
        self.target = target
        self._credentials = credentials
        self._server_check = server_check
        self._head_check = head_check
        self._link = PeerLink(
            country, target, credentials, server_check=server_check, server_name=server_name
        )
        self._options: list[tuple[str, int | str]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # What a direct channel would send as :authority (the link dials the peer).
            ("grpc.default_authority", target),
            # Its own connections (and their backoff): by default grpc shares them between
            # channels to the same target, so a renewed channel would inherit the backoff.
            ("grpc.use_local_subchannel_pool", 1),
        ]
        self._renew_lock = threading.Lock()
        self._stale = False
        self._retired: list[grpc.Channel] = []
        self._open_channel()

    def _open_channel(self) -> None:
        # The link is local and authenticates every connection itself: grpc's own TLS
        # would check only chain and name, and on a connection the link cannot see.
        self._channel = grpc.insecure_channel(self._link.address, options=self._options)
        self._stub = pb_grpc.FederationStub(self._channel)
        # Follow-ups ride the same channel: same credentials, same server-identity checks.
        self._follow_ups = pb_grpc.FollowUpStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def _renew(self) -> None:
        """A fresh channel after a call failed for want of a connection.

        grpc fails calls at once until its reconnect backoff expires, and that backoff grows
        to two minutes: a long-running asker (the desk) would report a peer that is back as
        unavailable for that long. A new channel to the local link dials at the next call.
        The old channel is retired, not closed, so a call still running on it (another
        thread's) finishes; retired channels are closed two renewals later and on close.
        """
        with self._renew_lock:
            if not self._stale:
                return
            self._retired.append(self._channel)
            while len(self._retired) > 2:
                self._retired.pop(0).close()
            self._open_channel()
            self._stale = False

    @property
    def country(self) -> str:
        """The peer's country code."""
        return self._country

    def close(self) -> None:
        """Close the channel and its link (socket, directory, relayed connections)."""
        try:
            for channel in [*self._retired, self._channel]:
                channel.close()
        finally:
            self._link.close()

    def __enter__(self) -> GrpcTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self, timeout: float) -> None:
        """Bound the connect and handshake of any connection this call makes, and check the
        open connections' peer again (directory or CRL may have changed since they opened).

        Raises:
            PeerUnavailableError: an open connection's peer no longer passes; nothing sent.
        """
        self._link.handshake_timeout = min(timeout, DEFAULT_HANDSHAKE_S) if timeout > 0 else 0.1
        refused = self._link.recheck()
        if refused is not None:
            raise PeerUnavailableError(self._country, refused.reason)
        if self._stale:
            self._renew()

    def _error(self, exc: grpc.RpcError, action: str) -> Exception:
        """The fedlookup error for a failed call: the link's reason when grpc could not
        connect because the link refused or could not reach the peer."""
        code = exc.code() if isinstance(exc, grpc.Call) else None
        if code == grpc.StatusCode.UNAVAILABLE:
            self._stale = True  # the next call dials afresh (see _renew)
        failure = self._link.failure()
        if code == grpc.StatusCode.UNAVAILABLE and failure is not None:
            return PeerUnavailableError(self._country, failure.reason)
        return translate_rpc_error(self._country, exc, action)

    def health(self, *, timeout: float) -> str:
        """The peer's ``grpc.health.v1`` status (``SERVING``, ``NOT_SERVING``), asked over the
        same authenticated link as every other call.

        Raises:
            PeerUnavailableError: unreachable, or the answering node is not the member.
            PeerRejectedError: the peer refused the question.
        """
        self._start(timeout)
        try:
            reply = self._health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, "Health") from exc
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    def node_info(self, *, timeout: float) -> NodeInfo:
        """See :meth:`PeerTransport.node_info`."""
        self._start(timeout)
        try:
            r = self._stub.NodeInfo(pb.NodeInfoRequest(), timeout=timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, "NodeInfo") from exc
        limits = Limits(
            max_items_per_request=r.limits.max_items_per_request,
            items_per_day=r.limits.items_per_day,
            items_remaining_today=r.limits.items_remaining_today,
            mode=r.limits.mode or "reveal",
            categories=tuple(r.limits.categories),
        )
        if r.country and r.country != self._country:
            raise PeerRejectedError(self._country, f"it says it is {r.country!r}")
        return NodeInfo(
            country=r.country or self._country,
            epoch_id=r.epoch_id,
            index_version=r.index_version,
            index_size=r.index_size,
            limits=limits,
            identifier_version=r.identifier_version or IDENTIFIER_VERSION,
            protocol_version=r.protocol_version or "fedlookup.v1",
            epoch_public_key=r.epoch_public_key,
            epoch_key_signature=r.epoch_key_signature,
        )

    def evaluate(
        self, statement: bytes, signature: bytes, request: bytes, *, timeout: float
    ) -> Evaluation:
        """See :meth:`PeerTransport.evaluate`."""
        self._start(timeout)
        message = pb.EvaluateRequest(
            statement=pb.SignedStatement(statement=statement, signature=signature),
            request=request,
        )
        try:
            r = self._stub.Evaluate(message, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, "Evaluate") from exc
        return Evaluation(
            response=r.response,
            receipt=r.receipt,
            epoch_id=r.epoch_id,
            index_version=r.index_version,
            proof=r.proof,
        )

    def submit_follow_up(
        self, statement: bytes, signature: bytes, *, timeout: float
    ) -> FollowUpAnswer:
        """Send a signed follow-up statement to its owner; its acknowledgement.

        Raises:
            PeerUnavailableError, PeerRejectedError: as for every call.
        """
        self._start(timeout)
        message = pb.FollowUpSubmitRequest(
            statement=pb.SignedStatement(statement=statement, signature=signature)
        )
        try:
            r = self._follow_ups.SubmitFollowUp(message, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, "SubmitFollowUp") from exc
        return _answer(self._country, r.request_id, r.status, r.deadline, {}, "")

    def follow_up_status(self, request_id: str, *, timeout: float) -> FollowUpAnswer:
        """The owner's current answer to a follow-up this node submitted.

        Raises:
            PeerUnavailableError, PeerRejectedError: as for every call.
        """
        self._start(timeout)
        try:
            r = self._follow_ups.FollowUpStatus(
                pb.FollowUpStatusRequest(request_id=request_id), timeout=timeout
            )
        except grpc.RpcError as exc:
            raise self._error(exc, "FollowUpStatus") from exc
        return _answer(
            self._country, r.request_id, r.status, r.deadline, dict(r.released), r.reason
        )

    def add_checkpoint(self, body: bytes, *, timeout: float) -> tuple[int, bytes]:
        """See :meth:`WitnessTransport.add_checkpoint`."""
        self._start(timeout)
        try:
            r = self._stub.AddCheckpoint(pb.AddCheckpointRequest(body=body), timeout=timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, "AddCheckpoint") from exc
        return int(r.status), bytes(r.body)

    def sync_index(
        self, since_version: int | None, epoch_id: str | None, *, timeout: float
    ) -> IndexDownload:
        """See :meth:`PeerTransport.sync_index`; resumes a broken stream where it stopped.

        Raises:
            PeerUnavailableError: unreachable, too slow, or an index that fails its checksum.
            PeerRejectedError: the peer refused.
        """
        deadline = time.monotonic() + timeout
        self._start(timeout)
        transfer = _Transfer()
        resumes = 0
        while True:
            request = pb.SyncIndexRequest(epoch_id=epoch_id or "", offset=len(transfer.buf))
            if since_version is not None:
                request.since_version = since_version
            if transfer.buf:
                request.resume_version = transfer.version
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PeerUnavailableError(self._country, "SyncIndex: no answer before deadline")
            try:
                if self._receive(request, transfer, remaining):
                    return IndexDownload(bytes(transfer.buf), transfer.head, transfer.signature)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.ABORTED and transfer.buf:
                    transfer = _Transfer()  # the index moved on while we were away: restart
                elif (
                    code == grpc.StatusCode.UNAVAILABLE and transfer.buf and resumes < _MAX_RESUMES
                ):
                    pass  # the stream broke: resume from the last byte held
                else:
                    raise self._error(exc, "SyncIndex") from exc
                resumes += 1
            except IndexIntegrityError as exc:
                raise PeerUnavailableError(self._country, f"SyncIndex: {exc}") from exc

    def _receive(self, request: pb.SyncIndexRequest, transfer: _Transfer, timeout: float) -> bool:
        buf = transfer.buf
        for chunk in self._stub.SyncIndex(request, timeout=timeout):
            if chunk.offset != len(buf):
                raise IndexIntegrityError(f"chunk at offset {chunk.offset}, expected {len(buf)}")
            if transfer.digest is not None and (
                chunk.sha256 != transfer.digest
                or chunk.total_size != transfer.total
                or chunk.index_version != transfer.version
            ):
                # Across resumes too: every piece must belong to one and the same blob.
                raise IndexIntegrityError("chunks disagree on the index checksum, size or version")
            transfer.digest, transfer.total = chunk.sha256, chunk.total_size
            transfer.version = chunk.index_version
            buf.extend(chunk.data)
            if len(buf) > transfer.total:
                raise IndexIntegrityError("more bytes than announced")
            if chunk.final:
                if len(buf) != transfer.total:
                    raise IndexIntegrityError(
                        f"{len(buf)} bytes received, {transfer.total} announced"
                    )
                if hashlib.sha256(buf).digest() != transfer.digest:
                    raise IndexIntegrityError("index checksum mismatch")
                if self._head_check is not None:
                    try:
                        self._head_check.check_head(
                            self._country, chunk.head, chunk.head_signature, bytes(buf)
                        )
                    except FedlookupError as exc:
                        raise IndexIntegrityError(f"index head refused: {exc}") from exc
                transfer.head, transfer.signature = chunk.head, chunk.head_signature
                return True
        raise IndexIntegrityError("stream ended without its final chunk")


def _answer(
    country: str, request_id: str, status: str, deadline: str, released: dict[str, str], reason: str
) -> FollowUpAnswer:
    """A follow-up answer from the wire; a malformed one is the peer's fault."""
    try:
        return FollowUpAnswer(request_id, status, deadline, released, reason)
    except InputError as exc:
        raise PeerRejectedError(country, f"malformed follow-up answer: {exc}") from exc
