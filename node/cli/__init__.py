"""The ``fedlookup`` command: :mod:`node.cli.main` and one module per group (``registry``,
``node``, ``ca``, ``check``, ``audit``, ``audit_monitor``, ``demo``), with what only the
terminal needs: tables for ``node status`` and ``audit report`` (``status_view``,
``audit_report_view``) and plain help labels (``help``). Nothing imports it.

Example::

    from node.cli.main import app
"""

__all__: list[str] = []
