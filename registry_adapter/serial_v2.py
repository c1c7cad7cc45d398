"""Serial rules of identifier version ``v2``: labels, canonical form, and variants.

:func:`canonical_serial_v2` is the v1 rule (NFKC, upper case, Cyrillic/Greek look-alikes to
Latin, ``O`` to ``0`` and ``I`` to ``1``, separators dropped) after a **label prefix** typed into
the field is removed (``No.``, ``№``, ``N°``, ``S/N:``, ``Nr.``, ``Serial No.``, ``Matricola``,
``Номер``...). :func:`serial_variants` lists the other canonical forms a clerk plausibly
typed for the same marking; both ends derive them, the index holds them and the asker sends
them as extra *serial-only* items, so they can give a ``possible``, never a ``hit``:

* leading zeros dropped (``0012345`` and ``12345``);
* a bare ``SN``/``NO``/``NR`` glued to the digits dropped (``SN12345``);
* import and proof marks stamped next to the serial dropped: a country code with a year
  (EU import marking, Directive (EU) 2021/555 art. 4), a year alone, or a known mark token;
* Cyrillic and Greek letters transliterated by sound rather than by shape (``ВР`` as ``VR``).
"""

from __future__ import annotations

import re
import unicodedata

from registry_adapter.maker_key import translit

__all__ = ["MAX_VARIANTS", "VARIABLE_PREFIXES", "canonical_serial_v2", "fold_serial",
           "serial_variants", "strip_label"]  # fmt: skip

#: At most this many variants per firearm: each costs one item per peer per check and one
#: index entry per record.
MAX_VARIANTS = 4

#: A plain ASCII token (no label, mark or other script) has variants only when its canonical
#: form starts with one of these: a leading zero or a glued label.
VARIABLE_PREFIXES = ("0", "SN", "N0", "NR")

_HOMOGLYPHS = {
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip
_CONFUSABLES = {"O": "0", "I": "1"}
_CONFUSE = str.maketrans(_CONFUSABLES)
# ASCII serials are folded on bytes (one C-level pass): all but letters and digits deleted,
# then O and I mapped to 0 and 1.
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())
_ASCII_CONFUSE = bytes.maketrans(
    "".join(_CONFUSABLES).encode("ascii"), "".join(_CONFUSABLES.values()).encode("ascii")
)
_FOLD = str.maketrans({**{k: _CONFUSABLES.get(v, v) for k, v in _HOMOGLYPHS.items()},
                       **_CONFUSABLES})  # fmt: skip

# Labels typed before the serial, unambiguous because of their punctuation or their length.
# Matched on NFKC upper-case text with accents stripped.
_STRONG_LABEL = re.compile(
    r"""^\W*(?:
        S\s*/\s*N\b | SER(?:IAL)?\s*[.:]?\s*(?:N[O0R]|NUM(?:BER)?|\#)\b\.? | SERIAL(?:\s*NUMBER)?
      | SERIEN?(?:NUMMER|NR)?\b\.? | SERIE\s+N[O0R]?\b\.? | FABRIKNUMMER | WAFFENNUMMER
      | NUM(?:ERO)?\s+(?:DE|DI)\s+SERIE | N\.?\s*(?:DE|DI)\s+SERIE | NUMERO | NUMMER | MATRICOL[AE]
      | MATRICUL[AE] | N[O0R]\s*[.:°º] | N\s*[°º.] | SN\s*[:.#] | S\.\s*N\.? | № | \# | НОМЕР
      | СЕРИЙНЫЙ\s+НОМЕР
      | ЗАВ(?:ОДСКОЙ)?\.?\s*(?:НОМЕР|№)? | ΑΡΙΘΜΟΣ(?:\s+ΣΕΙΡΑΣ)? | Α\.?\s*Σ\.? | 编号 | 序列号
      | 枪号 | الرقم\s+التسلسلي | رقم | NUM\. | FAB\.?\s*-?\s*NR\b\.? | WAFFEN\s*-?\s*NR\b\.?
      | V\.\s*C\. | VYR\.?\s*C(?:ISLO)?\b\.? | VYROBNI\s+CISLO | CISLO | BROJ
      | NR\s+(?:FABRYCZNY|SERYJNY) | (?:DE|DI|DU)\s+SERIE | ΑΡ\.
    )[\s:.#\-=]*""",
    re.VERBOSE,
)
# A bare "NO", "NR" or "SN" and a space before a token holding a digit is a label too
# ("No 12345", "No URX39448").
_SPACED_LABEL = re.compile(r"^\W*(?:N[O0R]|SN)\s+(?=[^\W_]*\d)")
# Either label at the start: when neither matches, strip_label has nothing to do (most
# serials), found with one regex call instead of a loop of two.
_ANY_LABEL = re.compile(f"(?:{_STRONG_LABEL.pattern})|(?:{_SPACED_LABEL.pattern})", re.VERBOSE)
# Glued to the digits it may be part of the serial: only a variant drops it.
_GLUED_LABEL = re.compile(r"^(?:SN|N0|NR)(?=\d{4,}$)")

