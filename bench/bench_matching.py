"""Matching quality of identifier rules v1 (baseline) and v2 on the evaluation set.

Usage::

    .venv/bin/python bench/bench_matching.py

Derives, for each pair of ``tests/data/matching/pairs.csv``, the items the stored record is
indexed under and the items the typed check sends, exactly as ``node index`` and ``check``
do, and intersects them (what PSI computes, without the cryptography). The v2 figures are
the ones ``tests/integration/test_matching_eval.py`` measures end to end; v1 is the baseline
of the same run. Prints Markdown tables for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from matching_eval import load_pairs, score, table  # noqa: E402

from fedlookup.errors import InputError  # noqa: E402
from node.ask.check_items import check_item  # noqa: E402
from registry_adapter.identifier_versions import IdentifierRules  # noqa: E402
from registry_adapter.identifiers import record_identifiers  # noqa: E402

#: ``derive(make, serial) -> (items, hit_items)``; raises InputError when refused.
Derive = Callable[[str, str], tuple[tuple[bytes, ...], int]]


def _v1(make: str, serial: str) -> tuple[tuple[bytes, ...], int]:
    ids = record_identifiers(make, serial)
    return (ids.make_serial, ids.serial_only), 1


def _v2(make: str, serial: str) -> tuple[tuple[bytes, ...], int]:
    item = check_item(make, serial, IdentifierRules(("v2",)))
    return item.items(), item.hit_items


def outcomes(derive: Derive) -> list[str]:
    """One outcome per pair, as a check of the typed side against the stored side."""
    pairs = load_pairs()
    index: dict[bytes, set[str]] = defaultdict(set)
    for p in pairs:
        try:
            items, _ = derive(p.stored_make, p.stored_serial)
        except InputError:
            continue  # rejected at import
        for item in items:
            index[item].add(p.pair)
    out = []
    for p in pairs:
        try:
            items, hits = derive(p.typed_make, p.typed_serial)
        except InputError:
            out.append("not-checked")
            continue
        if any(index.get(i) for i in items[:hits]):
            out.append("hit")
        elif any(index.get(i) for i in items[hits:]):
            out.append("possible")
        else:
            out.append("no-hit")
    return out


def main() -> None:
    """Print both tables."""
    pairs = load_pairs()
    for name, derive in (("v1 (baseline)", _v1), ("v2", _v2)):
        scores = score(pairs, outcomes(derive))
        false_hits = scores["all"].placeholder_false_hits
        print(f"#### {name}: {len(pairs)} pairs, {false_hits} false hits on placeholders\n")
        print(table(scores))
        print()


if __name__ == "__main__":
    main()
