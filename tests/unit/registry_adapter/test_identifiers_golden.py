"""Golden digests: identifier derivation and import validation give the same bytes as before.

The digests below were computed on the code before the v2 derivation was optimised for
import speed; any change to an identifier, a warning, a refusal reason or a validated row
changes them. Inputs: a seeded generated registry (5,000 rows), both sides of the matching
evaluation set (``tests/data/matching/pairs.csv``), and a seeded corpus of hostile spellings
(labels, marks, Cyrillic, Greek, fullwidth and other-script digits, accents, placeholders in
many languages, wildcards, combining marks) as make and as serial, and short serials around
the entropy floor. A digest that changes
means peers would derive different bytes for the same firearm: a new identifier version,
never an edit.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

from fedlookup.errors import InputError
from registry_adapter.canonical_v2 import identify
from registry_adapter.generate import generate_registry
from registry_adapter.identifiers import record_identifiers
from registry_adapter.parse import read_file

ROOT = Path(__file__).resolve().parents[3]
PAIRS = ROOT / "tests/data/matching/pairs.csv"

#: sha256 over every (make, serial) outcome: v2 items and warnings or the refusal, then v1.
GOLDEN_IDENTIFIERS = "ad11a8b963a0a42e8972f750e1144ddedad90fa6dc5ee9d055f6faa95fd3ad29"
#: sha256 over ``read_file`` of the generated registry and of the hostile corpus as a CSV:
#: every Row or Reject, then the warnings summary.
GOLDEN_IMPORT = "9bbe676afc1488f54f55f2685ee87fc7ff3e82b0721ce050076b5281736a3251"
#: How many (make, serial) pairs the identifier digest covers (a guard on the inputs).
GOLDEN_CASES = 14_714

_FRAGMENTS = (
    # labels in several languages and scripts
    "No.", "no ", "N°", "Nº", "n.º", "N.º", "№", "S/N:", "s/n", "Serial No.", "SERIAL NUMBER",
    "Ser. #", "Matricola", "matricule", "Номер", "Заводской №", "Nr.", "NR ", "SN", "SN:",
    "Fab.-Nr.", "Waffennummer", "Výr. č.", "Výrobní číslo", "ΑΡ.", "Αριθμός σειράς", "编号",
    "序列号", "الرقم التسلسلي", "N de serie", "numéro de série", "Nr fabryczny", "Broj", "#",
    # marks, importers, years, country codes
    "CAI", "CENTURY ARMS", "GEORGIA VT", "IMPORTED", "DE 2019", "NL-22", "BE19", "1998",
    "US 2005", "BNP", "PROOF", "2031", "1850", "XX1999", "IAC", "Interarms",
    # letters and digits of other scripts, look-alikes, accents, fullwidth
    "АВЕКМНОРСТХ", "вр", "ЖШЩЧЮЯЙ", "бл", "ΑΒΓΔΘΛΞΠΣΦΨΩ", "αβγ", "ＡＢ１２３", "٣٤٥٦",
    "१२३", "éÉüÜßøŁłÆœ", "ı", "0O0I1l", "e\u0301", "\u200b", "\u00a0", "\u3000", "ǅ", "Ⅻ",
    "①②", "ﬁ", "無", "ア", "한", "ß",
    # placeholders and junk
    "none", "N/A", "unknown", "illegible", "defaced", "sans numéro", "без номера", "无编号",
    "unleserlich", "no number", "0000", "XXXX", "123456", "654321", "?", "*", "？", "ABCD",
    # separators and punctuation
    " ", "-", "/", ".", "_", ":", "#", "'", "&", "+", ",", "(", ")", "  ",
    # plain runs
    "00", "000123", "AB", "12", "A1B2C3", "9", "Z", "K98", "74-3", "P38",
)  # fmt: skip
_MAKES = (
    "Glock", "Glock Ges.m.b.H.", "GLOCK GmbH", "Sturm, Ruger & Co., Inc.", "Smith & Wesson",
    "S&W", "Heckler und Koch", "H&K", "Walther PPK/S", "Carl Walther GmbH", "Beretta",
    "Beretta Gardone V.T.", "Fabbrica d'Armi Pietro Beretta S.p.A.", "Colt's Mfg Co",
    "OOO Концерн Калашников", "Ижмаш", "Καλάσνικοφ", "Česká zbrojovka a.s.", "CZ",
    "Zbrojovka Brno, spol. s r.o.", "Łucznik", "FN Herstal", "Browning Arms Co", "Sako Oy",
    "Tula Arms Plant", "中国北方工业公司", "Norinco", "?", "-", "", "unknown", "inconnu",
    "неизвестно", "N/A", "Arms Co.", "Remington Arms", "Mauser Werke Oberndorf", "SIG Sauer",
    "J. P. Sauer & Sohn", "Steyr Mannlicher AG", "Springfield Armory Inc.", "Unknown Maker",
    "Taurus Armas S.A.", "Verney-Carron et Cie", "Zastava Oružje", "Baikal", "ИЖ", "Tokarev",
)  # fmt: skip


def _hostile(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        serial = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.5:
            serial += "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6))
        make = rng.choice(_MAKES)
        if rng.random() < 0.2:
            make = f"{make} {rng.choice(_FRAGMENTS)}"
        out.append((make, serial))
    return out


def _short(seed: int, count: int) -> list[tuple[str, str]]:
    """Short serials around the entropy floor: steps, repeats and runs of 3 to 7 characters."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        start, step = rng.randrange(48, 91), rng.choice((0, 1, 2, 3, -1, -2))
        chars = [chr(min(max(start + i * step, 48), 90)) for i in range(rng.randint(3, 7))]
        if rng.random() < 0.5:
            chars[rng.randrange(len(chars))] = rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
        out.append((rng.choice(_MAKES), rng.choice(("", "No. ", "0", "SN")) + "".join(chars)))
    return out


