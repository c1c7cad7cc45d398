"""What the demo's investigator asks, and how recall is measured.

The peers' registries are generated with firearms planted from the asking country's
registry (``registry_adapter.generate``: other spellings, stolen, exported...). The
``<registry>.overlap.csv`` sidecars say which: each planted ``make_serial`` row must come
back as a hit in that country, each ``serial_only`` row at least as a possible match.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from federation.hitcheck_types import CheckItem, CheckResult, Outcome
from fedlookup.errors import InputError
from node.ask.check_items import check_item

__all__ = ["Planted", "Recall", "batch_items", "measure_recall", "read_planted", "write_csv"]


@dataclass(frozen=True)
class Planted:
    """One firearm of the asking country planted in a peer's registry."""

    country: str
    kind: str  # "make_serial" or "serial_only"
    make: str  # as the asking country registered it
    serial: str
    planted_make: str  # as the peer registered it
    planted_serial: str
    category: str


@dataclass(frozen=True)
class Recall:
    """How many plantings the check found, and what else it found."""

    exact_planted: int
    exact_found: int
    serial_only_planted: int
    serial_only_found: int
    other_hits: int
    other_possible: int

    @property
    def complete(self) -> bool:
        """Every planting found (recall 100%)."""
        return (self.exact_found, self.serial_only_found) == (
            self.exact_planted,
            self.serial_only_planted,
        )


def read_planted(country: str, sidecar: Path) -> list[Planted]:
    """The plantings listed in a generator sidecar for ``country``'s registry."""
    try:
        with sidecar.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(sidecar)) from exc
    return [
        Planted(
            country,
            r["kind"],
            r["source_make"],
            r["source_serial"],
            r["planted_make"],
            r["planted_serial"],
            r["planted_category"],
        )
        for r in rows
    ]


def _item(make: str, serial: str) -> CheckItem:
    return check_item(make, serial)  # identifier rules v2, as the demo's nodes index


def batch_items(
    planted: Sequence[Planted], registry_csv: Path, size: int, *, seed: int = 7
) -> list[CheckItem]:
    """A seizure list of ``size`` firearms: every planted one plus others from the asking
    country's own registry, shuffled."""
    chosen = {(p.make, p.serial) for p in planted}
    pool: list[tuple[str, str]] = []
    with registry_csv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            pair = (row["make"], row["serial"])
            if pair not in chosen:
                pool.append(pair)
    rng = random.Random(seed)
    extra = rng.sample(pool, max(0, min(len(pool), size - len(chosen))))
    pairs = sorted(chosen) + extra
    rng.shuffle(pairs)
    out = []
    for make, serial in pairs:
        try:
            out.append(_item(make, serial))
        except InputError:
            continue  # an unusable marking in the registry ("N/A"): nobody would check it
    return out


def write_csv(items: Sequence[CheckItem], path: Path) -> None:
    """Write a seizure list as ``fedlookup check --file`` reads it."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("make", "serial"))
        writer.writerows((i.make, i.serial) for i in items)


def measure_recall(result: CheckResult, planted: Sequence[Planted]) -> Recall:
    """Compare a batch result with the plantings."""
    by_item = {(i.make, i.serial): n for n, i in enumerate(result.items)}
    expected: set[tuple[int, str]] = set()
    exact = serial_only = exact_found = serial_only_found = 0
    for p in planted:
        n = by_item.get((p.make, p.serial))
        if n is None:
            continue
        expected.add((n, p.country))
        outcome = result.answers[n][p.country].outcome
        if p.kind == "make_serial":
            exact += 1
            exact_found += outcome is Outcome.HIT
        else:
            serial_only += 1
            serial_only_found += outcome in (Outcome.HIT, Outcome.POSSIBLE)
    other_hits = other_possible = 0
    for n, per in enumerate(result.answers):
        for country, answer in per.items():
            if (n, country) in expected:
                continue
            other_hits += answer.outcome is Outcome.HIT
            other_possible += answer.outcome is Outcome.POSSIBLE
    return Recall(exact, exact_found, serial_only, serial_only_found, other_hits, other_possible)
