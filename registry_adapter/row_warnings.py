"""Suspicious rows, reported without flooding: the first few by line, then counts per kind.

Import and check share this so an operator sees the same words for the same row (an unknown
make, a label prefix removed, a serial with possible marks), never the serial itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

__all__ = ["RowWarnings", "Warn"]

#: ``warn(line, record_id, message)``: one suspicious finding about one row.
Warn = Callable[[int, str, str], None]


class RowWarnings:
    """Collects per-row warnings for one input.

    Args:
        source: the file (or ``"check"``) named in every line.
        examples: how many findings are listed one by one.
    """

    def __init__(self, source: str, *, examples: int = 20) -> None:
        self.source = source
        self.examples = examples
        self.counts: Counter[str] = Counter()
        self._first: list[str] = []

    def add(self, line: int, record_id: str, message: str) -> None:
        """Record one finding (see :data:`Warn`)."""
        self.counts[message] += 1
        if len(self._first) < self.examples:
            who = f" record {record_id}:" if record_id else ""
            self._first.append(f"{self.source}:{line}:{who} {message}")

    def summary(self) -> list[str]:
        """The first findings, then one line per kind when there were more."""
        total = sum(self.counts.values())
        if total <= len(self._first):
            return list(self._first)
        more = [f"{self.source}: {n} rows: {msg}" for msg, n in self.counts.most_common()]
        return [*self._first, f"{self.source}: {total} warnings in all:", *more]
