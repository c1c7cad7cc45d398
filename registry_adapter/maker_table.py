"""The maker table of identifier rules v2: many spellings of one maker, one canonical key.

The packaged table is ``registry_adapter/data/makers_v2.csv`` (``canonical,alias``, sources
cited in its header). Each spelling is folded with :func:`~registry_adapter.maker_key.maker_key`
first, so the table only holds names folding cannot derive. A node adds its own spellings
through ``[registry] aliases = "aliases.csv"`` (same two columns); a row may add spellings but
never re-point one the packaged table already folds (that would change identifiers peers
hold), which raises :class:`~fedlookup.errors.ConfigError`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from fedlookup.errors import ConfigError
from registry_adapter.alias_csv import add_pairs, packaged_pairs, read_pairs
from registry_adapter.maker_key import maker_key

__all__ = ["MakerTable"]

_PACKAGE_TABLE = "makers_v2.csv"


class MakerTable:
    """Folded maker spellings to canonical maker keys (identifier rules v2).

    Args:
        pairs: ``(canonical, alias)`` spellings, folded with :func:`maker_key`.
        source: where the pairs came from, for error messages.

    Raises:
        ConfigError: a spelling folds to two different makers, or a row is empty.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]], *, source: str = "makers") -> None:
        self._map: dict[str, str] = {}
        self._add(pairs, source, frozen=frozenset())

    def _add(self, pairs: Iterable[tuple[str, str]], source: str, frozen: frozenset[str]) -> None:
        add_pairs(
            self._map,
            pairs,
            source,
            fold=maker_key,
            frozen=frozen,
            empty="canonical and alias must hold letters",
            taken="already a name of",
        )

    @classmethod
    @functools.cache
    def default(cls) -> MakerTable:
        """The packaged table (cached; the same object on every call)."""
        return cls(packaged_pairs(_PACKAGE_TABLE), source=_PACKAGE_TABLE)

    @classmethod
    def with_extra(cls, path: Path) -> MakerTable:
        """The packaged table plus a node's ``aliases.csv`` (``canonical,alias``).

        Raises:
            ConfigError: the file is unreadable or malformed, or re-points a packaged name.
        """
        base = cls.default()
        table = cls([], source=_PACKAGE_TABLE)
        table._map = dict(base._map)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("aliases", f"cannot read {path}: {exc}") from exc
        table._add(read_pairs(lines, str(path)), str(path), frozen=frozenset(base._map))
        return table

    def resolve(self, key: str) -> str:
        """Canonical key of a folded spelling; an unknown maker is its own key."""
        return self._map.get(key, key)

    def knows(self, key: str) -> bool:
        """True when the folded spelling is in the table."""
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)