_YEAR = re.compile(r"^(?:18[5-9]\d|19\d\d|20[0-3]\d)$")
_COUNTRY_YEAR = re.compile(r"^[A-Z]{2}(?:\d{2}|\d{4})$")
# Marks a clerk may copy from the frame next to the serial: importers' marks (ATF tracing
# guide: "import markings") and proof-house marks (C.I.P. member proof houses).
_MARK_TOKENS = frozenset(
    {"CAI", "CENTURY", "IAC", "INTERARMS", "SAMCO", "KVAR", "PWARMS", "ATI", "TGI", "IMPORTED",
     "IMPORT", "BUG", "BNP", "CIP", "PSF", "PV", "NP", "BEUG", "BEUSS", "PROOF", "PROOFED",
     "POINCON", "BESCHUSS"}
)  # fmt: skip
# Importers whose mark a clerk may copy after the serial, with their town (ATF tracing guide:
# "import markings"; the EU's import marking is the country-and-year rule above).
_IMPORTERS = frozenset(
    {"CAI", "CENTURY", "IAC", "INTERARMS", "SAMCO", "KVAR", "PWARMS", "ATI", "TGI", "IMPORTED",
     "IMPORTER", "IMPORT", "IMP", "IMPORTEUR", "IMPORTATEUR", "IMPORTADOR", "IMPORTATORE"}
)  # fmt: skip
# Other romanisations of Cyrillic clerks use besides BGN/PCGN (the default of ``translit``):
# French (Ж as J, Ш as CH, У as OU), German (Ж and Ш as SCH, Ч as TSCH, В as W, Ц as Z) and
# ISO 9 without its diacritics (Ж as Z, Ч as C, Х as H, Я as A). Letters not listed here
# fall through to BGN/PCGN.
_SOUND_CONVENTIONS = (
    str.maketrans({"Ж": "J", "Ш": "CH", "Щ": "CHTCH", "Ч": "TCH", "У": "OU", "Й": "I",
                   "Я": "IA", "Ю": "IOU", "Х": "KH"}),
    str.maketrans({"Ж": "SCH", "Ш": "SCH", "Щ": "SCHTSCH", "Ч": "TSCH", "В": "W", "Ц": "Z",
                   "Х": "CH", "Й": "J", "Я": "JA", "Ю": "JU", "З": "S"}),
    str.maketrans({"Ж": "Z", "Ч": "C", "Ш": "S", "Щ": "S", "Ц": "C", "Х": "H", "Я": "A",
                   "Ю": "U", "Й": "J"}),
)  # fmt: skip
_COUNTRY_CODES = frozenset(
    ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
     "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "NO", "IS", "CH",
     "LI", "GB", "UK", "US", "RS", "BA", "ME", "MK", "AL", "TR", "UA", "RU", "BY", "MD", "CN",
     "BR", "AR", "IL"]
)  # fmt: skip


def _ascii_upper(text: str) -> str:
    if text.isascii():
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).upper())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def strip_label(typed: str) -> str:
    """Remove a label prefix typed into the serial field (``"S/N: AB 123"`` -> ``"AB 123"``).

    Only labels made unambiguous by punctuation, length or a following space and digit are
    removed; the text is returned upper-case with accents stripped.
    """
    if typed.isascii():
        text = typed.upper().strip()
    else:
        # NFKC would turn the numero sign and "N" with an ordinal indicator into plain "NO".
        for sign in ("N.º", "n.º", "Nº", "nº", "№"):
            typed = typed.replace(sign, "N° ")
        text = _ascii_upper(typed).strip()
    if _ANY_LABEL.match(text) is None:
        return text
    for _ in range(3):  # "N° de série", "Serial: No." are labels in two steps
        before = text
        for pattern in (_STRONG_LABEL, _SPACED_LABEL):
            match = pattern.match(text)
            if match and match.end() < len(text):
                text = text[match.end() :]
        if text == before:
            break
    return text


