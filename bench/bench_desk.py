"""The desk's HTTP API against the one-shot CLI, in the same run, with 2 peers on loopback.

DE asks FR and NL (20,000 records each, separate node processes, mTLS). Measured:

* a single-firearm check through ``POST /api/v1/checks`` (bearer token, synchronous
  answer): p50 and p99 over ``--singles`` checks, after one warm-up check;
* the same check as ``fedlookup check --json`` (a new process each time, what an
  investigator's shell script pays): p50 and p99 over ``--cli-runs`` runs (the desk is
  stopped for these, since it owns the outgoing log);
* a 1,000-firearm batch through the API and through the CLI (``--file``), best of 3 each.

Run: ``.venv/bin/python bench/bench_desk.py`` (about two minutes on two cores).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from node.demo.network import NodeProcesses, fedlookup_command
from node.demo.setup import create_network, index_records, publish_directory
from node.desk.accounts import add_token
from node.desk.db import DeskDatabase
from node.desk.process import DeskProcess
from node.desk.settings import DeskSettings

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _records(code: str, n: int) -> list[tuple[str, str, str, str]]:
    import random

    rng = random.Random(code)
    return [(f"{code}-{i}", rng.choice(("Glock", "Beretta", "CZ")),
             code + "".join(rng.choices(ALPHABET, k=8)), "stolen") for i in range(n)]  # fmt: skip


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--cli-runs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    net = create_network(root, ["DE", "FR", "NL"])
    regs = {c: _records(c, args.records) for c in ("DE", "FR", "NL")}
    for country, records in regs.items():
        index_records(net.nodes[country], records)
    de = net.nodes["DE"]
    with de.config_path.open("a") as f:
        f.write('\n[desk]\nlisten = "127.0.0.1:0"\nitems_per_day = 1000000\n'
                "approval_above = 100000\nsync_wait_s = 600\n")  # fmt: skip
    settings = DeskSettings.from_toml(de.config_path, de.config().node.data_dir, env={})
    db = DeskDatabase(settings.database)
    with db.session() as s:
        token = add_token(s, "bench", "investigator")
    db.close()
    single = {"case": "BENCH", "purpose": "benchmark",
              "firearms": [{"make": regs["FR"][0][1], "serial": regs["FR"][0][2]}]}  # fmt: skip
    batch_rows = [(m, s) for _, m, s, _ in regs["FR"][: args.batch // 2]]
    batch_rows += [(m, s) for _, m, s, _ in regs["DE"][: args.batch - len(batch_rows)]]
    batch = {"case": "BENCH", "purpose": "benchmark",
             "firearms": [{"make": m, "serial": s} for m, s in batch_rows]}  # fmt: skip
    batch_csv = root / "batch.csv"
    with batch_csv.open("w", newline="") as f:
        csv.writer(f).writerows([("make", "serial"), *batch_rows])
    cli = [*fedlookup_command(), "check", "--config", str(de.config_path), "--case", "BENCH",
           "--purpose", "benchmark", "--json"]  # fmt: skip
    rows: list[tuple[str, str]] = []
    with NodeProcesses() as nodes:
        nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
        publish_directory(net, {c: p.endpoint for c, p in nodes.nodes.items()}, version=2)
        with DeskProcess(de.config_path) as desk:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=desk.url, headers=headers, timeout=600) as api:
                api.post("/api/v1/checks", json=single).raise_for_status()  # mirrors, warm-up
                lat = []
                for _ in range(args.singles):
                    t = time.perf_counter()
                    api.post("/api/v1/checks", json=single).raise_for_status()
                    lat.append((time.perf_counter() - t) * 1000)
                api_batch = []
                for _ in range(3):
                    t = time.perf_counter()
                    r = api.post("/api/v1/checks", json=batch)
                    r.raise_for_status()
                    assert r.json()["summary"]["hit"] >= args.batch // 2, r.text[:300]
                    api_batch.append(time.perf_counter() - t)
        serial = ["--make", single["firearms"][0]["make"], "--serial",  # type: ignore[index]
                  single["firearms"][0]["serial"]]  # type: ignore[index]  # fmt: skip
        cli_lat = []
        for _ in range(args.cli_runs):
            t = time.perf_counter()
            subprocess.run([*cli, *serial], check=True, capture_output=True)
            cli_lat.append((time.perf_counter() - t) * 1000)
        cli_batch = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([*cli, "--file", str(batch_csv)], check=True, capture_output=True)
            cli_batch.append(time.perf_counter() - t)
    for name, values in (("API", lat), ("one-shot CLI", cli_lat)):
        figures = f"{statistics.median(values):.1f} / {_pct(values, 99):.1f} (n={len(values)})"
        rows.append((f"single firearm, {name} (p50 / p99 ms)", figures))
    rows.append((f"{args.batch}-firearm batch, API (best of 3, s)", f"{min(api_batch):.2f}"))
    rows.append((f"{args.batch}-firearm batch, CLI (best of 3, s)", f"{min(cli_batch):.2f}"))
    rows.append(("batch API / CLI", f"{min(api_batch) / min(cli_batch):.2f}x"))
    print("| measure | value |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
