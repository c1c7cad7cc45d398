"""Build the matching evaluation set ``pairs.csv`` (run once; the CSV is committed).

Each pair is how registry A stores a firearm and how investigator B types it (or, for the
``near_miss`` and ``placeholder`` categories, a *different* firearm). ``expected`` is what a
check must return: ``hit``, ``possible`` (serial-only by design) or ``none``.

The kinds of difference come from public tracing practice (numbers refer to SOURCES):
separators, case and look-alike characters [1][2]; makers typed with legal forms, importer
names, abbreviations, historical and foreign names [1][3][5]; labels typed into the serial
field and leading zeros [1][2]; import marks beside the serial [4][1]; serials read from
Cyrillic markings by sound [5][6]; unmarked and defaced firearms described in words [2][7].

    python tests/data/matching/build_pairs.py > tests/data/matching/pairs.csv
"""

# ruff: noqa: E501  (tables of spellings read best one maker per line)
from __future__ import annotations

import csv
import random
import sys

SOURCES = {
    1: "ATF National Tracing Center, Firearms Tracing Guide (2011): make, importer, serial "
    "fields; https://www.atf.gov/firearms/docs/guide/atf-firearms-tracing-guide/download",
    2: "INTERPOL iARMS / Firearms Reference Table user guidance (serial entry, obliterated "
    "serials); https://www.interpol.int/en/Crimes/Firearms-trafficking",
    3: "INTERPOL Firearms Reference Table: manufacturer names and former names",
    4: "Directive (EU) 2021/555 art. 4 and Commission Implementing Directive (EU) 2019/68: "
    "import marking (country and year of import)",
    5: "Conflict Armament Research, iTrace reports: Cyrillic and Chinese factory markings",
    6: "Small Arms Survey, Weapons Identification handbook (2018): marking conventions",
    7: "UNODC, Comprehensive Study on Firearms and Arms Trafficking (2015): seized firearms "
    "without markings, obliterated serials",
}

ALPHA = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "0123456789"

