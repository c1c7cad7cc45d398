"""PSI engine benchmark: the naive openmined flow against the encrypted index, side by side.

Usage::

    .venv/bin/python bench/bench_psi.py                      # 10^3 .. 10^6 records
    .venv/bin/python bench/bench_psi.py --sizes 1000,10000   # a quick run
    .venv/bin/python bench/bench_psi.py --write bench/RESULTS.md

Everything runs in one process tree on this machine, in-process (no network): the numbers
are the PSI engine's own cost. Each registry record has two identifiers (make+serial,
serial-only), as in the product, so a one-serial query evaluates two items.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import private_set_intersection.python as openmined

from federation import psi
from federation.evaluation import BlindedQuery, Evaluator
from federation.index import IndexInput, IndexMirror, NodeIndex
from federation.keys import EpochKeyStore
from federation.labels import CATEGORIES, Label, make_reference

MAKES = ["GLOCK", "SIG", "BERETTA", "CZ", "WALTHER", "HK", "SMITHANDWESSON", "RUGER", "COLT"]
REF_KEY = b"b" * 32
BEGIN, END = "<!-- bench_psi:begin -->", "<!-- bench_psi:end -->"


def registry(n: int, seed: int = 7) -> list[IndexInput]:
    rng = random.Random(seed)
    alphabet = string.ascii_uppercase + string.digits
    out = []
    for i in range(n):
        serial = "".join(rng.choices(alphabet, k=8))
        make = rng.choice(MAKES)
        ids = (f"v1|MS|{make}|{serial}".encode(), f"v1|S|{serial}".encode())
        label = Label(rng.choice(CATEGORIES), make_reference(REF_KEY, "DE", f"r{i}"))
        out.append(IndexInput(f"r{i}", ids, label))
    return out


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the build's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(fn: Callable[[], object], reps: int) -> float:
    return statistics.median(timed(fn) for _ in range(reps))


def naive_query(server_key: bytes, identifiers: list[bytes], items: list[bytes]) -> None:
    """The documented openmined flow: a fresh server setup over the whole registry."""
    server = openmined.server.CreateFromKey(server_key, True)
    setup = server.CreateSetupMessage(1e-9, len(items), identifiers)
    client = openmined.client.CreateWithNewKey(True)
    response = server.ProcessRequest(client.CreateRequest(items))
    client.GetIntersection(setup, response)


def ours_query(evaluator: Evaluator, mirror: IndexMirror, items: list[bytes]) -> None:
    query = BlindedQuery.create(items)
    query.finish(evaluator.evaluate(query.request), mirror)


def crypto_floor() -> dict[str, float]:
    """Seconds per P-256 operation, per step of one item (best of 50 batches of 20).

    Short batches and the best time: on a shared machine a long batch is always preempted,
    and the floor is what an uncontended core does.
    """
    items = [f"v1|S|FLOOR{i}".encode() for i in range(20)]
    key = psi.new_key()
    blinder = psi.Blinder()
    request = blinder.request(items)
    points = psi.parse_response(
        psi.process_request(key, request, reveal=True, max_items=100), expected=len(items)
    )

    def best(fn: Callable[[], object]) -> float:
        return min(timed(fn) for _ in range(50)) / len(items)

    return {
        "blind": best(lambda: psi.evaluate_points(key, items)),
        "evaluate": best(lambda: psi.process_request(key, request, reveal=True, max_items=100)),
        "unblind": best(lambda: blinder.unblind(points)),
    }


def run(sizes: list[int], naive_max: int, workers: int, batch: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_psi_"))
    key = EpochKeyStore(tmp / "keys").current()
    evaluator = Evaluator(key, max_items=max(2 * batch, 10))
    rows = []
    largest: tuple[NodeIndex, list[IndexInput]] | None = None
    for n in sizes:
        records = registry(n)
        index = NodeIndex(tmp / f"index-{n}", key=key, country="DE")
        cpu0 = cpu_seconds()
        build = timed(lambda: index.update(records, workers=workers))  # noqa: B023
        build_cpu = cpu_seconds() - cpu0
        mirror = IndexMirror()
        blob = index.export(since_version=None)
        mirror.apply(blob)
        hit = list(records[n // 2].identifiers)
        times = [timed(lambda: ours_query(evaluator, mirror, hit)) for _ in range(30)]  # noqa: B023
        ours, ours_min = statistics.median(times), min(times)
        naive = None
        if n <= naive_max:
            identifiers = [i for r in records for i in r.identifiers]
            reps = 5 if n <= 10_000 else 1
            naive = median_time(lambda: naive_query(key.secret, identifiers, hit), reps)  # noqa: B023
        rows.append(
            {
                "n": n,
                "build": build,
                "build_cpu": build_cpu,
                "ours": ours,
                "ours_min": ours_min,
                "naive": naive,
                "bytes": len(blob),
            }
        )
        print(f"n={n}: build {build:.1f}s ours {ours * 1e3:.2f}ms naive {naive}", flush=True)
        largest = (index, records)
    assert largest is not None
    index, records = largest
    n = len(records)
    result: dict[str, object] = {"rows": rows, "n_largest": n}

    # Single-process openmined CreateRequest, the raw rate the parallel build is compared to.
    sample = [i for r in records[: min(n, 50_000)] for i in r.identifiers]
    cpu0 = cpu_seconds()
    single = timed(lambda: psi.evaluate_points(key.secret, sample))
    single_cpu = cpu_seconds() - cpu0
    result["single_rate"] = len(sample) / single
    result["single_cpu"] = single_cpu / len(sample)
    result["build_rate"] = 2 * n / rows[-1]["build"]  # type: ignore[operator]
    result["build_cpu"] = rows[-1]["build_cpu"] / (2 * n)  # type: ignore[operator]
    result["load"] = os.getloadavg()

    # Incremental: 1,000 changed records (new serials) in the largest index.
    rng = random.Random(99)
    changed = []
    for i in rng.sample(range(n), 1000):
        ids = (f"v1|MS|GLOCK|NEW{i}".encode(), f"v1|S|NEW{i}".encode())
        changed.append(IndexInput(f"r{i}", ids, records[i].label))
    before = index.version
    result["incremental"] = timed(lambda: index.update(changed, workers=workers))
    result["incremental_crypto"] = timed(
        lambda: psi.evaluate_points(key.secret, [i for c in changed for i in c.identifiers])
    )
    delta = index.export(since_version=before)
    result["delta_bytes"] = len(delta)
    result["delta_entries"] = 2 * len(changed)
    mirror = IndexMirror()
    full = index.export(since_version=None)
    result["full_bytes"] = len(full)
    result["tags_only_bytes"] = len(index.export(since_version=None, labels=False))
    result["entries"] = index.size
    result["mirror_load"] = timed(lambda: mirror.apply(full))

    # A batch of serials against the largest index.
    picks = [i for r in rng.sample(records, batch) for i in r.identifiers]
    result["batch"] = timed(lambda: ours_query(evaluator, mirror, picks))
    result["floor"] = crypto_floor()
    return result


def table(result: dict[str, object], command: str, workers: int, batch: int) -> str:
    rows = result["rows"]
    assert isinstance(rows, list)
    floor = result["floor"]
    assert isinstance(floor, dict)
    floor_serial = 2 * (floor["blind"] + floor["evaluate"] + floor["unblind"])
    lines = [
        BEGIN,
        "## PSI engine (`bench/bench_psi.py`)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, openmined-psi {psi.psi_version()}; "
        f"build workers: {workers}. In-process (no network). The machine was shared with "
        "other work during the run, so absolute times are pessimistic.",
        "",
        "### One serial (2 items), by registry size",
        "",
        "| records | naive openmined (fresh setup per query) | ours (blind, evaluate, "
        "unblind, lookup): median (best) of 30 | speed-up | index build | full index bytes |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    per_id = None
    for row in rows:
        n, ours, naive = row["n"], row["ours"], row["naive"]
        if naive is None:
            per_id = per_id or rows_naive_rate(rows)
            naive_s = f"~{2 * n * per_id:.0f} s (extrapolated)" if per_id else "n/a"
            speed = f"~{2 * n * per_id / ours:,.0f}x" if per_id else ""
        else:
            naive_s = f"{naive * 1e3:,.1f} ms"
            speed = f"{naive / ours:,.0f}x"
        lines.append(
            f"| {n:,} | {naive_s} | {ours * 1e3:.2f} ms ({row['ours_min'] * 1e3:.2f} ms) | {speed} "
            f"| {row['build']:.1f} s "
            f"| {row['bytes']:,} |"
        )
    first, last = rows[0]["ours"], rows[-1]["ours"]
    best_first, best_last = rows[0]["ours_min"], rows[-1]["ours_min"]
    n = result["n_largest"]
    lines += [
        "",
        f"Flatness: ours at {rows[-1]['n']:,} is {last / first:.2f}x ours at {rows[0]['n']:,} "
        f"by median, {best_last / best_first:.2f}x by best time (target at most 1.5x).",
        "",
        "### Build, update, batch, size",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| one process, openmined CreateRequest | {result['single_rate']:,.0f} identifiers/s |",
        f"| our full build, {workers} workers, {n:,} records (incl. SQLite) | "
        f"{result['build_rate']:,.0f} identifiers/s "
        f"({result['build_rate'] / result['single_rate']:.2f}x one process) |",
        f"| CPU per identifier: one process / our build (all processes) | "
        f"{result['single_cpu'] * 1e6:.0f} us / {result['build_cpu'] * 1e6:.0f} us: "
        f"on {workers} idle cores the build would reach "
        f"{workers * result['single_cpu'] / result['build_cpu']:.2f}x one process |",
        f"| load average during the run (1, 5, 15 min) | "
        f"{', '.join(f'{x:.1f}' for x in result['load'])} |",
        f"| incremental update, 1,000 changed records in {n:,} | "
        f"{result['incremental']:.2f} s (their crypto alone, one process: "
        f"{result['incremental_crypto']:.2f} s) |",
        f"| batch of {batch:,} serials ({2 * batch:,} items) against {n:,} records | "
        f"{result['batch']:.2f} s |",
        f"| full index, with labels | {result['full_bytes'] / result['entries']:.2f} "
        f"bytes/identifier ({result['full_bytes']:,} bytes, {result['entries']:,} identifiers) |",
        f"| full index, tags only (cardinality peers) | "
        f"{result['tags_only_bytes'] / result['entries']:.2f} bytes/identifier |",
        f"| delta for 1,000 changed records | {result['delta_bytes']:,} bytes "
        f"({result['delta_bytes'] / result['delta_entries']:.1f} bytes per changed identifier: "
        "entry + removed tag) |",
        f"| mirror load of the full index | {result['mirror_load']:.2f} s |",
        "",
        "### Crypto floor",
        "",
        "| step (per item, best of 50 batches of 20) | time |",
        "|---|---:|",
        f"| blind: hash to curve + scalar mult (asker) | {floor['blind'] * 1e6:.0f} us |",
        f"| evaluate: scalar mult (node) | {floor['evaluate'] * 1e6:.0f} us |",
        f"| unblind: point decode + ECDH (asker) | {floor['unblind'] * 1e6:.0f} us |",
        f"| floor per serial (2 items x 3 operations) | {floor_serial * 1e3:.2f} ms |",
        f"| ours per serial at {rows[-1]['n']:,} records, best of 30 | {best_last * 1e3:.2f} ms "
        f"({best_last / floor_serial:.2f}x the floor; a one-serial request also pays a "
        "re-randomising ECDH per item and fixed per-request costs) |",
        END,
    ]
    return "\n".join(lines) + "\n"


def rows_naive_rate(rows: list[dict[str, object]]) -> float | None:
    """Seconds per identifier of the naive flow, from its largest measured size."""
    measured = [r for r in rows if r["naive"] is not None]
    if not measured:
        return None
    row = measured[-1]
    return float(row["naive"]) / (2 * int(row["n"]))  # type: ignore[arg-type]


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--naive-max", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--write", type=Path, help="update this RESULTS.md section")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    result = run(sizes, args.naive_max, args.workers, args.batch)
    command = "python bench/bench_psi.py " + " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k, v in (("sizes", args.sizes), ("workers", args.workers), ("batch", args.batch))
    )
    section = table(result, command, args.workers, args.batch)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
