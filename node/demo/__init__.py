"""``fedlookup demo``: a three-country federation on loopback, set up, checked and audited
(:mod:`node.demo.run`).

Example::

    from node.demo.run import run_demo
"""

__all__: list[str] = []