# (canonical spelling, legal-form spellings, other names) per maker. Other names are
# abbreviations, historical, foreign-language or other-script names.
MAKERS = [
    ("Glock", ["Glock Ges.m.b.H.", "GLOCK GmbH", "Glock Inc.", "glock, inc"],
     ["Глок", "格洛克", "Gaston Glock"]),
    ("Smith & Wesson", ["Smith & Wesson Inc.", "SMITH AND WESSON CORP", "Smith&Wesson Brands, Inc."],
     ["S&W", "S & W", "Смит и Вессон"]),
    ("Beretta", ["Beretta S.p.A.", "Pietro Beretta S.p.A.", "BERETTA SPA"],
     ["Fabbrica d'Armi Pietro Beretta", "Беретта", "P. Beretta", "Beretta Gardone V.T."]),
    ("Heckler & Koch", ["Heckler & Koch GmbH", "HECKLER UND KOCH GMBH", "Heckler & Koch Inc."],
     ["H&K", "HK", "Хеклер и Кох"]),
    ("FN Herstal", ["FN Herstal SA", "FN HERSTAL S.A.", "FN Herstal S.A. Belgium"],
     ["Fabrique Nationale", "FN", "Fabrique Nationale d'Armes de Guerre"]),
    ("Ceska Zbrojovka", ["Česká zbrojovka a.s.", "CESKA ZBROJOVKA A.S.", "Ceska Zbrojovka a. s."],
     ["CZ", "CZ-USA", "Česká zbrojovka Uherský Brod", "CZUB"]),
    ("Walther", ["Carl Walther GmbH", "Walther GmbH", "Walther Arms Inc"],
     ["Carl Walther", "Вальтер"]),
    ("Sturm Ruger", ["Sturm, Ruger & Co., Inc.", "STURM RUGER & CO INC", "Sturm Ruger & Company"],
     ["Ruger", "RUGER"]),
    ("Colt", ["Colt's Manufacturing Company LLC", "Colt's Mfg Co", "COLT'S MFG. CO. INC."],
     ["Colt's Patent Fire Arms", "Кольт"]),
    ("SIG Sauer", ["SIG Sauer GmbH", "Sig Sauer Inc.", "SIG SAUER GMBH & CO. KG"],
     ["SIGARMS", "SIG", "Schweizerische Industrie Gesellschaft"]),
    ("Kalashnikov", ["JSC Kalashnikov Concern", "AO Kalashnikov", "OOO Kalashnikov"],
     ["Izhmash", "Ижмаш", "Концерн Калашников", "Izhevsk Machine-Building Plant"]),
    ("Zastava", ["Zastava oružje a.d.", "Zastava Arms", "ZASTAVA ORUZJE AD"],
     ["Crvena Zastava", "Застава", "Zavodi Crvena Zastava"]),
    ("Norinco", ["Norinco Co. Ltd.", "NORINCO CORP", "China North Industries Corp."],
     ["China North Industries", "中国北方工业公司", "Норинко"]),
    ("Steyr", ["Steyr Arms GmbH", "Steyr Mannlicher GmbH", "STEYR ARMS INC"],
     ["Steyr-Daimler-Puch", "Steyr Mannlicher", "Штайр"]),
    ("Taurus", ["Taurus Armas S.A.", "Forjas Taurus S.A.", "Taurus International Mfg."],
     ["Forjas Taurus", "Таурус"]),
    ("Remington", ["Remington Arms Company, LLC", "Remington Arms Co.", "REMINGTON ARMS CO INC"],
     ["Rem", "E. Remington"]),
    ("Mauser", ["Mauser Jagdwaffen GmbH", "Mauser-Werke AG", "MAUSER WERKE"],
     ["Waffenfabrik Mauser", "Маузер"]),
    ("Radom", ["Fabryka Broni Łucznik-Radom sp. z o.o.", "FB Radom sp. z o.o.", "Łucznik sp. z o.o."],
     ["Lucznik", "Fabryka Broni Radom"]),
    ("Tula Arms Plant", ["OAO Tula Arms Plant", "Tula Arms Plant JSC", "AO TOZ"],
     ["TOZ", "Тульский оружейный завод"]),
    ("Izhevsk Mechanical Plant", ["OAO Izhevsk Mechanical Plant", "Izhevsky Mekhanichesky Zavod OAO",
     "FGUP Izhevsk Mechanical Plant"], ["Baikal", "Ижмех", "IMZ"]),
    ("Sako", ["Sako Ltd", "Sako Oy", "Oy Sako Ab"], ["Сако"]),
    ("Benelli", ["Benelli Armi S.p.A.", "BENELLI ARMI SPA", "Benelli USA Corp"], ["Бенелли"]),
    ("Canik", ["Samsun Yurt Savunma Sanayi ve Ticaret A.Ş.", "Canik Arms", "CANIK"],
     ["Samsun Yurt Savunma"]),
    ("Fegyver- es Gepgyar", ["FÉG Zrt.", "FEG Kft.", "Fegyver- és Gépgyár Rt."], ["FEG", "FÉG"]),
    ("Cugir", ["S.C. Uzina Mecanica Cugir S.A.", "UM Cugir SA", "Cugir S.A."],
     ["Uzina Mecanica Cugir", "ROMARM"]),
]  # fmt: skip

# Makers deliberately absent from the table: both sides spell them the same way, or with a
# legal form only.
UNLISTED = [("Acme Waffenbau", "ACME WAFFENBAU GMBH"), ("Nordic Arms", "Nordic Arms AB"),
            ("Lakeside Rifles", "Lakeside Rifles LLC"), ("Tatra Zbrane", "Tatra Zbrane s.r.o."),
            ("Meridian Gunworks", "MERIDIAN GUNWORKS INC"), ("Balkan Oruzje", "Balkan Oruzje d.o.o."),
            ("Aurora Armi", "Aurora Armi S.r.l."), ("Baltic Hunter", "Baltic Hunter SIA"),
            ("Iberia Escopetas", "Iberia Escopetas S.L."), ("Danube Precision", "Danube Precision Kft.")]  # fmt: skip

