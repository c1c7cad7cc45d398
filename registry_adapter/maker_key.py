"""Manufacturer name folding for identifier rules v2 (:func:`maker_key`).

A maker is typed in many ways: with a legal form in any language ("Glock Ges.m.b.H.",
"OOO Kalashnikov", "Zbrojovka s.r.o."), with an industry word ("Walther Arms", "Benelli
Armi"), a place ("Beretta Gardone V.T."), in another script ("Ижмаш", "Καλάσνικοφ"). The key
drops what does not name the maker, so the alias table (``data/makers_v2.csv``) only has to
hold genuinely different names (abbreviations, historical names, other languages).

Rules, in order: NFKC; Cyrillic and Greek letters transliterated by sound (BGN/PCGN style,
ASCII); accents stripped; upper case; ``&`` and ``+`` read as a word break; apostrophes and
dots dropped (``S.p.A.`` is one word ``SPA``); any other punctuation a word break; then
connective words, legal forms, industry words and place names dropped (see the word lists
below) as long as one word remains; the remaining words joined without spaces.
"""

from __future__ import annotations

import functools
import unicodedata

__all__ = [
    "BASE_LETTERS",
    "CONNECTIVES",
    "INDUSTRY_WORDS",
    "LEGAL_FORMS",
    "PLACE_WORDS",
    "maker_key",
    "maker_words",
    "translit",
]

#: Words that join names: "Heckler und Koch", "Smith & Wesson", "Verney et Carron".
CONNECTIVES = frozenset(
    {
        "AND",
        "UND",
        "U",
        "ET",
        "EN",
        "OG",
        "OCH",
        "Y",
        "E",
        "ES",
        "JA",
        "IR",
        "UN",
        "KAI",
        "VE",
        "DE",
        "DI",
        "DU",
        "DES",
        "DEL",
        "DELLA",
        "DA",
    }
)

#: Legal forms and family words across the EU languages, English, Russian, Turkish, Chinese
#: and others (sources in ``data/makers_v2.csv``); dropped wherever they stand.
LEGAL_FORMS = frozenset(
    {
        # English and common law
        "INC", "INCORPORATED", "LLC", "LLP", "LP", "LTD", "LIMITED", "CO", "CORP",
        "CORPORATION", "COMPANY", "PLC", "PTY", "PTE", "BHD", "SDN", "GROUP", "HOLDING",
        "HOLDINGS", "THE", "SONS", "SON", "BROS", "BROTHERS",
        # German, Austrian, Swiss, Dutch, Nordic
        "GMBH", "GESMBH", "GES", "MBH", "AG", "KG", "OHG", "KGAA", "EV", "GEBRUDER",
        "SOHN", "SOHNE", "NV", "BV", "VOF", "AS", "ASA", "APS", "AB", "OY", "OYJ", "HF",
        # Romance languages
        "SPA", "SRL", "SRLS", "SAS", "SA", "SC", "SARL", "SNC", "SCA", "SCS", "EURL", "CIE", "CIA",
        "FILS", "FIGLI", "FRATELLI", "FRERES", "HIJOS", "HERMANOS", "LDA", "LTDA", "SL",
        "SLU", "SGPS", "EIRL",
        # Central and eastern Europe
        "SP", "Z", "ZOO", "OO", "SRO", "SPOL", "RO", "CV", "SAB", "RL", "DOO", "DD", "KFT",
        "ZRT", "NYRT", "RT", "BT", "SIA",
        "UAB", "OU", "EOOD", "OOD", "AD", "EAD", "AE", "EPE", "IKE", "OE", "DOOEL",
        # Russian and CIS
        "OOO", "ZAO", "OAO", "PAO", "AO", "TOO", "JSC", "OJSC", "CJSC", "FGUP", "GUP", "NPO",
        # Turkish, Chinese, Japanese, Korean romanised forms
        "STI", "TIC", "SAN", "VE", "KK", "YK",
    }
)  # fmt: skip

