"""The ``fedlookup`` command: :mod:`node.cli.main` and one module per group (``registry``,
``node``, ``ca``, ``check``, ``audit``, ``demo``). Nothing imports it.

Example::

    from node.cli.main import app
"""

__all__: list[str] = []
