"""The serving process: the node's parts wired from ``node.toml`` (:mod:`node.serve.service`),
the gRPC servicer and server, mTLS identity, the error catalog's gRPC face, health, metrics,
quotas, the stock openmined setup and cosigning.

Example::

    from node.serve.service import serving
"""

__all__: list[str] = []