#: Words that say "arms maker" rather than which one; dropped when another word remains.
INDUSTRY_WORDS = frozenset(
    {
        "ARMS", "ARM", "ARMORY", "ARMOURY", "FIREARMS", "FIREARM", "GUNS", "GUN",
        "GUNWORKS", "GUNMAKERS", "RIFLES", "RIFLE", "MFG", "MFRS", "MANUFACTURING",
        "MANUFACTURERS", "MAKERS", "INDUSTRIES", "INDUSTRY", "INDUSTRIE", "INDUSTRIA",
        "INDUSTRIAS", "WAFFEN", "WAFFENFABRIK", "WAFFENWERK", "WAFFENWERKE", "JAGDWAFFEN",
        "ARMI", "DARMI", "ARMAS", "ARMES", "DARMES", "ARMEMENT", "ARMAMENT", "ARMAMENTS",
        "FABBRICA", "FABRICA", "WORKS", "WERK", "WERKE", "INTERNATIONAL", "INTL", "USA",
        "US", "AMERICA", "IMPORTS",
        "ORUZJE", "ORUZHIE", "SILAH", "SILAHLARI", "SILAHCILIK", "SANAYI", "SANAYII",
        "TICARET", "FABRYKA", "BRONI", "FABRIKA", "ZAVOD", "KONTSERN", "CONCERN", "PLANT",
        "FACTORY",
    }
)  # fmt: skip

#: Places stamped beside a maker's name that never tell two makers apart (countries and the
#: home towns of single makers). Towns that name a distinct factory (Brno, Izhevsk, Tula,
#: Saint-Etienne) are deliberately absent.
PLACE_WORDS = frozenset(
    {
        "MADE", "IN", "AUSTRIA", "ITALY", "ITALIA", "GERMANY", "DEUTSCHLAND", "WGERMANY",
        "BELGIUM", "BELGIQUE", "BELGIE", "FRANCE", "SPAIN", "ESPANA", "BRAZIL", "BRASIL",
        "CZECH", "REPUBLIC", "CZECHIA", "RUSSIA", "TURKEY", "TURKIYE", "ISRAEL", "CROATIA",
        "HRVATSKA", "SERBIA", "SRBIJA", "SWITZERLAND", "SCHWEIZ", "SUISSE", "FINLAND",
        "SUOMI", "SWEDEN", "NORWAY", "UK", "ENGLAND", "GARDONE", "VT", "VALTROMPIA",
        "TROMPIA", "VAL", "HERSTAL", "LIEGE", "OBERNDORF", "NECKAR", "AM", "ECKERNFORDE",
        "ULM", "FERLACH", "DEUTSCHWAGRAM", "WAGRAM", "DEUTSCH", "HARTFORD", "ILION",
        "SOUTHPORT", "NEWPORT", "KRAGUJEVAC", "UHERSKY", "BROD", "EIBAR", "URBINO",
        "ISSAQUAH", "SMYRNA", "EXETER", "NEWINGTON", "BRESCIA", "BS", "SUHL", "ZELLA",
        "MEHLIS", "GUERNICA", "PLACENCIA", "PRESCOTT", "WORCESTER", "NH", "CT", "MA", "AZ",
        "TX", "GA", "NY", "NC", "MT", "WA",
    }
)  # fmt: skip

_DROPPABLE = CONNECTIVES | LEGAL_FORMS | INDUSTRY_WORDS | PLACE_WORDS

