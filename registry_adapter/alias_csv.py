"""What the two maker tables share: the ``canonical,alias`` CSV and folding it into a map.

Identifier rules v1 (:class:`~registry_adapter.aliases.MakeAliases`) and v2
(:class:`~registry_adapter.maker_table.MakerTable`) fold spellings differently and word
their errors their own way, but read the same two-column file, packaged or a node's own,
and refuse a spelling that would fold to two makers the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from importlib import resources

from fedlookup.errors import ConfigError

__all__ = ["add_pairs", "packaged_pairs", "read_pairs"]


def read_pairs(lines: Iterable[str], source: str) -> list[tuple[str, str]]:
    """The ``(canonical, alias)`` rows of a table; blank and ``#`` lines are skipped.

    Args:
        lines: the file's lines.
        source: the file, for error messages.

    Raises:
        ConfigError: the header is not ``canonical,alias``, or a row has not two columns
            (named ``row N``, the 1-based line among the lines kept).
    """
    rows = csv.reader(line for line in lines if line.strip() and not line.startswith("#"))
    header = next(rows, None)
    if header != ["canonical", "alias"]:
        raise ConfigError("header", "expected 'canonical,alias'", source)
    pairs = []
    for n, row in enumerate(rows, start=2):
        if len(row) != 2:
            raise ConfigError(f"row {n}", "expected two columns: canonical,alias", source)
        pairs.append((row[0], row[1]))
    return pairs


def packaged_pairs(name: str) -> list[tuple[str, str]]:
    """The rows of a table packaged in ``registry_adapter/data``."""
    data = resources.files("registry_adapter").joinpath("data", name)
    return read_pairs(data.read_text("utf-8").splitlines(), name)


def add_pairs(
    table: dict[str, str],
    pairs: Iterable[tuple[str, str]],
    source: str,
    *,
    fold: Callable[[str], str],
    empty: str,
    taken: str,
    frozen: frozenset[str] = frozenset(),
) -> None:
    """Fold each ``(canonical, alias)`` pair into ``table`` (folded alias -> folded canonical).

    Args:
        table: the map to extend in place.
        pairs: the rows.
        source: where they came from, for error messages.
        fold: the spelling folder of the rule version.
        empty: the reason given when a row folds to nothing.
        taken: how an error names the maker a spelling already points to
            (``f"{alias!r} folds to {key!r}, {taken} {held!r}"``).
        frozen: keys of a packaged table that a node's row may not re-point: a row whose
            canonical is one of them joins that key's maker.

    Raises:
        ConfigError: a row folds to nothing, or a spelling to two different makers.
    """
    for n, (canonical, alias) in enumerate(pairs, start=1):
        ckey, akey = fold(canonical), fold(alias)
        if not ckey or not akey:
            raise ConfigError(f"row {n}", empty, source)
        ckey = table.get(ckey, ckey) if ckey in frozen else ckey
        for key in (akey, ckey):
            held = table.get(key, ckey)
            if held != ckey:
                raise ConfigError(
                    f"row {n}", f"{alias!r} folds to {key!r}, {taken} {held!r}", source
                )
            table[key] = ckey
