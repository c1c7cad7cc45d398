"""Scoring of the matching evaluation set (``tests/data/matching/pairs.csv``).

A pair is *found* when the check answers ``hit`` or ``possible``. Per category and overall:
hit recall (expected ``hit`` answered ``hit``), found recall (expected ``hit`` or
``possible`` answered either), precision (answers ``hit``/``possible`` that are right: not on
a ``none`` pair, and no ``hit`` on a pair of two different makers) and false hits on
placeholder pairs.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PAIRS = Path(__file__).parent / "data" / "matching" / "pairs.csv"
FOUND = ("hit", "possible")


@dataclass(frozen=True)
class Pair:
    """One row of the evaluation set."""

    pair: str
    category: str
    stored_make: str
    stored_serial: str
    typed_make: str
    typed_serial: str
    expected: str


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    """The stored pairs, in file order."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Pair(r["pair"], r["category"], r["stored_make"], r["stored_serial"],
                 r["typed_make"], r["typed_serial"], r["expected"])
            for r in csv.DictReader(fh)
        ]  # fmt: skip


@dataclass
class Score:
    """Counts for one category (or all)."""

    pairs: int = 0
    expected_hit: int = 0
    hit_as_hit: int = 0
    expected_found: int = 0
    found: int = 0
    answered: int = 0
    right: int = 0
    placeholder_false_hits: int = 0

    def add(self, pair: Pair, outcome: str) -> None:
        """Count one pair's outcome."""
        self.pairs += 1
        if pair.expected == "hit":
            self.expected_hit += 1
            self.hit_as_hit += outcome == "hit"
        if pair.expected in FOUND:
            self.expected_found += 1
            self.found += outcome in FOUND
        if outcome in FOUND:
            self.answered += 1
            wrong = pair.expected == "none" or (
                outcome == "hit" and pair.category == "different_maker"
            )
            self.right += not wrong
        if pair.category == "placeholder" and outcome == "hit":
            self.placeholder_false_hits += 1

    @staticmethod
    def ratio(a: int, b: int) -> float | None:
        """``a / b``, or ``None`` when there is nothing to divide."""
        return a / b if b else None

    def row(self) -> dict[str, float | int | None]:
        """The figures reported in ``docs/identifiers.md``."""
        return {
            "pairs": self.pairs,
            "hit_recall": self.ratio(self.hit_as_hit, self.expected_hit),
            "found_recall": self.ratio(self.found, self.expected_found),
            "precision": self.ratio(self.right, self.answered),
            "placeholder_false_hits": self.placeholder_false_hits,
        }


def score(pairs: list[Pair], outcomes: list[str]) -> dict[str, Score]:
    """Per category and ``"all"``, from one outcome per pair (same order)."""
    out: dict[str, Score] = defaultdict(Score)
    for pair, outcome in zip(pairs, outcomes, strict=True):
        out[pair.category].add(pair, outcome)
        out["all"].add(pair, outcome)
    return dict(out)


def table(scores: dict[str, Score]) -> str:
    """A Markdown table of the scores."""

    def fmt(v: float | int | None) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| category | pairs | hit recall | hit-or-possible recall | precision |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name in sorted(scores, key=lambda n: (n == "all", n)):
        r = scores[name].row()
        lines.append(
            f"| {name} | {r['pairs']} | {fmt(r['hit_recall'])} | {fmt(r['found_recall'])} "
            f"| {fmt(r['precision'])} |"
        )
    return "\n".join(lines)
