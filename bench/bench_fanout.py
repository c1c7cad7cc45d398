"""Fan-out benchmark: one serial against 1, 5 and 10 peer nodes, and a batch against 5.

Usage::

    .venv/bin/python bench/bench_fanout.py                          # 100,000 records per peer
    .venv/bin/python bench/bench_fanout.py --records 5000 --iterations 30   # a quick run
    .venv/bin/python bench/bench_fanout.py --write bench/RESULTS.md

Eleven nodes (DE asks; ten peers) are laid out with the demo's set-up code and run as
separate ``fedlookup node serve`` processes on 127.0.0.1 over mutual TLS. Each peer's
index is built from its own registry of random records (every index is built, none is
copied). Before timing, DE mirrors every peer's index. Then:

* single checks, one HitCheck kept open (channels reused: a long-running client),
  ``--iterations`` times against the first 1, 5 and 10 peers: p50 and p95 of the wall time,
  the CPU time of the asking process and of the peers' processes; taking turns with as many
  checks with batching off (``HitCheck.batched``: per-peer signing, logging and hashing,
  the flow before group commit), the baseline of the same run;
* the same with a fresh HitCheck per check (new TLS connections, directory and log opened:
  what one ``fedlookup check`` process pays, minus the interpreter start);
* a batch of 1,000 serials against 5 peers, three times: median wall time.

Baseline in the same run: the naive openmined flow, a ServerSetup over one peer's whole
registry per query (what the encrypted index avoids).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from federation import psi
from federation.hitcheck_types import CheckContext, CheckItem
from node.ask.asker import open_hit_check
from node.demo.network import NodeProcesses
from node.demo.setup import (
    Network,
    NetworkNode,
    create_network,
    index_records,
    publish_directory,
)
from registry_adapter.identifiers import record_identifiers

ASKER = "DE"
PEERS = ("AT", "BE", "CZ", "DK", "ES", "FI", "FR", "IT", "NL", "PL")
FANOUTS = (1, 5, 10)
MAKES = ("Glock", "Beretta", "Walther", "Sig Sauer", "CZ", "Heckler & Koch", "Smith & Wesson")
ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
CONTEXT = CheckContext("BENCH", "benchmark", "", "bench")
BEGIN, END = "<!-- bench_fanout:begin -->", "<!-- bench_fanout:end -->"


def registry(code: str, n: int, seed: int) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    return [
        (f"{code}-{i}", rng.choice(MAKES), code + "".join(rng.choices(ALPHABET, k=8)), "stolen")
        for i in range(n)
    ]


def item(make: str, serial: str) -> CheckItem:
    ids = record_identifiers(make, serial)
    return CheckItem(make, serial, ids)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def server_cpu_ms(pids: list[int]) -> float:
    """User + system CPU time of these processes so far, in ms (Linux /proc)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def build(root: Path, records: int) -> tuple[Network, dict[str, list[tuple[str, str, str, str]]]]:
    regs = {c: registry(c, records, seed) for seed, c in enumerate([ASKER, *PEERS])}
    stamp = root / "bench-records.txt"
    if stamp.exists() and stamp.read_text(encoding="ascii").strip() == str(records):
        # A network built by an earlier run (--network): same seeds, same records.
        nodes = {c: NetworkNode(c, root / c.lower()) for c in [ASKER, *PEERS]}
        print("  reusing the indexes built earlier in", root)
        return Network(root, nodes), regs
    net = create_network(root, [ASKER, *PEERS], max_items_per_request=2000)
    for country, recs in regs.items():
        started = time.perf_counter()
        index_records(net.nodes[country], recs)
        print(f"  indexed {country}: {records:,} records in {time.perf_counter() - started:.1f} s")
    stamp.write_text(f"{records}\n", encoding="ascii")
    return net, regs


def naive_baseline(records: list[tuple[str, str, str, str]]) -> float:
    key = psi.new_key()
    items = [b for _, m, s, _ in records for b in (record_identifiers(m, s).make_serial,)]
    items += [record_identifiers(m, s).serial_only for _, m, s, _ in records]
    return timed(lambda: psi.server_setup(key, items, fpr=1e-9, num_client_inputs=2))


