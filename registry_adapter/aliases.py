"""Manufacturer alias table: many spellings of one maker fold to one canonical key.

The table is a CSV data file (``registry_adapter/data/make_aliases.csv``, columns
``canonical,alias``) so it can be reviewed and extended without code. A node may add an
extra file of the same shape through configuration; an extra row may add spellings but
never re-point a spelling the default table already folds, since that would change
identifiers other nodes hold.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

from fedlookup.errors import ConfigError
from registry_adapter.alias_csv import add_pairs, packaged_pairs, read_pairs

__all__ = ["CORPORATE_SUFFIXES", "MakeAliases", "make_key"]

#: Trailing words that name a legal form, not a maker; dropped before the alias lookup so
#: that "Glock GmbH", "GLOCK Inc." and "Glock" agree without a row each.
CORPORATE_SUFFIXES = frozenset(
    {"INC", "INCORPORATED", "LLC", "LTD", "LIMITED", "CO", "CORP", "CORPORATION", "COMPANY",
     "GMBH", "GESMBH", "AG", "KG", "SPA", "SRL", "SA", "SAS", "AS", "OY", "AB", "PLC", "NV",
     "BV", "SONS", "SOHN", "SOHNE", "AND", "THE"}
)  # fmt: skip

_PACKAGE_TABLE = "make_aliases.csv"


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=8192)
def make_key(name: str) -> str:
    """Fold a manufacturer spelling to its lookup key (before aliases).

    NFKC, accents stripped, upper case, ``&`` and ``+`` read as ``AND``, apostrophes
    and dots dropped, other punctuation read as a space, trailing legal-form words dropped, spaces
    removed.

    Args:
        name: the manufacturer as entered.

    Returns:
        Upper-case letters and digits; empty when ``name`` holds none.

    Example:
        >>> make_key("Sturm, Ruger & Co.")
        'STURMRUGER'
    """
    # Registries hold a few hundred spellings across millions of rows: the cache makes this
    # free on import; ASCII names skip the Unicode passes.
    text = name if name.isascii() else _strip_accents(unicodedata.normalize("NFKC", name))
    text = text.upper()
    if not any(ch.isalnum() for ch in text):
        return ""
    text = text.replace("&", " AND ").replace("+", " AND ")
    # "S.p.A.", "O.F." and "Colt's" are one word each, not letters to spell out.
    text = text.replace("'", "").replace("\u2019", "").replace(".", "")
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    while len(words) > 1 and words[-1] in CORPORATE_SUFFIXES:
        words.pop()
    return "".join(words)


class MakeAliases:
    """A table from manufacturer keys to canonical keys.

    Args:
        pairs: ``(canonical, alias)`` spellings; both are folded with :func:`make_key`.
        source: where the pairs came from, for error messages.

    Raises:
        ConfigError: when a spelling folds to two different canonical makers, or a row is
            empty.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]], *, source: str = "aliases") -> None:
        self._map: dict[str, str] = {}
        self._add(pairs, source)

    def _add(self, pairs: Iterable[tuple[str, str]], source: str) -> None:
        add_pairs(
            self._map,
            pairs,
            source,
            fold=make_key,
            empty="canonical and alias must be non-empty",
            taken="already an alias of",
        )

    @classmethod
    @functools.cache
    def default(cls) -> MakeAliases:
        """The packaged table (cached; the same object on every call)."""
        return cls(packaged_pairs(_PACKAGE_TABLE), source=_PACKAGE_TABLE)

    @classmethod
    def with_extra(cls, path: Path) -> MakeAliases:
        """The packaged table plus the rows of an extra CSV file (``canonical,alias``).

        Raises:
            ConfigError: when the file is unreadable or malformed, or conflicts with the
                packaged table.
        """
        table = cls(cls.default().pairs(), source=_PACKAGE_TABLE)
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                table._add(read_pairs(fh, str(path)), str(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("make_aliases", f"cannot read {path}: {exc}") from exc
        return table

    def pairs(self) -> list[tuple[str, str]]:
        """All ``(canonical_key, alias_key)`` pairs, for copying the table."""
        return [(c, a) for a, c in self._map.items()]

    def resolve(self, key: str) -> str:
        """Canonical key of a folded spelling; unknown makers are their own key."""
        return self._map.get(key, key)

    def as_mapping(self) -> Mapping[str, str]:
        """Read-only view of alias key to canonical key."""
        return dict(self._map)

    def __len__(self) -> int:
        return len(self._map)
