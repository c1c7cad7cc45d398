"""Identifier rules ``v2``: the items one firearm yields, and the one validation both
``registry import`` and ``check`` apply (rules and examples in ``docs/identifiers.md``)::

    v2|MS|<MAKE>|<SERIAL>     make + serial: a "hit" (absent when the make is unknown)
    v2|S|<SERIAL>             serial only: a "possible match"
    v2|S|<VARIANT>            0 to 2 serial variants: a "possible match"

Example:
    >>> ids = identify("Glock Ges.m.b.H.", "No. 00ABC123")
    >>> ids.make_serial, ids.serial_only
    (b'v2|MS|GLOCK|00ABC123', b'v2|S|00ABC123')
    >>> ids.variants
    (b'v2|S|ABC123',)
"""

from __future__ import annotations

from dataclasses import dataclass

from fedlookup.errors import InputError
from registry_adapter.maker_key import maker_words
from registry_adapter.maker_table import MakerTable
from registry_adapter.placeholders import ENTROPY_FLOOR_BITS, PlaceholderPolicy, entropy_bits
from registry_adapter.serial_v2 import (
    canonical_serial_v2,
    fold_serial,
    serial_variants,
    strip_label,
)

__all__ = ["IDENTIFIER_VERSION_V2", "MAX_MAKE_LENGTH", "MAX_SERIAL_LENGTH", "FirearmIdentifiers",
           "identify"]  # fmt: skip

#: Version prefix of every v2 identifier.
IDENTIFIER_VERSION_V2 = "v2"
#: Longest make and serial accepted, as typed (the same limits as ``registry import``).
MAX_MAKE_LENGTH = 200
MAX_SERIAL_LENGTH = 200


@dataclass(frozen=True, slots=True)
class FirearmIdentifiers:
    """The identifier items of one firearm under rules v2.

    Attributes:
        make_serial: ``v2|MS|MAKE|SERIAL``, or ``None`` when the make is unknown.
        serial_only: ``v2|S|SERIAL``.
        variants: extra serial-only items (``v2|S|VARIANT``), at most two.
        warnings: what looked suspicious (never repeats the serial).
    """

    make_serial: bytes | None
    serial_only: bytes
    variants: tuple[bytes, ...] = ()
    warnings: tuple[str, ...] = ()

    def items(self) -> tuple[bytes, ...]:
        """All items, make+serial first when present: what is indexed and what is sent."""
        head = (self.make_serial,) if self.make_serial is not None else ()
        return (*head, self.serial_only, *self.variants)


def identify(make: str, serial: str, makers: MakerTable | None = None) -> FirearmIdentifiers:
    """Derive a firearm's v2 items, refusing what cannot identify a firearm.

    Args:
        make: manufacturer as entered (``?``, ``-``, empty or "unknown" in any listed
            language make it serial-only, with a warning).
        serial: serial as entered.
        makers: maker table; the packaged one when ``None``.

    Returns:
        The items and the warnings.

    Raises:
        InputError: (field ``make`` or ``serial``) too long, a NUL character, a placeholder
            or junk serial, or one below the entropy floor. The reason never repeats it.
    """
    if len(make) > MAX_MAKE_LENGTH:
        raise InputError(f"longer than {MAX_MAKE_LENGTH} characters", field="make")
    if len(serial) > MAX_SERIAL_LENGTH:
        raise InputError(f"longer than {MAX_SERIAL_LENGTH} characters", field="serial")
    for name, value in (("make", make), ("serial", serial)):
        if "\x00" in value:
            raise InputError("contains a NUL character", field=name)
    policy = PlaceholderPolicy.default()
    canonical = canonical_serial_v2(serial)
    if not canonical:
        raise InputError("serial has no letters or digits", field="serial")
    refusal = policy.serial_refusal(serial, canonical)
    if refusal is not None:
        raise InputError(refusal, field="serial")
    warnings: list[str] = []
    if not serial.isalnum() and fold_serial(strip_label(serial)) != fold_serial(serial):
        warnings.append("serial: a label prefix (No., S/N, N°...) was removed")
    if not any(ch.isdigit() for ch in canonical):
        warnings.append("serial: holds no digit")
    variants = [
        v for v in serial_variants(serial, canonical) if entropy_bits(v) >= ENTROPY_FLOOR_BITS
    ]
    if any(v != canonical.lstrip("0") for v in variants):
        warnings.append(
            "serial: may carry a label, mark or other-script letters: "
            f"also checked as {len(variants)} serial-only variant(s)"
        )
    table = makers if makers is not None else MakerTable.default()
    words = maker_words(make)
    ms: bytes | None = None
    if not words or policy.make_is_unknown(make):
        warnings.append("make: unknown, so checked by serial only (possible match at most)")
    else:
        key = _known_prefix(words, table)
        if key is None:
            key = "".join(words)
            warnings.append("make: not in the maker table (a hit needs the same spelling)")
        elif key != "".join(words):
            warnings.append("make: read as a known maker followed by other words (a model?)")
        ms = f"{IDENTIFIER_VERSION_V2}|MS|{table.resolve(key)}|{canonical}".encode()
    return FirearmIdentifiers(
        make_serial=ms,
        serial_only=f"{IDENTIFIER_VERSION_V2}|S|{canonical}".encode(),
        variants=tuple(f"{IDENTIFIER_VERSION_V2}|S|{v}".encode() for v in variants),
        warnings=tuple(warnings),
    )


def _known_prefix(words: tuple[str, ...], table: MakerTable) -> str | None:
    """The key of the longest leading run of words the table knows ("Walther PPK" reads as
    Walther, "Glock 17" as Glock), or ``None``. A model typed into the make field is common;
    only a known maker's name is taken, so an unknown name is never cut short."""
    for n in range(len(words), 0, -1):
        key = "".join(words[:n])
        if table.knows(key):
            return key
    return None
