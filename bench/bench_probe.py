"""Asker-side cost of reading a mirror: slot chains per category against one chain.

Usage::

    .venv/bin/python bench/bench_probe.py [--records N] [--items N] [--write bench/RESULTS.md]

Since ADR 0006 the asker walks one slot chain per category (8) for every item it evaluated,
where it walked one before. This measures, in the same run and on the same mirror of
``--records`` records (2 identifiers each, serials shared by about two records):

* the baseline: one probe per missed item (one HMAC and one mirror lookup: what a miss cost
  with a single chain);
* ``IndexMirror.labels_for`` on a missed item (8 chains: their heads from one 64-byte
  HKDF-Expand, two HMACs, then 8 lookups);
* ``labels_for`` on a hit (the serial-only identifier of a record, 2 holders on average);
* for scale, one whole query of one serial (2 items: blind, evaluate, unblind, read), the
  figure ``bench/bench_psi.py`` reports as per-serial cost.

Best of 5 passes over ``--items`` items (a shared machine preempts long passes; the best is
what an uncontended core does). Prints a Markdown section for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

BEGIN, END = "<!-- bench_probe:begin -->", "<!-- bench_probe:end -->"


def best_per_item(fn: Callable[[], object], n: int, reps: int = 5) -> float:
    """Best seconds per item over ``reps`` passes of ``fn`` (which handles ``n`` items)."""
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) / n


def run(records: int, items: int) -> dict[str, float]:
    """Build the index and its mirror, then time the four readings."""
    from psi_helpers import firearm

    from federation.evaluation import BlindedQuery, Evaluator
    from federation.index import IndexMirror, NodeIndex
    from federation.keys import EpochKeyStore
    from federation.labels import entry_prk, slot_tag
    from federation.psi import evaluate_points

    rng = random.Random(5)
    tmp = Path(tempfile.mkdtemp(prefix="bench_probe_"))
    key = EpochKeyStore(tmp / "keys").current()
    index = NodeIndex(tmp / "index", key=key, country="DE")
    recs = [
        firearm(f"r{i}", rng.choice(["SIG", "GLOCK"]), f"S{rng.randrange(records // 2)}")
        for i in range(records)
    ]
    index.update(r.input() for r in recs)
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None))

    misses = [os.urandom(32) for _ in range(items)]
    hit_ids = [recs[rng.randrange(records)].items[1] for _ in range(items)]
    hits = [entry_prk(p[1:], key.epoch_id) for p in evaluate_points(key.secret, hit_ids)]
    evaluator = Evaluator(key)
    serials = [list(r.items) for r in rng.sample(recs, 200)]

    def one_query() -> None:
        for pair in serials:
            query = BlindedQuery.create(pair)
            query.finish(evaluator.evaluate(query.request), mirror)

    return {
        "baseline_one_probe_miss": best_per_item(
            # slot 1's tag: one HMAC block, the cost of a tag before chain heads
            lambda: [mirror.lookup(slot_tag(p, 2, 1)) for p in misses],
            items,
        ),
        "chains_miss": best_per_item(lambda: [mirror.labels_for(p) for p in misses], items),
        "chains_hit": best_per_item(lambda: [mirror.labels_for(p) for p in hits], items),
        "query_per_serial": best_per_item(one_query, len(serials), reps=3),
    }


def section(result: dict[str, float], command: str, records: int) -> str:
    """The Markdown section for ``bench/RESULTS.md``."""
    us = {k: v * 1e6 for k, v in result.items()}
    extra = 2 * (us["chains_miss"] - us["baseline_one_probe_miss"])
    load = os.getloadavg()[0]
    return "\n".join(
        [
            BEGIN,
            "## Reading a mirror: slot chains per category (`bench/bench_probe.py`)",
            "",
            f"Command: `{command}`",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load "
            f"average {load:.1f} at the end; {records:,} records in the mirror.",
            "",
            "| reading, per item | µs |",
            "|---|---:|",
            f"| baseline: one probe of a missed item (one chain, as before ADR 0006) | "
            f"{us['baseline_one_probe_miss']:.1f} |",
            f"| `labels_for`, missed item (8 chains) | {us['chains_miss']:.1f} |",
            f"| `labels_for`, hit (serial-only identifier, about 2 holders) | "
            f"{us['chains_hit']:.1f} |",
            f"| whole query of one serial (2 items), for scale | {us['query_per_serial']:.1f} |",
            "",
            f"Chains per category add about {extra:.0f} µs per serial of two missed items, "
            f"{100 * extra / us['query_per_serial']:.0f}% of a whole one-serial query "
            "measured in the same run.",
            END,
            "",
        ]
    )


def main() -> None:
    """Parse, run, print (and write the section when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--write", type=Path, help="update this RESULTS.md section")
    args = parser.parse_args()
    command = ".venv/bin/python bench/bench_probe.py " + " ".join(sys.argv[1:])
    text = section(run(args.records, args.items), command.strip(), args.records)
    print(text)
    if args.write:
        old = args.write.read_text()
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            new = head + text.rstrip("\n") + rest.split(END, 1)[1]
        else:
            new = old.rstrip("\n") + "\n\n" + text
        args.write.write_text(new)


if __name__ == "__main__":
    main()
