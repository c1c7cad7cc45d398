"""Identifier rules v2: placeholders, entropy floor, labels, variants, the maker table."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fedlookup.errors import ConfigError, InputError
from registry_adapter.canonical_v2 import identify
from registry_adapter.identifier_versions import common_version, parse_versions
from registry_adapter.maker_key import maker_key
from registry_adapter.maker_table import MakerTable
from registry_adapter.placeholders import entropy_bits
from registry_adapter.serial_v2 import MAX_VARIANTS

# One or more per language: the EU's 24, plus Arabic, Chinese and Russian (INTERPOL, UN).
PLACEHOLDERS = {
    "en": ["no serial number", "N/A", "illegible", "defaced", "serial ground off"],
    "de": ["ohne Nummer", "unleserlich", "abgeschliffen"],
    "fr": ["sans numéro", "illisible", "numéro effacé"],
    "es": ["sin número", "ilegible", "número limado"],
    "it": ["senza matricola", "illeggibile", "matricola abrasa"],
    "pt": ["sem número", "ilegível", "raspado"],
    "nl": ["zonder nummer", "onleesbaar", "weggeslepen"],
    "da": ["uden nummer", "ulæselig"],
    "sv": ["utan nummer", "oläslig", "bortslipad"],
    "fi": ["ei numeroa", "lukukelvoton"],
    "et": ["numbrita", "loetamatu"],
    "lv": ["bez numura", "nesalasāms"],
    "lt": ["be numerio", "neįskaitomas"],
    "pl": ["bez numeru", "nieczytelny", "spiłowany"],
    "cs": ["bez čísla", "nečitelné"],
    "sk": ["bez čísla", "nečitateľné"],
    "sl": ["brez številke", "neberljivo"],
    "hr": ["bez broja", "nečitljivo"],
    "hu": ["szám nélkül", "olvashatatlan"],
    "ro": ["fără număr", "ilizibil"],
    "bg": ["без номер", "нечетлив"],
    "el": ["χωρίς αριθμό", "δυσανάγνωστο"],
    "ga": ["gan uimhir"],
    "mt": ["mingħajr numru"],
    "ru": ["без номера", "номер спилен", "нечитаемый"],
    "ar": ["بدون رقم", "غير مقروء"],
    "zh": ["无编号", "编号磨损"],
    "junk": ["0000", "XXXXXX", "123456", "987654", "AB12?45", "12*", "--", "1-2", "see notes"],
}
CASES = [(lang, text) for lang, texts in PLACEHOLDERS.items() for text in texts]


@pytest.mark.parametrize(("lang", "serial"), CASES)
def test_placeholders_and_junk_are_refused_in_every_language(lang: str, serial: str) -> None:
    with pytest.raises(InputError) as caught:
        identify("Glock", serial)
    assert caught.value.field == "serial"
    assert serial not in caught.value.reason


def test_real_serials_in_maker_formats_are_never_refused() -> None:
    rng = random.Random(7)
    formats = ["LLLDDD", "LLDDDDD", "DDLDDDDDD", "DDD-DDDDD", "DDDDDD", "LDDDDDDL", "DDDD"]
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    for _ in range(5000):
        fmt = rng.choice(formats)
        s = "".join(rng.choice(letters) if c == "L" else str(rng.randrange(10)) if c == "D"
                    else c for c in fmt)  # fmt: skip
        if len(set(s.replace("-", ""))) == 1 or entropy_bits(s.replace("-", "")) < 9.9:
            continue  # "0000" and "1234"-like draws are junk by design
        identify("Glock", s)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("No. AB12345", "AB12345"), ("№ AB12345", "AB-12345"), ("N°AB12345", "ab12345"),
     ("S/N: AB12345", "AB 12345"), ("Nr. 0012345", "0012345"), ("SN: 4412345", "4412345"),
     ("Serial No. AB12345", "AB12345"), ("Matricola AB12345", "AB12345"),
     ("N.º AB12345", "AB12345"), ("N° de série AB12345", "AB12345"),
     ("Fab.-Nr. AB12345", "AB12345"),
     ("Номер AB12345", "AB12345"), ("No URX39448", "URX39448")],
)  # fmt: skip
def test_label_prefixes_give_the_same_identifiers(typed: str, stored: str) -> None:
    assert identify("Glock", typed).make_serial == identify("Glock", stored).make_serial
    assert any("label" in w for w in identify("Glock", typed).warnings)


@pytest.mark.parametrize(
    ("a", "b"),
    [("0012345", "12345X"), ("AB12345 DE 2019", "AB12345"), ("NL-22 AB12345", "AB12345"),
     ("CAI AB12345", "AB12345"), ("SN44712345", "44712345"), ("ВР 447123", "VR447123")],
)  # fmt: skip
def test_variants_meet_in_serial_only_items_but_not_in_make_serial(a: str, b: str) -> None:
    if b == "12345X":
        b = "12345"
        a, b = a + "9", b + "9"
    x, y = identify("Glock", a), identify("Glock", b)
    assert x.make_serial != y.make_serial
    assert set(x.items()[1:]) & set(y.items()[1:])
    assert all(v.startswith(b"v2|S|") for v in x.variants + y.variants)


def test_variants_are_bounded_and_never_repeat_the_serial() -> None:
    ids = identify("Kalashnikov", "No. 00ВР 4471 2345 DE 2019")
    assert 1 <= len(ids.variants) <= MAX_VARIANTS
    assert ids.serial_only not in ids.variants
    assert len(set(ids.variants)) == len(ids.variants)


def test_near_misses_stay_apart() -> None:
    for a, b in [("AB12345", "AB12346"), ("AB12345", "AB21345"), ("AB5123", "ABS123"),
                 ("AB8123", "ABB123"), ("2455-12345", "2456-12345")]:  # fmt: skip
        assert not set(identify("Glock", a).items()) & set(identify("Glock", b).items())


@pytest.mark.parametrize(
    "names",
    [["Glock", "Glock Ges.m.b.H.", "GLOCK Inc.", "Глок", "格洛克", "Glock 17"],
     ["Kalashnikov", "Izhmash", "Ижмаш", "OOO Концерн Калашников", "JSC Kalashnikov Concern"],
     ["Ceska Zbrojovka", "Česká zbrojovka a.s.", "CZ", "CZ-USA", "CZ 75 B"],
     ["Radom", "Fabryka Broni Łucznik-Radom sp. z o.o.", "Łucznik"],
     ["Zastava", "Crvena Zastava", "Zastava oružje a.d.", "Застава"],
     ["Beretta", "Fabbrica d'Armi Pietro Beretta S.p.A.", "Beretta Gardone V.T."],
     ["Norinco", "China North Industries Corp.", "中国北方工业公司", "中国北方工业集团", "诺林科"],
     ["Smith & Wesson", "S&W", "Смит и Вессон", "Σμιθ & Γουέσον", "Smith & Wesson Springfield MA"]],
)  # fmt: skip
def test_maker_spellings_fold_to_one_maker(names: list[str]) -> None:
    keys = {identify(n, "AB12345").make_serial for n in names}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("a", "b"),
    [("J. P. Sauer & Sohn", "SIG Sauer"), ("Zbrojovka Brno", "Ceska Zbrojovka"),
     ("Izhmash", "Izhevsk Mechanical Plant"), ("Tula Arms Plant", "Kalashnikov"),
     ("Colt", "Smith & Wesson"), ("Acme Arms", "Acme Precision Ltd")],
)  # fmt: skip
def test_different_companies_stay_apart(a: str, b: str) -> None:
    assert identify(a, "AB12345").make_serial != identify(b, "AB12345").make_serial


@pytest.mark.parametrize("make", ["", "?", "-", "—", "N/A", "Unknown", "inconnu", "неизвестно",
                                  "未知", "unmarked", "homemade"])  # fmt: skip
def test_an_unknown_make_yields_serial_only_items(make: str) -> None:
    ids = identify(make, "AB12345")
    assert ids.make_serial is None
    assert ids.items() == (b"v2|S|AB12345",)


def test_too_long_and_nul_are_refused_naming_the_field() -> None:
    with pytest.raises(InputError, match="longer than 200") as caught:
        identify("Glock", "9" * 10_000)
    assert caught.value.field == "serial"
    with pytest.raises(InputError, match="NUL"):
        identify("Gl\x00ck", "AB12345")


def test_a_node_extends_the_table_but_may_not_repoint_it(tmp_path: Path) -> None:
    extra = tmp_path / "aliases.csv"
    extra.write_text("canonical,alias\nGlock,Glockenwerk Süd\nNordic Arms,NA Works\n", "utf-8")
    table = MakerTable.with_extra(extra)
    assert identify("Glockenwerk Süd", "AB12345", table).make_serial == b"v2|MS|GLOCK|AB12345"
    assert table.resolve(maker_key("NA Works")) == "NORDIC"
    extra.write_text("canonical,alias\nBeretta,Glock\n", "utf-8")
    with pytest.raises(ConfigError, match="already a name of"):
        MakerTable.with_extra(extra)


def test_versions_parse_and_negotiate() -> None:
    assert parse_versions("v1+v2") == ("v1", "v2")
    assert parse_versions("v2, v1") == ("v1", "v2")
    with pytest.raises(ConfigError, match=r"registry\.identifiers"):
        parse_versions("v3")
    assert common_version(("v1", "v2"), "v1") == "v1"
    assert common_version(("v1", "v2"), "v1+v2") == "v2"
    assert common_version(("v2",), "v1") is None
