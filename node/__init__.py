"""The process a country runs, in rooms by audience: ``serve`` (the serving process), ``ask``
(the investigator's check), ``ops`` (operator tools), ``cli`` (the ``fedlookup`` command),
``demo``, ``desk`` (the investigators' web desk). The top holds what every room shares:
configuration (:mod:`node.config`), the data-folder layout and log origins
(:mod:`node.layout`), the peer policy and logging.

Nothing imports ``node``; it imports ``federation``, ``registry_adapter``, ``certs``,
``audit`` and ``protos``.
"""

__all__: list[str] = []
