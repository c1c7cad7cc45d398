"""``fedlookup.v1``: generated messages and service stubs (see ``fedlookup.proto``).

Regenerate with ``make protos``; CI checks for drift with ``make protos-check``.
"""
