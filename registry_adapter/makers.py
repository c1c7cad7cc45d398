"""Manufacturers for synthetic registries: spellings, serial formats, models, home countries.

Serial formats follow the public descriptions of each maker's markings (letters and digits
in fixed positions, some with a dash or a fixed prefix). Pattern letters: ``L`` a capital
letter other than I, O and Q (makers avoid them for the same reason we fold them), ``D`` a
digit; any other character is literal. The first spelling is the clean one; the rest are
the variants real registries hold. Every spelling must fold to one canonical make (a unit
test checks it against the alias table).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAKERS", "Maker"]


@dataclass(frozen=True)
class Maker:
    """One manufacturer as the generator uses it."""

    spellings: tuple[str, ...]
    serial_formats: tuple[str, ...]
    models: tuple[tuple[str, str], ...]
    weight: float
    home: tuple[str, ...] = ()


MAKERS: tuple[Maker, ...] = (
    Maker(
        ("Glock", "GLOCK", "Glock GmbH", "Glock Ges.m.b.H.", "glock inc", "GLOCK INC."),
        ("LLLDDD", "LLLLDDD"),
        (
            ("17", "9x19mm"),
            ("19", "9x19mm"),
            ("26", "9x19mm"),
            ("22", ".40 S&W"),
            ("21", ".45 ACP"),
        ),
        14.0,
        ("AT",),
    ),
    Maker(
        ("Smith & Wesson", "S&W", "SMITH AND WESSON INC.", "Smith&Wesson", "S & W", "Smith Wesson"),
        ("LLLDDDD", "LLDDDDD", "DDDDDD"),
        (("M&P9", "9x19mm"), ("686", ".357 Magnum"), ("629", ".44 Magnum"), ("SW40VE", ".40 S&W")),
        9.0,
        ("US",),
    ),
    Maker(
        ("SIG Sauer", "Sig Sauer", "SIG-SAUER", "SIGARMS", "Sig", "SIG SAUER GmbH"),
        ("DDLDDDDDD", "LLLDDDDDD"),
        (("P226", "9x19mm"), ("P320", "9x19mm"), ("P365", "9x19mm"), ("SG 550", "5.56x45mm")),
        7.0,
        ("DE", "CH"),
    ),
    Maker(
        ("Beretta", "BERETTA", "Pietro Beretta", "P. Beretta", "Beretta S.p.A.", "Beretta USA"),
        ("BERDDDDDD", "PXDDDDD", "LDDDDDL"),
        (
            ("92FS", "9x19mm"),
            ("APX", "9x19mm"),
            ("686 Silver Pigeon", "12 gauge"),
            ("A400", "12 gauge"),
        ),
        9.0,
        ("IT",),
    ),
    Maker(
        ("Heckler & Koch", "H&K", "HK", "Heckler und Koch", "HECKLER & KOCH GMBH", "Heckler-Koch"),
        ("DD-DDDDDD", "DDD-DDDDDD"),
        (("USP", "9x19mm"), ("P30", "9x19mm"), ("MP5", "9x19mm"), ("G36", "5.56x45mm")),
        5.0,
        ("DE",),
    ),
    Maker(
        ("FN Herstal", "FN", "Fabrique Nationale", "FNH", "FN Herstal SA", "F.N. Herstal"),
        ("386DDDDDD", "LLDDDDDD"),
        (
            ("Five-seveN", "5.7x28mm"),
            ("P90", "5.7x28mm"),
            ("FNS-9", "9x19mm"),
            ("FAL", "7.62x51mm"),
        ),
        5.0,
        ("BE",),
    ),
    Maker(
        ("Ceska Zbrojovka", "CZ", "Česká zbrojovka", "CZ-USA", "CZUB", "C.Z."),
        ("LDDDDDD", "LLDDDDD"),
        (("75 B", "9x19mm"), ("P-10 C", "9x19mm"), ("Shadow 2", "9x19mm"), ("457", ".22 LR")),
        6.0,
        ("CZ", "SK"),
    ),
    Maker(
        ("Walther", "Carl Walther", "WALTHER", "Carl Walther GmbH", "Walther Arms"),
        ("LLLDDDD", "WLDDDDDD"),
        (("PPQ", "9x19mm"), ("P99", "9x19mm"), ("PPK", "7.65mm Browning"), ("PDP", "9x19mm")),
        6.0,
        ("DE",),
    ),
    Maker(
        ("Sturm Ruger", "Ruger", "RUGER", "Sturm, Ruger & Co.", "Sturm-Ruger"),
        ("DDD-DDDDD", "DDDD-DDDDD"),
        (
            ("10/22", ".22 LR"),
            ("GP100", ".357 Magnum"),
            ("LCP", ".380 ACP"),
            ("Mini-14", "5.56x45mm"),
        ),
        7.0,
        ("US",),
    ),
    Maker(
        ("Colt", "COLT", "Colt's Manufacturing", "Colts", "Colt's Mfg Co"),
        ("LEDDDDDD", "DDDDDDL", "FADDDDD"),
        (("1911 Government", ".45 ACP"), ("Python", ".357 Magnum"), ("AR-15", "5.56x45mm")),
        4.0,
        ("US",),
    ),
    Maker(
        ("Remington", "REMINGTON", "Remington Arms", "Remington Arms Co.", "Rem"),
        ("LDDDDDDDL", "RSDDDDDL"),
        (("870", "12 gauge"), ("700", ".308 Winchester"), ("1100", "12 gauge")),
        5.0,
        ("US",),
    ),
    Maker(
        ("Mossberg", "O.F. Mossberg & Sons", "MOSSBERG", "Mossberg & Sons", "OF Mossberg"),
        ("LDDDDDD", "LLDDDDDD"),
        (("500", "12 gauge"), ("590", "12 gauge"), ("MVP", ".308 Winchester")),
        4.0,
        ("US",),
    ),
    Maker(
        ("Browning", "BROWNING", "Browning Arms Co.", "Browning Arms Company"),
        ("DDDNXDDDDD", "DDDMVDDDDD"),
        (("Hi-Power", "9x19mm"), ("B525", "12 gauge"), ("X-Bolt", ".30-06 Springfield")),
        5.0,
        ("BE", "US"),
    ),
    Maker(
        ("Taurus", "TAURUS", "Forjas Taurus", "Taurus Armas S.A."),
        ("LLLDDDDD", "LLDDDDDD"),
        (("G2C", "9x19mm"), ("PT92", "9x19mm"), ("Judge", ".45 Colt")),
        4.0,
        ("BR",),
    ),
    Maker(
        ("Benelli", "BENELLI", "Benelli Armi", "Benelli Armi S.p.A."),
        ("MDDDDDD", "LDDDDDDL"),
        (("M4", "12 gauge"), ("Super Black Eagle", "12 gauge"), ("Montefeltro", "20 gauge")),
        3.0,
        ("IT",),
    ),
    Maker(
        ("Steyr", "STEYR", "Steyr Mannlicher", "Steyr Arms", "Steyr-Daimler-Puch"),
        ("DDDDDD", "LLDDDDD"),
        (("AUG", "5.56x45mm"), ("Scout", ".308 Winchester"), ("M9-A1", "9x19mm")),
        3.0,
        ("AT",),
    ),
    Maker(
        ("Kalashnikov", "Izhmash", "IZHMASH", "Kalashnikov Concern"),
        ("DDDDDDDD", "LLDDDD"),
        (("AK-74", "5.45x39mm"), ("Saiga-12", "12 gauge"), ("AKM", "7.62x39mm")),
        3.0,
        ("RU",),
    ),
    Maker(
        ("Zastava", "ZASTAVA", "Zastava Arms", "Crvena Zastava", "Zastava Oruzje"),
        ("DDDDDD", "LDDDDDD"),
        (("M70", "7.62x39mm"), ("CZ 99", "9x19mm"), ("M48", "8x57mm")),
        3.0,
        ("RS", "BA", "HR"),
    ),
    Maker(
        ("Sako", "SAKO", "Sako Ltd", "Oy Sako Ab"),
        ("DDDDDD", "LDDDDDD"),
        (("85", ".308 Winchester"), ("TRG 42", ".338 Lapua Magnum"), ("Quad", ".22 LR")),
        2.5,
        ("FI",),
    ),
    Maker(
        ("Manurhin", "MANURHIN", "Manufacture de Machines du Haut-Rhin"),
        ("DDDDDD", "LDDDDD"),
        (("MR 73", ".357 Magnum"), ("PP", "7.65mm Browning")),
        1.5,
        ("FR",),
    ),
    Maker(
        ("Verney-Carron", "Verney Carron", "VERNEY-CARRON SA"),
        ("DDDDDD", "VCDDDDD"),
        (("Impact", ".30-06 Springfield"), ("Sagittaire", "12 gauge")),
        1.5,
        ("FR",),
    ),
    Maker(
        ("Anschutz", "Anschütz", "J.G. Anschütz", "ANSCHUTZ GmbH"),
        ("DDDDDDD",),
        (("1416", ".22 LR"), ("1907", ".22 LR"), ("Fortner", ".22 LR")),
        1.5,
        ("DE",),
    ),
)
