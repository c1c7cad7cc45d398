"""``grpc.health.v1`` for a node: NOT_SERVING until the index is ready.

The overall status (service ``""``) and the federation service's status follow the index:
a node that has no index yet, or is shutting down, says NOT_SERVING so a load balancer or
a peer's probe does not send it queries it cannot answer. :func:`health_of` is the other
end for this node itself (``node status``, ``node wait``): it asks the node's own health
over mutual TLS. :func:`peer_health` asks another member's, over the verified connector
that carries every other call to that member, so an endpoint answering with any other
certificate than the member's is reported as refused, not as up.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.peer_link import ServerCheck
from fedlookup.errors import FedlookupError, PeerUnavailableError
from fedlookup.tls import require_tls13
from node.config import NodeConfig
from node.serve.identity import FEDERATION_SERVICE

require_tls13()  # before any TLS credentials are built (docs/node.md, TLS)

__all__ = ["NodeHealth", "health_of", "peer_health"]


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


def peer_health(
    cfg: NodeConfig, country: str, endpoint: str, servers: ServerCheck, timeout: float = 5.0
) -> str:
    """Ask member ``country``'s health at ``endpoint`` through an authenticated link.

    Returns:
        ``SERVING``, ``NOT_SERVING``, ``unreachable (<reason>)`` (no answer, or an endpoint
        that is not the member: the reason names which), ``refused (<reason>)``, or
        ``unknown (<why>)`` when this node's TLS files cannot be read.
    """
    try:
        creds = ClientCredentials.from_files(ca=cfg.tls.ca, cert=cfg.tls.cert, key=cfg.tls.key)
    except OSError as exc:
        return f"unknown (cannot read {exc.filename}: {exc.strerror})"
    try:
        with GrpcTransport(country, endpoint, creds, server_check=servers) as transport:
            return transport.health(timeout=timeout)
    except PeerUnavailableError as exc:
        return f"unreachable ({exc.reason})"
    except FedlookupError as exc:
        return f"refused ({exc})"
