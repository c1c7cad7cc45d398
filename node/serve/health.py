"""``grpc.health.v1`` for a node: NOT_SERVING until the index is ready.

The overall status (service ``""``) and the federation service's status follow the index:
a node that has no index yet, or is shutting down, says NOT_SERVING so a load balancer or
a peer's probe does not send it queries it cannot answer.
"""

from __future__ import annotations

from grpc_health.v1 import health, health_pb2

from node.serve.identity import FEDERATION_SERVICE

__all__ = ["NodeHealth"]


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
