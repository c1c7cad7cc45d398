"""Canonical, versioned firearm identifiers: the bytes both ends of a lookup must agree on.

A record yields two identifiers (rules and examples in ``docs/identifiers.md``)::

    v1|MS|<MAKE>|<SERIAL>     make + serial: a "hit"
    v1|S|<SERIAL>             serial only: a weaker "possible match"

``SERIAL`` is the serial after Unicode NFKC, upper case, homoglyph folding (Cyrillic and Greek
look-alikes to Latin, then ``O`` to ``0`` and ``I`` to ``1``) and removal of everything that is
not a letter or digit. ``MAKE`` is the manufacturer folded through :class:`MakeAliases`.
Changing any rule changes bytes other nodes hold, so a rule change means a new
:data:`IDENTIFIER_VERSION`, never an edit of ``v1``.
"""

from __future__ import annotations

import unicodedata

from fedlookup.errors import InputError
from fedlookup.identifiers import IDENTIFIER_VERSION, Identifiers
from registry_adapter.aliases import MakeAliases, make_key

__all__ = [
    "IDENTIFIER_VERSION",
    "MIN_SERIAL_LENGTH",
    "Identifiers",
    "MakeAliases",
    "canonical_make",
    "canonical_serial",
    "record_identifiers",
]

#: Shorter canonical serials identify nothing (a serial-only "12" matches thousands of
#: firearms), so they are refused rather than turned into an identifier.
MIN_SERIAL_LENGTH = 3

# Registries typed on Cyrillic or Greek keyboards store look-alike letters for the Latin
# marking stamped on the firearm; they must meet the Latin spelling. Only letters that are
# visually identical in capitals are folded.
_HOMOGLYPHS = {
    # Cyrillic capitals
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    # Greek capitals
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip

# Applied after the homoglyphs: stamped O and 0, I and 1 are indistinguishable on worn
# metal and are confused at data entry in both directions; digits win because serials are
# mostly digits.
_CONFUSABLES = {"O": "0", "I": "1"}

_FOLD = str.maketrans(
    {**{k: _CONFUSABLES.get(v, v) for k, v in _HOMOGLYPHS.items()}, **_CONFUSABLES}
)

# Placeholders registries type when a firearm has no usable marking. As identifiers they
# would match every other unmarked firearm, so they are refused (compared after folding).
_PLACEHOLDER_WORDS = (
    "NONE", "NULL", "NIL", "UNKNOWN", "NOSERIAL", "NOSN", "NSN", "NOTMARKED", "UNMARKED",
    "UNREADABLE", "ILLEGIBLE", "OBLITERATED", "REMOVED", "TBD", "XXX", "XXXX", "XXXXX",
    "XXXXXX",
)  # fmt: skip
_PLACEHOLDERS = frozenset(w.translate(_FOLD) for w in _PLACEHOLDER_WORDS)

# One C-level pass for ASCII input: fold O and I, delete everything but A-Z and 0-9.
_ASCII_TABLE = str.maketrans(
    {chr(c): (_CONFUSABLES.get(chr(c), chr(c)) if chr(c).isalnum() else None) for c in range(128)}
)


def canonical_serial(serial: str) -> str:
    """Return the canonical form of a serial number.

    Args:
        serial: the serial as entered (any case, spacing, separators, script).

    Returns:
        Upper-case letters and digits only, with ``O`` folded to ``0`` and ``I`` to ``1``.

    Raises:
        InputError: (field ``serial``) when nothing usable remains: empty, separators only,
            shorter than :data:`MIN_SERIAL_LENGTH`, all zeros, or a placeholder such as
            ``UNKNOWN`` or ``N/A``.
    """
    text = unicodedata.normalize("NFKC", serial).upper()
    if text.isascii():
        folded = text.translate(_ASCII_TABLE)
    else:
        folded = "".join(_fold_unicode(ch) for ch in text.translate(_FOLD))
    if len(folded) < MIN_SERIAL_LENGTH:
        raise InputError(
            f"serial has fewer than {MIN_SERIAL_LENGTH} letters or digits", field="serial"
        )
    if folded in _PLACEHOLDERS or not folded.strip("0"):
        raise InputError("serial is a placeholder, not a marking", field="serial")
    return folded


def _fold_unicode(ch: str) -> str:
    """Keep letters and digits of any script (decimal digits as ASCII); drop the rest."""
    cat = unicodedata.category(ch)
    if cat == "Nd":
        return str(unicodedata.digit(ch))
    return ch if cat[0] in "LN" else ""


def canonical_make(make: str, aliases: MakeAliases | None = None) -> str:
    """Return the canonical form of a manufacturer name.

    Args:
        make: the manufacturer as entered (``"S&W"``, ``"SMITH AND WESSON INC."``).
        aliases: alias table; the packaged default when ``None``.

    Returns:
        The canonical key, upper-case letters and digits (``"SMITHANDWESSON"``).

    Raises:
        InputError: (field ``make``) when the name holds no letter or digit.
    """
    table = aliases if aliases is not None else MakeAliases.default()
    key = make_key(make)
    if not key:
        raise InputError("make has no letters or digits", field="make")
    return table.resolve(key)


def record_identifiers(make: str, serial: str, aliases: MakeAliases | None = None) -> Identifiers:
    """Derive both identifiers of a firearm.

    Args:
        make: manufacturer as entered.
        serial: serial number as entered.
        aliases: alias table; the packaged default when ``None``.

    Returns:
        The make+serial and serial-only identifiers.

    Raises:
        InputError: when the make or the serial is unusable (see :func:`canonical_serial`).

    Example:
        >>> record_identifiers("S&W", "dhb-1234").make_serial
        b'v1|MS|SMITHANDWESSON|DHB1234'
        >>> record_identifiers("Smith and Wesson Inc.", "DHB 1234").serial_only
        b'v1|S|DHB1234'
    """
    cserial = canonical_serial(serial)
    cmake = canonical_make(make, aliases)
    return Identifiers(
        make_serial=f"{IDENTIFIER_VERSION}|MS|{cmake}|{cserial}".encode(),
        serial_only=f"{IDENTIFIER_VERSION}|S|{cserial}".encode(),
    )
