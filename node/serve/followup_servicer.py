"""The ``fedlookup.v1.FollowUp`` servicer: a thin adapter onto :class:`FollowUpOwner`.

The caller's country comes from the identity interceptor (its certificate, checked against
the directory as for the Federation service), never from the request. Errors go through
the one refusal table (:mod:`node.serve.errors`): an unknown follow-up, another country's
follow-up and a reference not issued here all read ``INVALID_ARGUMENT invalid request``.
"""

from __future__ import annotations

import logging
from typing import NoReturn

import grpc

from audit.canonical import format_time
from federation.followup import FollowUpOwner, IncomingFollowUp
from node.serve.errors import public_error
from node.serve.identity import current_peer
from node.serve.metrics import NodeMetrics
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc

__all__ = ["FollowUpServicer"]

_log = logging.getLogger("fedlookup.node.followup")


class FollowUpServicer(pb_grpc.FollowUpServicer):
    """Serves follow-up requests from peers.

    Args:
        owner: the owner's logic.
        metrics: the node's metrics (refusals are counted).
    """

    def __init__(self, owner: FollowUpOwner, metrics: NodeMetrics) -> None:
        self._owner = owner
        self._metrics = metrics

    def _fail(self, context: grpc.ServicerContext, exc: BaseException, method: str) -> NoReturn:
        public = public_error(exc)
        internal = public.code == grpc.StatusCode.INTERNAL
        (_log.error if internal else _log.warning)(
            "follow-up call failed",
            extra={"event": "error" if internal else "refused", "method": method,
                   "reason": public.reason, "detail": str(exc)},
            exc_info=internal,
        )  # fmt: skip
        self._metrics.refused(public.reason)
        context.abort(public.code, public.message)

    def SubmitFollowUp(
        self, request: pb.FollowUpSubmitRequest, context: grpc.ServicerContext
    ) -> pb.FollowUpSubmitResponse:
        """See the proto."""
        try:
            peer = current_peer().country
            item = self._owner.submit(
                peer, request.statement.statement, request.statement.signature
            )
        except Exception as exc:
            self._fail(context, exc, "SubmitFollowUp")
        _log.info(
            "follow-up received",
            extra={"event": "followup_received", "peer": peer, "request_id": item.request_id},
        )
        return pb.FollowUpSubmitResponse(
            request_id=item.request_id,
            deadline=format_time(item.deadline),
            status=_public_status(item),
        )

    def FollowUpStatus(
        self, request: pb.FollowUpStatusRequest, context: grpc.ServicerContext
    ) -> pb.FollowUpStatusResponse:
        """See the proto: only the caller's own follow-ups."""
        try:
            item = self._owner.status(current_peer().country, request.request_id)
        except Exception as exc:
            self._fail(context, exc, "FollowUpStatus")
        return pb.FollowUpStatusResponse(
            request_id=item.request_id,
            status=_public_status(item),
            deadline=format_time(item.deadline),
            released=item.released if item.status == "released" else {},
            reason=item.reason if item.status == "refused" else "",
        )


def _public_status(item: IncomingFollowUp) -> str:
    return item.status if item.status in ("pending", "released", "refused") else "pending"
