"""Canonical identifiers: properties, real-looking variants, near-misses, alias table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedlookup.errors import ConfigError, InputError
from registry_adapter.aliases import make_key
from registry_adapter.identifiers import (
    IDENTIFIER_VERSION,
    Identifiers,
    MakeAliases,
    canonical_make,
    canonical_serial,
    record_identifiers,
)
from registry_adapter.makers import MAKERS


def _usable(serial: str) -> bool:
    try:
        canonical_serial(serial)
    except InputError:
        return False
    return True


# Serial-like text (letters and digits); placeholders such as NULL are refused elsewhere.
serials = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=3, max_size=14).filter(
    _usable
)
separators = st.sampled_from([" ", "-", ".", "/", "_", "  ", "\t", "\u00a0", "\u2013"])


@given(serials)
def test_canonical_serial_is_idempotent(serial: str) -> None:
    once = canonical_serial(serial)
    assert canonical_serial(once) == once


@given(serials)
def test_canonical_serial_ignores_case(serial: str) -> None:
    assert canonical_serial(serial.lower()) == canonical_serial(serial)


@given(serials, st.lists(st.tuples(st.integers(0, 14), separators), max_size=4))
def test_canonical_serial_ignores_separators_and_whitespace(
    serial: str, inserts: list[tuple[int, str]]
) -> None:
    messy = serial
    for pos, sep in inserts:
        messy = messy[:pos] + sep + messy[pos:]
    assert canonical_serial(f"  {messy}\n") == canonical_serial(serial)


@given(serials)
def test_canonical_serial_folds_o_to_zero_and_i_to_one(serial: str) -> None:
    assert canonical_serial(serial.replace("0", "O").replace("1", "I")) == canonical_serial(serial)


@given(st.text(max_size=30))
def test_canonical_serial_output_is_letters_and_digits_or_refused(text: str) -> None:
    if not _usable(text):
        with pytest.raises(InputError, match=r"^serial: "):
            canonical_serial(text)
        return
    out = canonical_serial(text)
    assert out
    assert all(ch.isalnum() for ch in out)
    assert "O" not in out
    assert "I" not in out


@given(st.sampled_from([s for m in MAKERS for s in m.spellings]), serials)
def test_identifiers_have_version_prefix_and_are_deterministic(make: str, serial: str) -> None:
    ids = record_identifiers(make, serial)
    assert ids == record_identifiers(make.upper(), f" {serial.lower()} ")
    assert ids.make_serial.startswith(f"{IDENTIFIER_VERSION}|MS|".encode())
    assert ids.serial_only == f"{IDENTIFIER_VERSION}|S|{canonical_serial(serial)}".encode()


MATCHING = [
    # (make A, serial A, make B, serial B): one firearm, two spellings
    ("Glock", "ABC123", "GLOCK GmbH", "abc 123"),
    ("S&W", "DHB1234", "Smith & Wesson", "dhb-1234"),
    ("SMITH AND WESSON INC.", "DHB1234", "smith&wesson", "DHB 1234"),
    ("Sturm, Ruger & Co.", "123-45678", "Ruger", "12345678"),
    ("Heckler & Koch", "24-012345", "H&K", "24 O12345"),
    ("Beretta", "BER123456", "Pietro Beretta S.p.A.", "BER-123-456"),
    ("CZ", "A123456", "Česká zbrojovka", "a 123 456"),
    ("SIG Sauer", "58A1I2345", "SIGARMS", "58a112345"),
    ("FN Herstal", "386123456", "Fabrique Nationale", "386.123.456"),
    ("Colt", "LE012345", "Colt's Mfg Co", "LEO12345"),
    ("Kalashnikov", "AB1234", "IZHMASH", "АВ1234"),  # Cyrillic А and В
    ("Walther", "FAC1234", "Carl Walther GmbH", "ＦＡＣ１２３４"),  # full-width
    ("Mossberg", "V1234567", "O.F. Mossberg & Sons", "v123 4567"),
]


@pytest.mark.parametrize(("make_a", "serial_a", "make_b", "serial_b"), MATCHING)
def test_variants_of_one_firearm_match(
    make_a: str, serial_a: str, make_b: str, serial_b: str
) -> None:
    a = record_identifiers(make_a, serial_a)
    b = record_identifiers(make_b, serial_b)
    assert a == b


NEAR_MISSES = [
    ("Glock", "ABC123", "Glock", "ABC128"),  # one digit apart
    ("Glock", "ABC123", "Glock", "ABC1234"),  # one character longer
    ("Glock", "ABC123", "Glock", "ACB123"),  # transposed
    ("Glock", "S12345", "Glock", "512345"),  # S and 5 are not folded
    ("Glock", "B12345", "Glock", "812345"),  # B and 8 are not folded
    ("Glock", "Z12345", "Glock", "212345"),  # Z and 2 are not folded
]


@pytest.mark.parametrize(("make_a", "serial_a", "make_b", "serial_b"), NEAR_MISSES)
def test_near_misses_do_not_match(make_a: str, serial_a: str, make_b: str, serial_b: str) -> None:
    a = record_identifiers(make_a, serial_a)
    b = record_identifiers(make_b, serial_b)
    assert a.make_serial != b.make_serial
    assert a.serial_only != b.serial_only


@pytest.mark.parametrize(
    ("make_a", "make_b"),
    [("Glock", "Beretta"), ("Smith & Wesson", "Sturm Ruger"), ("Heckler & Koch", "Walther")],
)
def test_same_serial_under_two_makes_matches_serial_only(make_a: str, make_b: str) -> None:
    a = record_identifiers(make_a, "ABC123")
    b = record_identifiers(make_b, "ABC123")
    assert a.make_serial != b.make_serial
    assert a.serial_only == b.serial_only


@pytest.mark.parametrize(
    "serial",
    ["", "   ", "---", "N/A", "n.a.", "unknown", "UNKNOWN", "none", "No serial", "0000", "X",
     "AB", "obliterated", "xxxx"],
)  # fmt: skip
def test_unusable_serials_are_refused(serial: str) -> None:
    with pytest.raises(InputError) as err:
        record_identifiers("Glock", serial)
    assert err.value.field == "serial"
    assert serial.strip() == "" or serial not in str(err.value)  # never echoes the serial


@pytest.mark.parametrize("make", ["", "  ", "&", "---", "."])
def test_unusable_makes_are_refused(make: str) -> None:
    with pytest.raises(InputError) as err:
        record_identifiers(make, "ABC123")
    assert err.value.field == "make"


def test_identifier_bytes_are_the_documented_format() -> None:
    ids = record_identifiers("S&W", "dhb-1234")
    assert ids == Identifiers(b"v1|MS|SMITHANDWESSON|DHB1234", b"v1|S|DHB1234")


def test_every_generator_spelling_folds_to_one_make() -> None:
    for maker in MAKERS:
        assert len({canonical_make(s) for s in maker.spellings}) == 1, maker.spellings


def test_makers_stay_distinct() -> None:
    canon = [canonical_make(m.spellings[0]) for m in MAKERS]
    assert len(set(canon)) == len(canon)


def test_unknown_make_is_its_own_key() -> None:
    assert canonical_make("Acme Arms Ltd.") == "ACMEARMS"
    assert make_key("Acme Arms Ltd.") == "ACMEARMS"


def test_extra_alias_file_extends_the_table(tmp_path: Path) -> None:
    extra = tmp_path / "aliases.csv"
    extra.write_text("# local spellings\ncanonical,alias\nGlock,Glok\nAcme Arms,ACME\n")
    table = MakeAliases.with_extra(extra)
    assert canonical_make("glok", table) == "GLOCK"
    assert canonical_make("Acme", table) == canonical_make("Acme Arms")
    assert canonical_make("glok") == "GLOK"  # the default table is unchanged
    assert len(table) > len(MakeAliases.default())


def test_extra_alias_may_not_repoint_a_default_spelling(tmp_path: Path) -> None:
    extra = tmp_path / "aliases.csv"
    extra.write_text("canonical,alias\nBeretta,S&W\n")
    with pytest.raises(ConfigError) as err:
        MakeAliases.with_extra(extra)
    assert str(extra) in str(err.value)


@pytest.mark.parametrize(
    "text", ["alias,canonical\nGlock,Glok\n", "canonical,alias\nGlock\n", "canonical,alias\n,X\n"]
)
def test_malformed_alias_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    extra = tmp_path / "aliases.csv"
    extra.write_text(text)
    with pytest.raises(ConfigError):
        MakeAliases.with_extra(extra)


def test_missing_alias_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="make_aliases"):
        MakeAliases.with_extra(tmp_path / "absent.csv")