def _pairs() -> list[tuple[str, str]]:
    with PAIRS.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [(r["stored_make"], r["stored_serial"]) for r in rows] + [
        (r["typed_make"], r["typed_serial"]) for r in rows
    ]


def _generated(tmp: Path) -> Path:
    path = tmp / "golden.csv"
    generate_registry(path, country="DE", records=5000, seed=11)
    return path


def _outcomes(cases: list[tuple[str, str]]) -> Iterator[str]:
    for make, serial in cases:
        try:
            ids = identify(make, serial)
            v2 = repr((ids.items(), ids.make_serial, ids.warnings))
        except InputError as exc:
            v2 = repr(("refused", exc.field, exc.reason))
        try:
            v1 = repr(record_identifiers(make, serial).items())
        except InputError as exc:
            v1 = repr(("refused", exc.field, exc.reason))
        yield repr((make, serial, v2, v1))


def _digest(lines: Iterator[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogatepass"))
        h.update(b"\n")
    return h.hexdigest()


def _cases(tmp: Path) -> list[tuple[str, str]]:
    with _generated(tmp).open(encoding="utf-8", newline="") as fh:
        generated = [(r["make"], r["serial"]) for r in csv.DictReader(fh)]
    return generated + _pairs() + _hostile(seed=20261206, count=6000) + _short(9, 3000)


def test_identifier_bytes_warnings_and_refusals_are_unchanged(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    assert len(cases) == GOLDEN_CASES
    assert _digest(_outcomes(cases)) == GOLDEN_IDENTIFIERS


def test_import_validation_is_unchanged(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.csv"
    with hostile.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["record_id", "make", "model", "caliber", "serial", "category",
                      "recorded_at", "notes"])  # fmt: skip
        for n, (make, serial) in enumerate(_hostile(seed=7, count=3000) + _pairs()):
            out.writerow([f"H{n}", make, "", "", serial, "stolen", "2020-01-02", ""])
    lines: list[str] = []
    for path in (_generated(tmp_path), hostile):
        warnings: list[str] = []
        lines.extend(repr(item) for item in read_file(path, warnings=warnings))
        lines.extend(w.replace(str(path), path.name) for w in warnings)
    assert _digest(iter(lines)) == GOLDEN_IMPORT
