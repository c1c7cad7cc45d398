"""The investigator's check: :func:`node.ask.asker.open_hit_check` wires a
:class:`~federation.hitcheck.HitCheck` from ``node.toml``; :mod:`node.ask.check_render`
prints its results.

Example::

    from node.ask.asker import open_hit_check
"""

__all__: list[str] = []
