"""The ``fedlookup.v1.Federation`` servicer: a thin adapter onto the Responder.

It converts protobuf messages to plain arguments at the edge, takes the caller's country
from the identity interceptor (never from the request), chunks large payloads (index,
setup) into streamed messages below the size limit, and maps every error through the one
catalog in :mod:`node.serve.errors`: the caller sees a status and fixed message, the local log
the full reason.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import NoReturn, Protocol

import grpc

from federation.responder import IndexExport
from federation.transport import Evaluation, NodeInfo
from fedlookup.errors import IndexVersionError, InputError
from node.serve.errors import public_error
from node.serve.identity import current_peer
from node.serve.metrics import NodeMetrics
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc

__all__ = ["CompatSetup", "FederationServicer", "ResponderPort", "Witness", "chunks"]

_log = logging.getLogger("fedlookup.node.servicer")


class ResponderPort(Protocol):
    """What the servicer needs of :class:`federation.responder.Responder`."""

    def node_info(self, peer: str) -> NodeInfo: ...
    def sync_index(
        self, peer: str, since_version: int | None, epoch_id: str | None
    ) -> IndexExport: ...
    def evaluate(
        self, peer: str, statement: bytes, signature: bytes, request: bytes
    ) -> Evaluation: ...


#: Builds the stock openmined ServerSetup for a caller: (peer, client inputs, fpr) -> bytes.
CompatSetup = Callable[[str, int, float], bytes]

#: Witnesses a caller's checkpoint: (peer, add-checkpoint body) -> (status, body).
Witness = Callable[[str, bytes], tuple[int, bytes]]


def chunks(blob: bytes, size: int, offset: int = 0) -> Iterator[tuple[int, bytes, bool]]:
    """Split ``blob[offset:]`` into ``(offset, data, final)`` pieces of at most ``size``.

    An empty remainder still yields one final, empty piece so the caller sees the end.
    """
    if offset > len(blob):
        raise InputError(f"offset {offset} beyond the {len(blob)}-byte payload", field="offset")
    pos = offset
    while True:
        end = min(pos + size, len(blob))
        yield pos, blob[pos:end], end == len(blob)
        if end == len(blob):
            return
        pos = end


class FederationServicer(pb_grpc.FederationServicer):
    """Serves the Federation service from a responder.

    Args:
        responder: the answering logic.
        metrics: the node's metrics.
        chunk_bytes: size of streamed chunks.
        compat_setup: builds stock openmined setups; ``None`` answers UNIMPLEMENTED.
        witness: witnesses the caller's checkpoints, ``(caller, body) -> (status, body)``
            (:meth:`federation.cosign.CheckpointWitness.add_checkpoint`); ``None`` answers
            UNIMPLEMENTED.
    """

    def __init__(
        self,
        responder: ResponderPort,
        metrics: NodeMetrics,
        *,
        chunk_bytes: int,
        compat_setup: CompatSetup | None = None,
        witness: Witness | None = None,
    ) -> None:
        self._responder = responder
        self._metrics = metrics
        self._chunk = chunk_bytes
        self._compat = compat_setup
        self._witness = witness

    def _fail(self, context: grpc.ServicerContext, exc: BaseException, method: str) -> NoReturn:
        public = public_error(exc)
        log = _log.warning if public.code != grpc.StatusCode.INTERNAL else _log.error
        log(
            "call failed",
            extra={
                "event": "refused" if public.code != grpc.StatusCode.INTERNAL else "error",
                "method": method,
                "peer": _peer_or_none(),
                "reason": public.reason,
                "detail": str(exc),
            },
            exc_info=public.code == grpc.StatusCode.INTERNAL,
        )
        self._metrics.refused(public.reason)
        context.abort(public.code, public.message)

    def NodeInfo(
        self, request: pb.NodeInfoRequest, context: grpc.ServicerContext
    ) -> pb.NodeInfoResponse:
        """See the proto."""
        try:
            info = self._responder.node_info(current_peer().country)
        except Exception as exc:
            self._fail(context, exc, "NodeInfo")
        lim = info.limits
        return pb.NodeInfoResponse(
            country=info.country,
            epoch_id=info.epoch_id,
            index_version=info.index_version,
            index_size=info.index_size,
            limits=pb.Limits(
                max_items_per_request=lim.max_items_per_request,
                items_per_day=lim.items_per_day,
                items_remaining_today=lim.items_remaining_today,
                mode=lim.mode,
                categories=list(lim.categories),
            ),
            identifier_version=info.identifier_version,
            protocol_version=info.protocol_version,
            epoch_public_key=info.epoch_public_key,
            epoch_key_signature=info.epoch_key_signature,
        )

    def SyncIndex(
        self, request: pb.SyncIndexRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.IndexChunk]:
        """See the proto: chunks carry offset, total size and the whole blob's SHA-256; the
        final one carries the responder's signed head."""
        try:
            peer = current_peer().country
            since = request.since_version if request.HasField("since_version") else None
            export = self._responder.sync_index(peer, since, request.epoch_id or None)
            if request.offset and request.resume_version != export.version:
                raise IndexVersionError(
                    f"resume of version {request.resume_version}, index is now {export.version}"
                )
            blob = export.blob
            pieces = list(chunks(blob, self._chunk, request.offset))
            # The responder signed the head (v2: the blob and the state it leads to).
            head, signature = export.head, export.signature
        except Exception as exc:
            self._fail(context, exc, "SyncIndex")
        digest = hashlib.sha256(blob).digest()
        for offset, data, final in pieces:
            yield pb.IndexChunk(
                data=data,
                offset=offset,
                total_size=len(blob),
                sha256=digest,
                index_version=export.version,
                epoch_id=export.epoch_id,
                final=final,
                head=head if final else b"",
                head_signature=signature if final else b"",
            )

    def _evaluate(
        self, request: pb.EvaluateRequest, context: grpc.ServicerContext, method: str
    ) -> pb.EvaluateResponse:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            # The caller has given up: do not spend its quota or write an audit entry.
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
        try:
            peer = current_peer().country
            result = self._responder.evaluate(
                peer, request.statement.statement, request.statement.signature, request.request
            )
        except Exception as exc:
            self._fail(context, exc, method)
        return pb.EvaluateResponse(
            response=result.response,
            receipt=result.receipt,
            epoch_id=result.epoch_id,
            index_version=result.index_version,
            proof=result.proof,
        )

    def Evaluate(
        self, request: pb.EvaluateRequest, context: grpc.ServicerContext
    ) -> pb.EvaluateResponse:
        """See the proto."""
        return self._evaluate(request, context, "Evaluate")

    def CompatEvaluate(
        self, request: pb.EvaluateRequest, context: grpc.ServicerContext
    ) -> pb.EvaluateResponse:
        """See the proto: same checks, quota and audit as Evaluate."""
        return self._evaluate(request, context, "CompatEvaluate")

    def CompatSetup(
        self, request: pb.CompatSetupRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.SetupChunk]:
        """See the proto."""
        if self._compat is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "stock openmined setup not served")
        try:
            peer = current_peer().country
            self._responder.node_info(peer)  # membership and policy, as for every call
            blob = self._compat(peer, int(request.num_client_inputs), float(request.fpr))
            pieces = list(chunks(blob, self._chunk))
        except Exception as exc:
            self._fail(context, exc, "CompatSetup")
        digest = hashlib.sha256(blob).digest()
        for offset, data, final in pieces:
            yield pb.SetupChunk(
                data=data, offset=offset, total_size=len(blob), sha256=digest, final=final
            )

    def AddCheckpoint(
        self, request: pb.AddCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.AddCheckpointResponse:
        """See the proto: the caller's country comes from its certificate, and only its
        own logs are witnessed; the tlog-witness status travels in the answer."""
        if self._witness is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node does not witness")
        try:
            status, body = self._witness(current_peer().country, request.body)
        except Exception as exc:
            self._fail(context, exc, "AddCheckpoint")
        return pb.AddCheckpointResponse(status=status, body=body)


def _peer_or_none() -> str | None:
    try:
        return current_peer().country
    except Exception:
        return None
