"""Prometheus metrics of a node: calls, items evaluated, latency, refusals, index version.

Each node process owns one :class:`NodeMetrics` on its own registry (several in-process
servers in a test do not collide). :class:`MetricsInterceptor` counts every call and its
latency by method and status; refusals are counted by reason (the error class name) where
they happen (identity interceptor, servicer). The HTTP endpoint serves ``/metrics`` on the
configured ``host:port``, normally loopback for a local collector.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["MetricsEndpoint", "MetricsInterceptor", "NodeMetrics", "serve_metrics"]

_log = logging.getLogger("fedlookup.node.metrics")


class NodeMetrics:
    """The node's metric families.

    Attributes:
        registry: the registry the endpoint exposes.
        requests: calls by method and final status code.
        latency: call duration in seconds by method.
        items: items evaluated by peer country.
        refusals: refusals by reason (error class name).
        index_version: version of the served index.
        index_size: identifiers in the served index.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fedlookup_requests",
            "gRPC calls handled, by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fedlookup_request_seconds",
            "Duration of gRPC calls, by method.",
            ["method"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.items = Counter(
            "fedlookup_items_evaluated",
            "PSI items evaluated, by peer country.",
            ["peer"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "fedlookup_refusals",
            "Refused calls, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.index_version = Gauge(
            "fedlookup_index_version", "Version of the served index.", registry=self.registry
        )
        self.index_size = Gauge(
            "fedlookup_index_size", "Identifiers in the served index.", registry=self.registry
        )

    def refused(self, reason: str) -> None:
        """Count one refusal."""
        self.refusals.labels(reason=reason).inc()


def _code_of(context: grpc.ServicerContext, default: str = "OK") -> str:
    # ServicerContext.code() (grpc >= 1.38) is missing from the stubs; None means not set.
    code = getattr(context, "code")()  # noqa: B009
    return code.name if isinstance(code, grpc.StatusCode) else default


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts calls and measures latency, including calls refused by later interceptors."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self._m = metrics

    def _done(self, method: str, start: float, code: str) -> None:
        self._m.latency.labels(method=method).observe(time.perf_counter() - start)
        self._m.requests.labels(method=method, code=code).inc()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
                start = time.perf_counter()
                try:
                    response = inner(request, context)
                except BaseException:
                    self._done(method, start, _code_of(context, "UNKNOWN"))
                    raise
                self._done(method, start, _code_of(context))
                return response

            return grpc.unary_unary_rpc_method_handler(
                unary_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            inner_s = handler.unary_stream

            def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                start = time.perf_counter()
                code = "UNKNOWN"
                try:
                    yield from inner_s(request, context)
                    code = _code_of(context)
                except BaseException:
                    code = _code_of(context, "UNKNOWN")
                    raise
                finally:
                    self._done(method, start, code)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


@dataclass(frozen=True)
class MetricsEndpoint:
    """A running ``/metrics`` endpoint.

    Attributes:
        port: the bound port.
        stop: stops the endpoint.
    """

    port: int
    stop: Callable[[], None]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: cannot tell, so warn


def serve_metrics(metrics: NodeMetrics, listen: str) -> MetricsEndpoint:
    """Serve ``/metrics`` over HTTP on ``host:port``.

    Args:
        metrics: the node's metrics.
        listen: ``host:port`` (port 0 picks a free port).

    Returns:
        The running endpoint.
    """
    host, _, port = listen.rpartition(":")
    if not _loopback(host.strip("[]")):
        _log.warning(
            "metrics endpoint on %s is not loopback: it is plain HTTP and shows per-peer query "
            "volumes; keep it off any network the peers share",
            listen,
            extra={"event": "metrics_exposed", "listen": listen},
        )
    server, thread = start_http_server(int(port), addr=host.strip("[]"), registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return MetricsEndpoint(port=int(server.server_port), stop=stop)
