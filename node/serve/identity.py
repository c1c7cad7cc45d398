"""The caller's identity, read once per call from the mTLS handshake.

grpc has already checked the chain during the handshake (``require_client_auth=True``),
but Python gives no CRL hook and no reason when a handshake fails. This interceptor
therefore re-verifies the presented certificate with :class:`certs.PeerAuthenticator`, the
same check the node's gRPC client applies to the nodes it calls (chain, ``clientAuth``
usage, validity, revocation, country SAN, directory membership and key pin), on every
service: health and reflection answer members only. A refused caller gets a fixed public
message (UNAUTHENTICATED or PERMISSION_DENIED); the precise reason and the caller's address
go to the node's log.

The verified :class:`~certs.PeerIdentity` is handed to the servicer through a context
variable (:func:`current_peer`), set around the handler and around each step of a
streamed response, so no request field can ever supply it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, cast

import grpc

from certs import PeerIdentity
from fedlookup.errors import FedlookupError, IdentityError
from node.serve.errors import public_error

__all__ = [
    "FEDERATION_SERVICE",
    "CallAddressFilter",
    "ClientCheck",
    "IdentityInterceptor",
    "current_peer",
    "install_address_filter",
]

FEDERATION_SERVICE = "fedlookup.v1.Federation"
#: Follow-up requests between members (node.serve.followup_servicer): members only, too.
FOLLOW_UP_SERVICE = "fedlookup.v1.FollowUp"

_log = logging.getLogger("fedlookup.node.identity")
_PEER: contextvars.ContextVar[PeerIdentity | None] = contextvars.ContextVar(
    "fedlookup_peer", default=None
)
_ADDRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fedlookup_address", default=None
)


class CallAddressFilter(logging.Filter):
    """Adds the remote address of the call being handled to every log record made while
    handling it (refusals logged deep in the responder name the address too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ``address`` when the record has none; never drops a record."""
        address = _ADDRESS.get()
        if address is not None and not hasattr(record, "address"):
            record.address = address
        return True


def install_address_filter() -> None:
    """Put :class:`CallAddressFilter` on every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, CallAddressFilter) for f in handler.filters):
            handler.addFilter(CallAddressFilter())


def current_peer() -> PeerIdentity:
    """The verified caller of the call being handled.

    Raises:
        IdentityError: called outside an intercepted call (fail closed).
    """
    peer = _PEER.get()
    if peer is None:
        raise IdentityError("no verified peer for this call")
    return peer


class ClientCheck(Protocol):
    """:class:`certs.PeerAuthenticator`: authenticates a caller's certificate."""

    def check_client(self, cert: bytes) -> PeerIdentity:
        """The caller's identity; raises on any failure (chain, usage, revocation, pin)."""
        ...


Deserializer = Callable[[bytes], Any] | None

_UNPARSABLE = "request is not a valid message"


def _parse(deserializer: Deserializer, data: Any, context: grpc.ServicerContext) -> Any:
    """Decode a request inside the handler, after the caller has been verified.

    Left to grpc, a request that fails to decode is answered INTERNAL and (grpc 1.72) keeps
    memory per call; decoded here it is INVALID_ARGUMENT with a fixed message.
    """
    if deserializer is None:
        return data
    try:
        return deserializer(data)
    except Exception as exc:  # protobuf DecodeError and friends: the caller's fault
        _log.warning(
            "unparsable request",
            extra={"event": "refused", "reason": "Unparsable", "detail": type(exc).__name__},
        )
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, _UNPARSABLE)
        raise  # unreachable: abort raises


def _parse_all(
    deserializer: Deserializer, requests: Iterator[Any], context: grpc.ServicerContext
) -> Iterator[Any]:
    for data in requests:
        yield _parse(deserializer, data, context)


def _iter_as(peer: PeerIdentity, it: Iterator[Any]) -> Iterator[Any]:
    while True:
        token = _PEER.set(peer)
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            _PEER.reset(token)
        yield item


class IdentityInterceptor(grpc.ServerInterceptor):
    """Authenticates every caller (certificate and directory) before any handler runs.

    Args:
        authenticator: the one peer check (``certs.PeerAuthenticator``).
        on_refusal: called with the reason code of each refusal (metrics).
    """

    def __init__(
        self,
        authenticator: ClientCheck,
        on_refusal: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._authenticator = authenticator
        self._on_refusal = on_refusal

    def _identify(self, context: grpc.ServicerContext, method: str) -> PeerIdentity:
        # grpc maps each property to a list of values; the stubs say bytes.
        auth = cast(Mapping[str, list[bytes]], context.auth_context())
        pems = auth.get("x509_pem_cert") or []
        address = context.peer()
        _ADDRESS.set(address)  # this handler thread's calls log it (CallAddressFilter)
        try:
            if not pems:
                raise IdentityError("no client certificate presented")
            peer = self._authenticator.check_client(pems[0])
        except FedlookupError as exc:
            public = public_error(exc)
            _log.warning(
                "refused caller",
                extra={
                    "event": "refused",
                    "method": method,
                    "address": address,
                    "reason": public.reason,
                    "detail": str(exc),
                },
            )
            self._on_refusal(public.reason)
            context.abort(public.code, public.message)
            raise  # unreachable: abort raises
        return peer

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        # Requests reach the wrapped handlers as raw bytes (request_deserializer=None below)
        # and are decoded by _parse once the caller is verified.
        decode = handler.request_deserializer
        if handler.unary_unary is not None:
            inner_uu = handler.unary_unary

            def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
                peer = self._identify(context, method)
                token = _PEER.set(peer)
                try:
                    return inner_uu(_parse(decode, request, context), context)
                finally:
                    _PEER.reset(token)

            return grpc.unary_unary_rpc_method_handler(
                unary_unary,
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            inner_us = handler.unary_stream

            def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                peer = self._identify(context, method)
                token = _PEER.set(peer)
                try:
                    result = inner_us(_parse(decode, request, context), context)
                finally:
                    _PEER.reset(token)
                return _iter_as(peer, iter(result))

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            # Reflection is a bidirectional stream: verify the caller once, up front.
            inner_ss = handler.stream_stream

            def stream_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
                peer = self._identify(context, method)
                parsed = _parse_all(decode, requests, context)
                return _iter_as(peer, iter(inner_ss(parsed, context)))

            return grpc.stream_stream_rpc_method_handler(
                stream_stream,
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            inner_su = handler.stream_unary

            def stream_unary(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
                peer = self._identify(context, method)
                token = _PEER.set(peer)
                try:
                    return inner_su(_parse_all(decode, requests, context), context)
                finally:
                    _PEER.reset(token)

            return grpc.stream_unary_rpc_method_handler(
                stream_unary,
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        return None