def fold_serial(text: str) -> str:
    """Fold text to serial characters: v1 rules (look-alikes to Latin, ``O``/``I``,
    separators dropped), then the Cyrillic and Greek letters that look like no Latin letter
    transliterated by sound (``БЛ`` reads ``BL``, as a clerk types what he sees)."""
    if text.isascii():
        if text.isalnum():  # nothing to drop: only O and I folded
            return text.upper().replace("O", "0").replace("I", "1")
        # One C-level pass: O and I folded, all but A-Z and 0-9 dropped.
        folded = text.upper().encode("ascii").translate(_ASCII_CONFUSE, _ASCII_NOT_ALNUM)
        return folded.decode("ascii")
    upper = unicodedata.normalize("NFKC", text).upper().translate(_FOLD)
    if not upper.isascii():
        upper = translit(upper).translate(_CONFUSE)
    out = []
    for ch in upper:
        cat = unicodedata.category(ch)
        if cat == "Nd":
            out.append(str(unicodedata.digit(ch)))
        elif cat[0] in "LN":
            out.append(ch)
    return "".join(out)


def canonical_serial_v2(typed: str) -> str:
    """The v2 canonical serial: label removed, then folded (may be empty; no refusal here)."""
    return fold_serial(strip_label(typed))


_TOKEN_BREAK = re.compile(r"[\W_]+")


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN_BREAK.split(text) if t]


def _is_mark(token: str) -> bool:
    return (
        token in _MARK_TOKENS
        or _YEAR.match(token) is not None
        or (_COUNTRY_YEAR.match(token) is not None and token[:2] in _COUNTRY_CODES)
    )


def _is_country_year(first: str, second: str) -> bool:
    return first in _COUNTRY_CODES and (
        _YEAR.match(second) is not None or (len(second) == 2 and second.isdigit())
    )


def _drop_marks(tokens: list[str]) -> list[str]:
    """Tokens left after dropping import/proof marks and years at either end: a known mark,
    a year, a country code with a year (``DE 2019``, ``NL-22``, ``BE19``)."""
    out = list(tokens)
    while len(out) > 1:
        if len(out) > 2 and _is_country_year(out[0], out[1]):
            out = out[2:]
        elif len(out) > 2 and _is_country_year(out[-2], out[-1]):
            out = out[:-2]
        elif _is_mark(out[0]):
            out = out[1:]
        elif _is_mark(out[-1]):
            out = out[:-1]
        else:
            break
    return out


def _before_importer(tokens: list[str]) -> list[str]:
    """The tokens before an importer's mark that follows the serial ("AB123 CAI GEORGIA VT")."""
    for i, tok in enumerate(tokens):
        if i > 0 and tok in _IMPORTERS:
            return tokens[:i]
    return tokens


def serial_variants(typed: str, canonical: str, label_free: str | None = None) -> list[str]:
    """Other canonical forms of the same marking, most likely first, at most
    :data:`MAX_VARIANTS`, none equal to ``canonical``, none shorter than 4 characters.

    Args:
        typed: the serial as entered.
        canonical: its v2 canonical form.
        label_free: ``strip_label(typed)`` when the caller has it already.
    """
    if typed.isalnum() and typed.isascii() and not canonical.startswith(VARIABLE_PREFIXES):
        return []  # one plain token: no label, mark, zero or other script to vary
    if label_free is None:
        label_free = strip_label(typed)
    candidates: list[str] = []
    tokens = _tokens(label_free)
    candidates.append(fold_serial(" ".join(_drop_marks(tokens))))
    before = _before_importer(tokens)
    if before is not tokens:  # the same tokens would give the same candidate again
        candidates.append(fold_serial(" ".join(_drop_marks(before))))
    glued = _GLUED_LABEL.sub("", canonical)
    candidates.append(glued)
    if not label_free.isascii() and any(
        unicodedata.name(ch, "").startswith(("CYRILLIC", "GREEK")) for ch in label_free
    ):
        # Every Cyrillic or Greek letter read by sound, look-alikes too ("ВР" as "VR").
        upper = unicodedata.normalize("NFKC", label_free).upper()
        for n, table in enumerate((None, *_SOUND_CONVENTIONS)):
            sound = translit(upper.translate(table) if table else upper)
            candidates.insert(n, fold_serial(sound))
    out: list[str] = []
    for cand in candidates:
        for form in (cand, cand.lstrip("0")):
            if len(form) >= 4 and form != canonical and form not in out:
                out.append(form)
    if canonical.lstrip("0") != canonical:
        zero = canonical.lstrip("0")
        if len(zero) >= 4 and zero not in out:
            out.insert(0, zero)
    return out[:MAX_VARIANTS]