def run(records: int, iterations: int, network: Path | None = None) -> dict[str, object]:
    results: dict[str, object] = {"records": records, "iterations": iterations}
    results["load_before"] = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fedlookup-bench-") as tmp:
        started = time.perf_counter()
        reused = network is not None and (network / "bench-records.txt").exists()
        net, regs = build(network or Path(tmp), records)
        results["build_s"] = time.perf_counter() - started
        results["reused"] = reused
        config = net.nodes[ASKER].config()
        with NodeProcesses() as nodes:
            nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
            endpoints = {c: p.endpoint for c, p in nodes.nodes.items()}
            publish_directory(net, endpoints, version=int(time.time()))  # grows across runs
            rng = random.Random(1)
            with open_hit_check(config, timeout=30, sync_timeout=300) as check:
                sync = timed(lambda: [check.mirrors.refresh(p, timeout=30, sync_timeout=300)
                                      for p in check.peers])  # fmt: skip
                results["mirror_sync_ms"] = sync
            for n in FANOUTS:
                peers = list(PEERS[:n])
                pids = [nodes.nodes[c].process.pid for c in peers]
                # Warm checks, batched and per peer (the flow before group commit) taking
                # turns, so both see the same load: wall time, the asking process's CPU time
                # and the answering processes' CPU time, per check.
                warm: dict[bool, list[float]] = {True: [], False: []}
                cpu: dict[bool, float] = {True: 0.0, False: 0.0}
                served: dict[bool, float] = {True: 0.0, False: 0.0}
                with open_hit_check(config, peers=peers, timeout=30) as check:
                    for i in range(2 * iterations + 6):
                        check.batched = i % 2 == 0
                        _, make, serial, _ = rng.choice(regs[rng.choice(peers)])
                        one = [item(make, serial)]
                        before, cpu_before = server_cpu_ms(pids), time.process_time()
                        wall = timed(lambda: check.run(one, CONTEXT))  # noqa: B023
                        if i >= 6:  # after the warm-up
                            cpu[check.batched] += (time.process_time() - cpu_before) * 1000
                            served[check.batched] += server_cpu_ms(pids) - before
                            warm[check.batched].append(wall)
                cold: list[float] = []
                for _ in range(max(10, iterations // 3)):
                    _, make, serial, _ = rng.choice(regs[rng.choice(peers)])

                    def once() -> None:
                        with open_hit_check(config, peers=peers, timeout=30) as c:  # noqa: B023
                            c.run([item(make, serial)], CONTEXT)  # noqa: B023

                    cold.append(timed(once))
                results[f"single_{n}"] = {
                    "warm_p50": pct(warm[True], 0.5), "warm_p95": pct(warm[True], 0.95),
                    "cold_p50": pct(cold, 0.5), "cold_p95": pct(cold, 0.95),
                    "client_cpu": cpu[True] / iterations,
                    "server_cpu": served[True] / iterations,
                    "before_p50": pct(warm[False], 0.5), "before_p95": pct(warm[False], 0.95),
                    "before_client_cpu": cpu[False] / iterations,
                    "before_server_cpu": served[False] / iterations,
                }  # fmt: skip
                print(f"  {n} peers: {results[f'single_{n}']}")
            batch = [item(m, s) for _, m, s, _ in rng.sample(regs[PEERS[0]], min(50, records))]
            rest = min(1000 - len(batch), records)
            batch += [item(m, s) for _, m, s, _ in rng.sample(regs[ASKER], rest)]
            with open_hit_check(config, peers=list(PEERS[:5]), timeout=60) as check:
                runs = [timed(lambda: check.run(batch, CONTEXT)) for _ in range(3)]
            results["batch_1000_5_ms"] = statistics.median(runs)
            print(f"  batch: {runs}")
        results["load_after"] = os.getloadavg()[0]
        results["naive_setup_ms"] = naive_baseline(regs[PEERS[0]])
    return results


def table(r: dict[str, object]) -> str:
    rows, before = [], []
    base = r["single_1"]
    assert isinstance(base, dict)
    for n in FANOUTS:
        s = r[f"single_{n}"]
        assert isinstance(s, dict)
        rows.append(
            f"| {n} | {s['warm_p50']:.1f} | {s['warm_p95']:.1f} | "
            f"{s['warm_p50'] / base['warm_p50']:.2f}x | {s['client_cpu']:.1f} | "
            f"{s['server_cpu']:.1f} | {s['cold_p50']:.1f} | {s['cold_p95']:.1f} |"
        )
        before.append(
            f"| {n} | {s['before_p50']:.1f} | {s['before_p95']:.1f} | "
            f"{s['before_p50'] / base['before_p50']:.2f}x | {s['before_client_cpu']:.1f} | "
            f"{s['before_server_cpu']:.1f} |"
        )
    cores = os.cpu_count()
    batch = float(r["batch_1000_5_ms"])  # type: ignore[arg-type]
    return "\n".join(
        [
            BEGIN,
            "## Fan-out: one serial against 1, 5 and 10 peer nodes (bench/bench_fanout.py)",
            "",
            f"Command: `.venv/bin/python bench/bench_fanout.py --records {r['records']} "
            f"--iterations {r['iterations']} --write bench/RESULTS.md`",
            f"Machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}; "
            f"11 node processes (DE asks, 10 peers) on 127.0.0.1 over mutual TLS, "
            f"{r['records']:,} records per peer (each index built, none copied; "
            + (
                "built by an earlier run with the same --network folder), "
                if r.get("reused")
                else f"set-up {float(r['build_s']):.0f} s), "  # type: ignore[arg-type]
            )
            + "mirrors synced first "
            f"({float(r['mirror_sync_ms']) / 1000:.1f} s for all ten).",  # type: ignore[arg-type]
            f"Load average (1 min): {float(r['load_before']):.1f} at the start, "  # type: ignore[arg-type]
            f"{float(r['load_after']):.1f} after the timed part; on 2 cores, other work "  # type: ignore[arg-type]
            "on the machine inflates every figure.",
            "",
            "| peers | warm p50 ms | warm p95 ms | p50 vs 1 peer | asker CPU ms/check "
            "| peers' CPU ms/check | cold p50 ms | cold p95 ms |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Baseline in the same run, checks taking turns with the ones above: the same "
            "client with batching off (each peer signed, logged, hashed and recorded on its "
            "own: two log fsyncs and one openings fsync per peer, the flow before group "
            "commit).",
            "",
            "| peers | warm p50 ms | warm p95 ms | p50 vs 1 peer | asker CPU ms/check "
            "| peers' CPU ms/check |",
            "|---|---|---|---|---|---|",
            *before,
            "",
            "warm: one client kept open (channels reused); asker CPU: CPU time of the asking "
            "process per warm check (all its threads); peers' CPU: CPU time of the answering "
            "node processes per check, all peers together (from /proc, 10 ms ticks, summed "
            "over the run); cold: a new client per check (TLS handshakes, directory, audit "
            "log): one `fedlookup check` minus interpreter start.",
            "",
            f"Batch of 1,000 serials against 5 peers (one request of 2,000 items per peer): median "
            f"**{batch / 1000:.2f} s**, {batch / 1000:.2f} ms per serial for all five peers.",
            "",
            f"Baseline (same run): the naive openmined flow builds a ServerSetup over one peer's "
            f"{r['records']:,} records per query: **{float(r['naive_setup_ms']) / 1000:.1f} s** "  # type: ignore[arg-type]
            "before the first byte of an answer.",
            END,
        ]
    )


def write(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--write", type=Path, help="update this RESULTS.md section")
    parser.add_argument(
        "--network", type=Path, help="build the network here once and reuse it in later runs"
    )
    args = parser.parse_args()
    results = run(args.records, args.iterations, args.network)
    section = table(results)
    print(section)
    if args.write:
        write(args.write, section)


if __name__ == "__main__":
    main()
