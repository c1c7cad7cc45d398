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

import functools
from dataclasses import dataclass

from fedlookup.errors import InputError
from registry_adapter.maker_key import maker_words
from registry_adapter.maker_table import MakerTable
from registry_adapter.placeholders import PlaceholderPolicy, has_digit, reaches_entropy_floor
from registry_adapter.serial_v2 import (
    VARIABLE_PREFIXES,
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
    if "\x00" in make:
        raise InputError("contains a NUL character", field="make")
    if "\x00" in serial:
        raise InputError("contains a NUL character", field="serial")
    # The label is stripped once: the canonical serial, the label warning and the variants
    # all start from it.
    label_free = strip_label(serial)
    canonical = fold_serial(label_free)
    if not canonical:
        raise InputError("serial has no letters or digits", field="serial")
    refusal = _policy().serial_refusal(serial, canonical)
    if refusal is not None:
        raise InputError(refusal, field="serial")
    warnings: list[str] = []
    if not serial.isalnum() and canonical != fold_serial(serial):
        warnings.append(_LABEL_REMOVED)
    if not has_digit(canonical):
        warnings.append(_NO_DIGIT)
    serial_only = f"{IDENTIFIER_VERSION_V2}|S|{canonical}".encode()
    variants: tuple[bytes, ...] = ()
    # serial_variants' own first test, inlined: most serials are one plain token.
    plain = serial.isalnum() and serial.isascii() and not canonical.startswith(VARIABLE_PREFIXES)
    candidates = [] if plain else serial_variants(serial, canonical, label_free)
    if candidates:
        kept = [v for v in candidates if reaches_entropy_floor(v)]
        if kept:
            zero_free = canonical.lstrip("0")
            if any(v != zero_free for v in kept):
                warnings.append(
                    "serial: may carry a label, mark or other-script letters: "
                    f"also checked as {len(kept)} serial-only variant(s)"
                )
            variants = tuple(f"{IDENTIFIER_VERSION_V2}|S|{v}".encode() for v in kept)
    head, make_warnings = _make_part(makers if makers is not None else _default_table(), make)
    return FirearmIdentifiers(
        make_serial=None if head is None else (head + canonical).encode(),
        serial_only=serial_only,
        variants=variants,
        warnings=(*warnings, *make_warnings) if make_warnings else tuple(warnings),
    )


_LABEL_REMOVED = "serial: a label prefix (No., S/N, N°...) was removed"
_NO_DIGIT = "serial: holds no digit"
_MAKE_UNKNOWN = "make: unknown, so checked by serial only (possible match at most)"
_MAKE_NOT_IN_TABLE = "make: not in the maker table (a hit needs the same spelling)"
_MAKE_WITH_MODEL = "make: read as a known maker followed by other words (a model?)"
_policy = PlaceholderPolicy.default
_default_table = MakerTable.default


@functools.lru_cache(maxsize=16384)
def _make_part(table: MakerTable, make: str) -> tuple[str | None, tuple[str, ...]]:
    """The make+serial item up to the serial (``"v2|MS|<MAKE>|"``, ``None`` when the make is
    unknown) and the make's warnings. A registry holds a few hundred spellings across
    millions of rows, so this runs once per spelling; a table is never changed once built."""
    words = maker_words(make)
    if not words or _policy().make_is_unknown(make):
        return None, (_MAKE_UNKNOWN,)
    warnings: tuple[str, ...] = ()
    key = _known_prefix(words, table)
    if key is None:
        key = "".join(words)
        warnings = (_MAKE_NOT_IN_TABLE,)
    elif key != "".join(words):
        warnings = (_MAKE_WITH_MODEL,)
    return f"{IDENTIFIER_VERSION_V2}|MS|{table.resolve(key)}|", warnings


def _known_prefix(words: tuple[str, ...], table: MakerTable) -> str | None:
    """The key of the longest leading run of words the table knows ("Walther PPK" reads as
    Walther, "Glock 17" as Glock), or ``None``. A model typed into the make field is common;
    only a known maker's name is taken, so an unknown name is never cut short."""
    for n in range(len(words), 0, -1):
        key = "".join(words[:n])
        if table.knows(key):
            return key
    return None
