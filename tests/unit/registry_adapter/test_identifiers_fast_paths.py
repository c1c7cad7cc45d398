"""The shortcuts the v2 derivation takes for speed agree with the plain definitions.

Each fast path (entropy summed over code points, the length beyond which the entropy floor
always holds, digit tests and ASCII folding on bytes) is compared with the straightforward
rule it replaces, on seeded random text of every kind a registry holds.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

from registry_adapter.placeholders import (
    ENTROPY_FLOOR_BITS,
    ENTROPY_SURE_LENGTH,
    entropy_bits,
    fold_text,
    has_digit,
    reaches_entropy_floor,
)
from registry_adapter.serial_v2 import fold_serial

_ALPHABET = (
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz -_/.#?*'&"
    "АВЕКМНОРСТХЖШЩбвлΑΒΓΔΘΛΞΠΣΦαβγ²³①Ⅻ٣٤१२ＡＢ１２éÉüßøŁıǅ\u0301\u00a0無"
)


def _reference_entropy(canonical: str) -> float:
    """The rule as first written: one character at a time, by index."""
    bits = 0.0
    step: int | None = None
    for i, ch in enumerate(canonical):
        new_step = ord(ch) - ord(canonical[i - 1]) if i else None
        if new_step is not None and new_step == step:
            bits += 1.0
        elif ch.isdigit():
            bits += 3.32
        elif "A" <= ch <= "Z":
            bits += 4.7
        else:
            bits += 5.0
        step = new_step
    return bits


def _texts(seed: int, count: int, alphabet: str = _ALPHABET) -> list[str]:
    rng = random.Random(seed)
    runs = ["0000000", "1234567", "ACEGIKM", "9876543", "AAAAAAA"]
    out = []
    for _ in range(count):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        if rng.random() < 0.3:
            text += rng.choice(runs)[: rng.randint(1, 7)]
        out.append(text)
    return out


def test_entropy_is_bit_for_bit_the_reference_sum() -> None:
    for text in _texts(1, 20_000):
        assert entropy_bits(text) == _reference_entropy(text), repr(text)


def test_the_sure_length_is_the_shortest_that_always_reaches_the_floor() -> None:
    # The poorest serial of each length: two digits, then a repeat (1 bit a character).
    assert entropy_bits("0" * ENTROPY_SURE_LENGTH) >= ENTROPY_FLOOR_BITS
    assert entropy_bits("0" * (ENTROPY_SURE_LENGTH - 1)) < ENTROPY_FLOOR_BITS
    for text in _texts(2, 20_000):
        assert reaches_entropy_floor(text) is (entropy_bits(text) >= ENTROPY_FLOOR_BITS)


@pytest.mark.parametrize("seed", [3, 4])
def test_digit_test_on_folded_text_is_any_isdigit(seed: int) -> None:
    for text in _texts(seed, 10_000):
        for folded in (fold_text(text), fold_serial(text)):
            assert has_digit(folded) is any(ch.isdigit() for ch in folded), repr(text)


def test_ascii_folding_keeps_only_letters_and_digits() -> None:
    ascii_text = "".join(map(chr, range(128)))
    alnum = "".join(ch for ch in ascii_text if ch.isalnum())
    for text in [*_texts(5, 5_000, ascii_text), *_texts(6, 5_000, alnum), ascii_text, alnum]:
        upper = text.upper()
        kept = "".join(ch for ch in upper if ch.isalnum())
        assert fold_text(text) == kept
        assert fold_serial(text) == kept.replace("O", "0").replace("I", "1")
        assert unicodedata.is_normalized("NFC", fold_text(text))