CYR_SHAPE = {"A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "P": "Р", "C": "С",
             "T": "Т", "X": "Х", "Y": "У"}  # fmt: skip
GREEK_SHAPE = {"A": "Α", "B": "Β", "E": "Ε", "Z": "Ζ", "H": "Η", "K": "Κ", "M": "Μ", "N": "Ν",
               "P": "Ρ", "T": "Τ", "X": "Χ", "Y": "Υ"}  # fmt: skip
# Cyrillic letters on Soviet-pattern rifles and their Latin reading by sound.
SOUND = [("Б", "B"), ("Г", "G"), ("Д", "D"), ("Ж", "ZH"), ("И", "I"), ("Л", "L"), ("П", "P"),
         ("Ф", "F"), ("Ц", "TS"), ("Ч", "CH"), ("Ш", "SH"), ("Я", "YA"), ("Ю", "YU"),
         ("В", "V"), ("Р", "R"), ("Н", "N"), ("С", "S"), ("У", "U")]  # fmt: skip

PLACEHOLDERS = [
    "no serial", "NO SERIAL NUMBER", "none", "N/A", "unknown", "illegible", "defaced",
    "serial filed off", "obliterated", "not marked", "0000000", "XXXXXX", "???", "-",
    "ohne Nummer", "unleserlich", "abgeschliffen", "sans numéro", "illisible", "effacé",
    "sin número", "ilegible", "limado", "senza matricola", "illeggibile", "sem número",
    "zonder nummer", "onleesbaar", "uden nummer", "utan nummer", "ei numeroa", "bez numeru",
    "nieczytelny", "bez čísla", "nečitelné", "brez številke", "bez broja", "szám nélkül",
    "fără număr", "без номер", "χωρίς αριθμό", "gan uimhir", "mingħajr numru", "numbrita",
    "nav numura", "be numerio", "без номера", "номер спилен", "нечитаемый", "بدون رقم",
    "غير مقروء", "无编号", "编号磨损", "unknown serial", "123456", "1234",
]  # fmt: skip


def serial(rng: random.Random, fmt: str) -> str:
    """A serial from a pattern: L letter, D digit, anything else literal."""
    return "".join(
        rng.choice(ALPHA) if c == "L" else rng.choice(DIGITS) if c == "D" else c for c in fmt
    )


FORMATS = ["LLLDDDD", "LLDDDDDD", "DDLDDDDDD", "LDDDDDD", "DDDDDDD", "LLLDDDDD", "DDD-DDDDD",
           "LLDDDDD", "DDDDDDDD", "LDDDDDDL"]  # fmt: skip