# Transliteration by sound (BGN/PCGN, simplified to ASCII), applied to makes and to the
# sound variants of serials. Upper case only: text is upper-cased first.
_TRANSLIT = {
    # Russian, Ukrainian, Belarusian, Bulgarian, Serbian, Macedonian Cyrillic
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Ґ": "G", "Д": "D", "Ђ": "DJ", "Ѓ": "GJ",
    "Е": "E", "Ё": "E", "Є": "YE", "Ж": "ZH", "З": "Z", "Ѕ": "DZ", "И": "I", "І": "I",
    "Ї": "YI", "Й": "Y", "Ј": "J", "К": "K", "Л": "L", "Љ": "LJ", "М": "M", "Н": "N",
    "Њ": "NJ", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T", "Ћ": "C", "Ќ": "KJ",
    "У": "U", "Ў": "U", "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH", "Џ": "DZ", "Ш": "SH",
    "Щ": "SHCH", "Ъ": "", "Ы": "Y", "Ь": "", "Э": "E", "Ю": "YU", "Я": "YA",
    # Greek (ELOT 743 by sound)
    "Α": "A", "Β": "V", "Γ": "G", "Δ": "D", "Ε": "E", "Ζ": "Z", "Η": "I", "Θ": "TH",
    "Ι": "I", "Κ": "K", "Λ": "L", "Μ": "M", "Ν": "N", "Ξ": "X", "Ο": "O", "Π": "P",
    "Ρ": "R", "Σ": "S", "Τ": "T", "Υ": "Y", "Φ": "F", "Χ": "CH", "Ψ": "PS", "Ω": "O",
}  # fmt: skip
_TRANSLIT_TABLE = str.maketrans(_TRANSLIT)


#: Chinese legal forms written without spaces ("中国北方工业公司"), longest first.
_CJK_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "集团", "工厂", "厂")


def _strip_cjk_forms(word: str) -> str:
    """A Chinese name without its trailing legal form (the whole word when nothing is left)."""
    for form in _CJK_FORMS:
        if word.endswith(form) and len(word) > len(form):
            return _strip_cjk_forms(word[: -len(form)])
    return word


def translit(text: str) -> str:
    """Transliterate Cyrillic and Greek capitals by sound; other characters unchanged.

    Args:
        text: upper-case text (accents already stripped or not: only base letters map).

    Example:
        >>> translit("ИЖМАШ")
        'IZHMASH'
    """
    return text.translate(_TRANSLIT_TABLE)


#: Letters NFKD does not decompose: "Łucznik", "Søren", "Đuro", "Straße", "ulæselig".
BASE_LETTERS = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "SS", "ẞ": "SS",
     "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "TH", "þ": "th", "Ħ": "H", "ħ": "h",
     "ı": "i", "Ŀ": "L", "ŀ": "l", "Ð": "D", "ð": "d"}
)  # fmt: skip


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(BASE_LETTERS))
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def maker_key(name: str) -> str:
    """Fold a manufacturer spelling to its v2 key (before the alias table).

    Args:
        name: the manufacturer as entered.

    Returns:
        Upper-case letters and digits; empty when ``name`` holds none.

    Example:
        >>> maker_key("Sturm, Ruger & Co., Inc.")
        'STURMRUGER'
        >>> maker_key("OOO Концерн Калашников")
        'KALASHNIKOV'
    """
    return "".join(maker_words(name))


@functools.lru_cache(maxsize=16384)
def maker_words(name: str) -> tuple[str, ...]:
    """The words of a maker's name that :func:`maker_key` joins (same folding).

    Example:
        >>> maker_words("Walther PPK/S")
        ('WALTHER', 'PPK', 'S')
    """
    text = unicodedata.normalize("NFKC", name).upper()
    text = _strip_accents(translit(_strip_accents(text)))
    if not any(ch.isalnum() for ch in text):
        return ()
    text = text.replace("&", " ").replace("+", " ")
    # "S.p.A.", "Ges.m.b.H." and "Colt's" are one word each, not letters to spell out.
    for mark in ("'", "\u2019", "\u02bc", "`", "."):
        text = text.replace(mark, "")
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    # Legal forms of several words with a one-letter word inside ("spol. s r.o.").
    words = " ".join(words).replace(" SPOL S RO", "").replace(" S DE RL", "").split()
    words = [_strip_cjk_forms(w) for w in words]
    kept = [w for w in words if w not in _DROPPABLE]
    if not kept:
        # Only droppable words ("Arms Co."): keep all but legal forms, else everything.
        kept = [w for w in words if w not in LEGAL_FORMS] or words
    return tuple(kept)
