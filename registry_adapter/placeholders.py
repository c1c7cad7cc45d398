"""Placeholder and junk policy (identifier rules v2): serials that are not markings.

Registries type a description where a firearm has no usable marking ("no number",
"défiguré", "без номера", "无编号") or fill the field with junk (``0000``, ``XXXX``,
``123456``). As identifiers these would match every other unmarked firearm, so they are
refused at import (the row goes to the rejects file with the reason) and at check. The
vocabulary lives in ``registry_adapter/data/placeholders.csv`` (the EU's 24 official
languages and the working languages of INTERPOL and the UN, sources cited there).

A serial is refused when, after folding (:func:`fold_text`):

* it equals a listed phrase (``N/A``, ``UNBEKANNT``, ``SANS``);
* it holds no digit and contains a listed stem (``ILLEGIB``, ``NUMMER``, ``СПИЛЕН``), or
  holds letters of a script other than Latin, Greek or Cyrillic, or two words ("see notes");
* it holds a wildcard (``?`` or ``*``) next to other characters: a partial serial;
* it repeats a single character (``0000``, ``XXXX``) or is a plain run (``123456``);
* it carries less than :data:`ENTROPY_FLOOR_BITS` of information (:func:`entropy_bits`).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import math
import unicodedata
from dataclasses import dataclass
from importlib import resources

from registry_adapter.maker_key import BASE_LETTERS

__all__ = [
    "ENTROPY_FLOOR_BITS",
    "ENTROPY_SURE_LENGTH",
    "PlaceholderPolicy",
    "entropy_bits",
    "fold_text",
    "has_digit",
    "reaches_entropy_floor",
]

#: Below this a serial identifies too little: about three random digits (3 x 3.32 bits).
ENTROPY_FLOOR_BITS = 9.9

_DIGIT_BITS = 3.32  # log2(10)
_LATIN_BITS = 4.7  # log2(26)
_OTHER_BITS = 5.0  # letters of other scripts: larger alphabets, counted modestly
_PATTERN_BITS = 1.0  # a character continuing a repeat or a run ("0000", "12345") adds little
_WILDCARDS = frozenset("?*\uff1f\uff0a")
_PLAIN_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
# ASCII text is folded on bytes: one C-level pass deletes all but letters and digits.
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())
# Bits of each ASCII character as it stands (not continuing a pattern), by code point.
_ASCII_BITS = tuple(
    _DIGIT_BITS if chr(c).isdigit() else _LATIN_BITS if "A" <= chr(c) <= "Z" else _OTHER_BITS
    for c in range(128)
)


def fold_text(text: str) -> str:
    """Fold text for placeholder comparison.

    NFKC, accents stripped, upper case, then only letters and digits of any script are kept
    (decimal digits of any script become ASCII).

    Example:
        >>> fold_text("Numéro illisible")
        'NUMEROILLISIBLE'
    """
    if text.isascii():
        if text.isalnum():  # nothing to drop
            return text.upper()
        return text.upper().encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    base = unicodedata.normalize("NFKC", text).translate(BASE_LETTERS)
    decomposed = unicodedata.normalize("NFKD", base)
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        cat = unicodedata.category(ch)
        if cat == "Nd":
            out.append(str(unicodedata.digit(ch)))
        elif cat[0] in "LN":
            out.append(ch.upper())
    return unicodedata.normalize("NFC", "".join(out))


def entropy_bits(canonical: str) -> float:
    """Estimate the information a canonical serial carries, in bits.

    Each digit counts log2(10), each Latin letter log2(26), other letters 5 bits, except a
    character that continues a pattern (the same step from its predecessor as that one had
    from its own: ``000``, ``1234``, ``ACEG``), which counts 1 bit. ``"ABC123"`` is 17 bits,
    ``"742"`` 10 bits, ``"443323"`` 20 bits, ``"0000"`` and ``"1234"`` under 9.
    """
    # Summed character by character, in order: the float result (shown in refusals and
    # compared with the floor) must not depend on the order of additions.
    bits = 0.0
    step: int | None = None
    prev: int | None = None
    for code in map(ord, canonical):
        new_step = None if prev is None else code - prev
        if new_step is not None and new_step == step:
            bits += _PATTERN_BITS
        elif code < 128:
            bits += _ASCII_BITS[code]
        elif chr(code).isdigit():
            bits += _DIGIT_BITS
        else:
            bits += _OTHER_BITS
        step, prev = new_step, code
    return bits


#: From this length on :func:`entropy_bits` reaches the floor whatever the characters: the
#: first two count at least a digit's bits each (no pattern can start before the third),
#: every later one at least :data:`_PATTERN_BITS` (6 characters: 10.64 bits or more).
ENTROPY_SURE_LENGTH = 2 + math.ceil(
    (ENTROPY_FLOOR_BITS - 2 * min(_DIGIT_BITS, _LATIN_BITS, _OTHER_BITS)) / _PATTERN_BITS
)


def reaches_entropy_floor(canonical: str) -> bool:
    """``entropy_bits(canonical) >= ENTROPY_FLOOR_BITS``, without summing long serials.

    Example:
        >>> reaches_entropy_floor("742"), reaches_entropy_floor("0000")
        (True, False)
    """
    return len(canonical) >= ENTROPY_SURE_LENGTH or entropy_bits(canonical) >= ENTROPY_FLOOR_BITS


@dataclass(frozen=True)
class PlaceholderPolicy:
    """The phrases and stems that mark a serial (or make) as describing no marking.

    Attributes:
        phrases: folded phrases refused on exact match.
        stems: folded stems refused inside a serial holding no digit.
        unknown: folded stems meaning "unknown" (also used for makes).
    """

    phrases: frozenset[str]
    stems: tuple[str, ...]
    unknown: tuple[str, ...]

    @classmethod
    @functools.cache
    def default(cls) -> PlaceholderPolicy:
        """The packaged vocabulary (``data/placeholders.csv``), cached."""
        data = resources.files("registry_adapter").joinpath("data", "placeholders.csv")
        lines = [ln for ln in data.read_text("utf-8").splitlines() if not ln.startswith("#")]
        phrases: set[str] = set()
        stems: list[str] = []
        unknown: list[str] = []
        for row in csv.DictReader(io.StringIO("\n".join(lines))):
            folded = fold_text(row["phrase"])
            if row["kind"] == "phrase":
                phrases.add(folded)
            else:
                stems.append(folded)
                if row["kind"] == "unknown":
                    unknown.append(folded)
        return cls(frozenset(phrases), tuple(stems), tuple(unknown))

    def serial_refusal(self, typed: str, canonical: str) -> str | None:
        """Why a serial is not a marking, or ``None`` when it may be one.

        Args:
            typed: the serial as entered.
            canonical: its canonical form (letters and digits).

        Returns:
            A reason that never repeats the serial, or ``None``.
        """
        folded = fold_text(typed)
        if folded in self.phrases or canonical in self.phrases:
            return "describes a missing marking (placeholder), not a serial"
        if not has_digit(folded):
            if any(stem in folded for stem in self.stems):
                return "describes a missing or unreadable marking, not a serial"
            if not folded.isascii() and any(_script(ch) not in _PLAIN_SCRIPTS for ch in folded):
                return "written in words with no digit, not a marking"
            words = [w for w in typed.split() if sum(ch.isalpha() for ch in w) >= 2]
            if len(words) >= 2:
                return "written in words with no digit, not a marking"
        if not _WILDCARDS.isdisjoint(typed):
            return "holds a wildcard (? or *): a partial serial cannot be matched"
        size = len(canonical)
        if canonical.count(canonical[:1]) == size:
            return "repeats one character (placeholder)"
        if size >= 4 and _is_run(canonical):
            return "is a plain ascending or descending run (placeholder)"
        if size >= ENTROPY_SURE_LENGTH:
            return None
        bits = entropy_bits(canonical)
        if bits < ENTROPY_FLOOR_BITS:
            return (
                f"carries too little information to identify a firearm "
                f"({bits:.1f} bits, floor {ENTROPY_FLOOR_BITS})"
            )
        return None

    def make_is_unknown(self, make: str) -> bool:
        """True when a make says "unknown" or holds no letter (``?``, ``-``, ``N/A``)."""
        return _make_unknown(self, make)


@functools.lru_cache(maxsize=8192)
def _make_unknown(policy: PlaceholderPolicy, make: str) -> bool:
    # Registries hold a few hundred spellings across millions of rows.
    folded = fold_text(make)
    if not any(ch.isalpha() for ch in folded):
        return True
    return folded in policy.phrases or any(stem in folded for stem in policy.unknown)


def has_digit(folded: str) -> bool:
    """``any(ch.isdigit() for ch in folded)`` for folded text (letters and digits only, as
    :func:`fold_text` and a canonical serial are), in one C-level pass when it is ASCII.

    Example:
        >>> has_digit("AB12"), has_digit("ABC"), has_digit("")
        (True, False, False)
    """
    if folded.isascii():  # only letters and digits: any non-letter is a digit
        return bool(folded) and not folded.isalpha()
    return any(ch.isdigit() for ch in folded)


def _is_run(text: str) -> bool:
    if abs(ord(text[1]) - ord(text[0])) != 1:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1})


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
