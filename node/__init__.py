"""The process a country runs: configuration, gRPC servicers, mTLS identity, policy and
quotas, health, metrics, and the ``fedlookup`` command line.

Nothing imports ``node``; it imports ``federation``, ``registry_adapter``, ``certs``,
``audit`` and ``protos``.
"""

__all__: list[str] = []
