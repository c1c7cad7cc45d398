"""Operator tools: node set-up (:mod:`node.ops.bootstrap`), the CA members file
(:mod:`node.ops.ca_members`), certificate requests (:mod:`node.ops.cert_requests`), index
runs (:mod:`node.ops.indexing`), registry tombstone purges (:mod:`node.ops.registry_purge`)
and status, backup and restore (:mod:`node.ops.operations`).

Example::

    from node.ops.operations import node_status
"""

__all__: list[str] = []
