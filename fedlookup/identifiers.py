"""The identifier vocabulary every package shares: :class:`Identifiers` and its version.

An identifier is the canonical bytes of a firearm that PSI evaluates. How a (make, serial)
becomes those bytes is the registry's business (``registry_adapter.identifiers``, rules in
``docs/identifiers.md``); what the bytes *are* is shared by the index, the hit check and the
protocol, so the type lives here, in the kernel, and ``federation`` types them without
knowing ``registry_adapter``.

Example::

    >>> from fedlookup.identifiers import Identifiers
    >>> ids = Identifiers(b"v1|MS|GLOCK|AB12345", b"v1|S|AB12345")
    >>> ids.items()
    (b'v1|MS|GLOCK|AB12345', b'v1|S|AB12345')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IDENTIFIER_VERSION", "Identifiers"]

#: Version prefix of every identifier; both ends must derive the same bytes. A rule change
#: means a new version, never an edit of ``v1``.
IDENTIFIER_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Identifiers:
    """The identifiers of one firearm, as the bytes PSI evaluates.

    Attributes:
        make_serial: ``b"v1|MS|<MAKE>|<SERIAL>"`` (UTF-8): a match is a hit. Empty when the
            make is unknown (identifier rules v2): the firearm is then serial-only.
        serial_only: ``b"v1|S|<SERIAL>"`` (UTF-8): a match alone is a possible match.
        variants: extra serial-only items (rules v2: ``b"v2|S|<VARIANT>"``, at most a few):
            a match alone is a possible match.
    """

    make_serial: bytes
    serial_only: bytes
    variants: tuple[bytes, ...] = ()

    def items(self) -> tuple[bytes, ...]:
        """Every identifier, make+serial first when known (the order the index and a check
        use), then serial-only and the variants."""
        head = (self.make_serial,) if self.make_serial else ()
        return (*head, self.serial_only, *self.variants)

    @property
    def hit_items(self) -> int:
        """How many leading items of :meth:`items` make a ``hit`` (0 or 1)."""
        return 1 if self.make_serial else 0
