"""The serving process: the node's parts wired from ``node.toml`` (:mod:`node.serve.service`),
the gRPC servicer and server, mTLS identity, the error catalog's gRPC face, health, metrics
and monitoring (:mod:`node.serve.monitoring`, the ``/metrics`` and ``/healthz`` endpoint in
:mod:`node.serve.metrics_http`), quotas, the stock openmined setup and cosigning.

Example::

    from node.serve.service import serving
"""

__all__: list[str] = []