def main() -> None:
    rng = random.Random(20261206)
    rows: list[list[str]] = []
    used: set[str] = set()

    def fresh(fmt: str | None = None) -> str:
        while True:
            s = serial(rng, fmt or rng.choice(FORMATS))
            key = s.replace("-", "").replace("O", "0").replace("I", "1")
            if key not in used and len(set(key)) > 2:
                used.add(key)
                return s

    def add(cat: str, sm: str, ss: str, tm: str, ts: str, exp: str, src: str) -> None:
        rows.append([f"P{len(rows) + 1:03d}", cat, sm, ss, tm, ts, exp, src])

    def maker() -> tuple[str, list[str], list[str]]:
        return rng.choice(MAKERS)

    # 1. separators, spacing, case [1][2]
    for _ in range(25):
        name, _, _ = maker()
        s = fresh()
        t = rng.choice(
            [
                s.lower(),
                " ".join(s),
                s[:3] + "-" + s[3:],
                s[:2] + " " + s[2:],
                s[:4] + "/" + s[4:],
                f" {s} ",
                s[:3] + "." + s[3:],
                s.replace("-", ""),
            ]
        )
        add(
            "separators_case",
            name,
            s,
            name.upper() if rng.random() < 0.5 else name.lower(),
            t,
            "hit",
            "1;2",
        )
    # 2. look-alike letters, full-width and other-script digits [2][5]
    for i in range(20):
        name, _, _ = maker()
        s = fresh("LLDDDDDD" if i % 2 else "LLLDDDD")
        if i % 4 == 0:
            t = "".join(CYR_SHAPE.get(c, c) for c in s)
        elif i % 4 == 1:
            t = "".join(GREEK_SHAPE.get(c, c) for c in s)
        elif i % 4 == 2:
            t = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in s)
        else:
            t = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in s)
        add("lookalike_script", name, s, name, t, "hit", "2;5")
    # 3. O/0 and I/1 confusions [2]
    for i in range(15):
        name, _, _ = maker()
        s = fresh("LLDDDDDD")
        s = s[:2] + "0" + s[3:] if i % 2 else s[:3] + "1" + s[4:]
        used.add(s)
        t = s.replace("0", "O", 1) if i % 2 else s.replace("1", "I", 1)
        add("confusable_0_1", name, s, name, t, "hit", "2")
    # 4. maker legal forms across languages [1][3]
    for i in range(35):
        name, forms, _ = MAKERS[i % len(MAKERS)]
        a, b = rng.sample([name, *forms], 2)
        add("maker_legal_form", a, fresh(), b, "", "hit", "1;3")
    # 5. maker other names: abbreviations, historical, foreign and other scripts [3][5]
    for i in range(50):
        name, forms, others = MAKERS[i % len(MAKERS)]
        a = rng.choice([name, *forms])
        b = others[(i // len(MAKERS)) % len(others)]
        cat = "maker_other_script" if any(ord(c) > 0x24F for c in b) else "maker_other_name"
        if rng.random() < 0.5:
            a, b = b, a
        add(cat, a, fresh(), b, "", "hit", "3;5")
    # 6. makers not in the table, same name at both ends, legal form on one [1]
    for i in range(20):
        a, b = UNLISTED[i % len(UNLISTED)]
        add("maker_unlisted", a, fresh(), b if i % 2 else a.upper(), "", "hit", "1")
    # 7. labels typed into the serial field [1][2]
    labels = ["No. ", "No.", "№ ", "№", "N° ", "N°", "S/N ", "S/N: ", "Nr. ", "SN: ", "Serial No. ",
              "Ser. No. ", "#", "Nº ", "Serial: ", "Numéro ", "Matricola ", "Номер ", "No ",
              "Seriennummer ", "N. ", "Nr.", "s/n ", "SERIAL # ", "Fabriknummer "]  # fmt: skip
    for label in labels:
        name, _, _ = maker()
        s = fresh()
        if rng.random() < 0.5:
            add("label_prefix", name, s, name, label + s, "hit", "1;2")
        else:
            add("label_prefix", name, label + s, name, s, "hit", "1;2")
    # 8. leading zeros kept or dropped [1]
    for i in range(15):
        name, _, _ = maker()
        s = fresh("DDDDDD")
        z = "0" * (1 + i % 3) + s
        a, b = (z, s) if i % 2 else (s, z)
        add("leading_zeros", name, a, name, b, "possible", "1")
    # 9. import and proof marks copied next to the serial [4][1]
    for i in range(16):
        name, _, _ = maker()
        s = fresh(rng.choice(["LLDDDDDD", "LDDDDDD", "LLLDDDDD"]))
        year = str(rng.randint(1995, 2025))
        cc = rng.choice(["DE", "NL", "FR", "BE", "AT", "PL", "IT", "ES"])
        mark = [f"{cc} {year}", f"{cc}{year[2:]}", f"{cc}-{year}", year, "CAI", f"{cc} {year[2:]}",
                "BUG", "PSF"][i % 8]  # fmt: skip
        t = f"{s} {mark}" if i % 2 else f"{mark} {s}"
        add("import_proof_mark", name, s, name, t, "possible", "4;1")
    # 10. Cyrillic markings read by sound [5][6]
    for i in range(15):
        name = rng.choice(["Kalashnikov", "Tula Arms Plant", "Izhevsk Mechanical Plant"])
        cyr, lat = SOUND[i % len(SOUND)]
        cyr2, lat2 = SOUND[(i * 7 + 3) % len(SOUND)]
        digits = fresh("DDDDDD")
        a, b = f"{cyr}{cyr2} {digits}", f"{lat}{lat2} {digits}"
        if i % 2:
            a, b = b, a
        add("sound_transliteration", name, a, name, b, "possible", "5;6")
    # 11. unknown makes on one or both sides [1][7]
    unknown = [
        "?",
        "-",
        "",
        "Unknown",
        "unbekannt",
        "inconnu",
        "desconocido",
        "N/A",
        "—",
        "неизвестно",
        "sconosciuto",
        "onbekend",
        "nieznany",
        "未知",
        "Unknown make",
    ]
    for i, u in enumerate(unknown):
        name, _, _ = maker()
        s = fresh()
        if i % 3 == 0:
            add("unknown_make", u, s, u, s, "possible", "1;7")
        elif i % 3 == 1:
            add("unknown_make", name, s, u, s, "possible", "1;7")
        else:
            add("unknown_make", u, s, name, s, "possible", "1;7")
    # 12. same serial, two different makers: serial-only by design [1]
    for _ in range(15):
        (m1, _, _), (m2, _, _) = rng.sample(MAKERS, 2)
        add("different_maker", m1, (s := fresh()), m2, s, "possible", "1")
    # 13. near misses: a different firearm [2]
    for i in range(35):
        name, _, _ = maker()
        s = fresh("LLDDDDDD")
        k = 2 + i % 5
        kind = i % 5
        if kind == 0:  # one digit differs
            t = s[:k] + str((int(s[k]) + 1) % 10) + s[k + 1 :]
        elif kind == 1:  # transposition
            j = k if s[k] != s[k + 1] else k - 1
            t = s[:j] + s[j + 1] + s[j] + s[j + 2 :]
        elif kind == 2:  # S/5, B/8, Z/2, G/6 are distinct in stamps
            t = s[:2] + s[2:].replace(
                s[k], {"5": "S", "8": "B", "2": "Z", "6": "G"}.get(s[k], "7"), 1
            )
        elif kind == 3:  # one digit more
            t = s + str(rng.randint(1, 9))
        else:  # letters prefix differs
            t = ("Q" if s[0] != "Q" else "R") + s[1:]
        if t.replace("0", "").replace("O", "") == s.replace("0", "").replace("O", ""):
            t = s[:-1] + str((int(s[-1]) + 3) % 10)
        used.add(t)
        add("near_miss", name, s, name, t, "none", "2")
    # 14. placeholders at both ends: two different unmarked firearms [7][2]
    for i, p in enumerate(PLACEHOLDERS):
        name, _, _ = maker()
        q = PLACEHOLDERS[(i * 5 + 1) % len(PLACEHOLDERS)] if i % 3 else p
        add("placeholder", name, p, name, q, "none", "7;2")
    # Same-firearm pairs for the maker categories carry the same serial.
    for row in rows:
        if row[5] == "":
            row[5] = row[3]
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["pair", "category", "stored_make", "stored_serial", "typed_make",
                  "typed_serial", "expected", "sources"])  # fmt: skip
    out.writerows(rows)


if __name__ == "__main__":
    main()
