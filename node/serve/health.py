"""``grpc.health.v1`` for a node: NOT_SERVING until the index is ready.

The overall status (service ``""``) and the federation service's status follow the index:
a node that has no index yet, or is shutting down, says NOT_SERVING so a load balancer or
a peer's probe does not send it queries it cannot answer. :func:`health_of` is the other
end: it asks a node's health over mutual TLS (the peer probe, ``node status``).
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from fedlookup.tls import require_tls13
from node.config import NodeConfig
from node.serve.identity import FEDERATION_SERVICE

require_tls13()  # before any TLS credentials are built (docs/node.md, TLS)

__all__ = ["NodeHealth", "health_of"]


class NodeHealth:
    """The node's health servicer and the switch that drives it."""

    def __init__(self) -> None:
        self.servicer = health.HealthServicer(experimental_non_blocking=True)
        self._serving = False
        self.set_serving(False)

    @property
    def serving(self) -> bool:
        """Whether the node currently reports SERVING."""
        return self._serving

    def set_serving(self, serving: bool) -> None:
        """Report SERVING (index ready) or NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        self._serving = serving
        for name in ("", FEDERATION_SERVICE):
            self.servicer.set(name, status)

    def shutting_down(self) -> None:
        """Report NOT_SERVING for good (graceful shutdown has begun)."""
        self._serving = False
        self.servicer.enter_graceful_shutdown()


def health_of(cfg: NodeConfig, address: str, timeout: float = 3.0) -> str:
    """Ask a node's health service over mutual TLS with this node's own certificate.

    Returns:
        ``SERVING``, ``NOT_SERVING``, ``unreachable (<code>)``, or ``unknown (<why>)``
        when this node's TLS files cannot be read.
    """
    try:
        creds = grpc.ssl_channel_credentials(
            root_certificates=cfg.tls.ca.read_bytes(),
            private_key=cfg.tls.key.read_bytes(),
            certificate_chain=cfg.tls.cert.read_bytes(),
        )
    except OSError as exc:
        return f"unknown (cannot read {exc.filename}: {exc.strerror})"
    with grpc.secure_channel(address, creds) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            return f"unreachable ({code.name if code else 'error'})"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
