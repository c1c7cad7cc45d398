"""The operator's bulk update of issue 14 as a run with figures: :func:`bulk_update_run`.

Used by ``tests/integration/test_index_bulk_update.py`` (at a size CI affords) and by
``python scripts/reliability.py bulk-update`` (the 100,000-record run of
``docs/reliability.md``). Every step is a ``fedlookup`` command an operator runs:

1. ``fedlookup demo --keep NET`` (three countries, nodes stopped at the end);
2. the nodes are started again; a check from DE of the probe set (new and changed records)
   must not find them all yet;
3. ``fedlookup registry generate --country NL --records N --seed 7``, record ids rewritten as
   the issue's ``sed -e '2,$s/^NL-/NL-D/'`` does (only additions), plus some existing NL
   records with their category changed, imported in one ``fedlookup registry import``;
4. ``fedlookup node index`` on the serving NL node, then a check from DE;
5. ``fedlookup node index --full``, then a check;
6. the index folder moved aside and ``fedlookup node index`` run again, then a check.

After steps 4 to 6, every probe must be a hit at NL carrying its current category.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from fedlookup.errors import InputError
from node.demo.network import NodeProcesses, fedlookup_command
from registry_adapter.identifiers import record_identifiers

__all__ = ["bulk_update_run"]

_ENV = {"COLUMNS": "120", "PATH": "/usr/bin:/bin"}


def _run(*args: str, cwd: Path, timeout: float = 3600) -> tuple[str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [*fedlookup_command(), *args], capture_output=True, text=True, timeout=timeout,
        cwd=cwd, env=_ENV, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout, time.monotonic() - started


def _indexable(row: dict[str, str]) -> bool:
    try:
        record_identifiers(row["make"], row["serial"])
    except InputError:
        return False
    return True


def _check(net: Path, rows: list[dict[str, str]]) -> dict[str, Any]:
    """``fedlookup check`` from DE of ``rows``; returns NL's figures and the missed probes."""
    with (net / "probe.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["make", "serial"])
        writer.writeheader()
        writer.writerows({"make": r["make"], "serial": r["serial"]} for r in rows)
    done = subprocess.run(
        [*fedlookup_command(), "check", "--config", "de/node.toml", "--file", "probe.csv",
         "--case", "C-14", "--purpose", "bulk update", "--json"],
        capture_output=True, text=True, timeout=600, cwd=net, env=_ENV, check=False,
    )  # fmt: skip
    if not done.stdout:
        raise AssertionError(done.stderr[-2000:])
    report = json.loads(done.stdout)
    missed = []
    for row, result in zip(rows, report["results"], strict=True):
        nl = result["countries"]["NL"]
        categories = {m["category"] for m in nl.get("matches", [])}
        if nl["outcome"] != "hit" or row["category"] not in categories:
            missed.append(row["record_id"])
    peer = report["peers"]["NL"]
    return {
        "sync": peer["sync"],
        "index_version": peer["index_version"],
        "found": len(rows) - len(missed),
        "probes": len(rows),
        "missed": missed[:5],
    }


def _index(net: Path, *extra: str) -> dict[str, Any]:
    out, seconds = _run("node", "index", "--config", "nl/node.toml", "--json", *extra, cwd=net)
    doc: dict[str, Any] = json.loads(out)
    return {"seconds": round(seconds, 1), **{k: doc[k] for k in ("version", "size", "added")}}


def bulk_update_run(
    root: Path, *, records: int, growth: int, changed: int, probes: int = 40
) -> dict[str, Any]:
    """Run the scenario of the module docstring under ``root``; return its figures.

    Args:
        root: an empty folder (the network goes to ``root/net``).
        records: registry size per country in the demo.
        growth: records the bulk load adds to NL.
        changed: existing NL records whose category the same import changes.
        probes: new records checked from DE (plus every changed one, up to ``probes``).

    Raises:
        AssertionError: a command failed (its output is in the message).
    """
    net = root / "net"
    _run("demo", "--records", str(records), "--batch", "20", "--keep", str(net), cwd=root)
    _, generate_s = _run("registry", "generate", "--country", "NL", "--records", str(growth),
                         "--seed", "7", "--out", "h.csv", cwd=net)  # fmt: skip
    with (net / "h.csv").open(encoding="utf-8") as fh:
        new = list(csv.DictReader(fh))
    for row in new:  # sed -e '2,$s/^NL-/NL-D/': only additions
        row["record_id"] = "NL-D" + row["record_id"].removeprefix("NL-")
    with (net / "registries" / "nl.csv").open(encoding="utf-8") as fh:
        existing = [r for r in csv.DictReader(fh) if _indexable(r)][:changed]
    for row in existing:
        row["category"] = "destroyed" if row["category"] != "destroyed" else "found"
    with (net / "h2.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(new[0]))
        writer.writeheader()
        writer.writerows([*new, *existing])
    probe = [r for r in new if _indexable(r)][:probes] + existing[:probes]

    doc: dict[str, Any] = {"records_per_country": records, "growth": growth, "changed": changed}
    with NodeProcesses() as nodes:
        nodes.start_all({c: net / c.lower() / "node.toml" for c in ("DE", "FR", "NL")})
        doc["before"] = _check(net, probe)
        _, doc["import_s"] = _run("registry", "import", "h2.csv", "--config", "nl/node.toml",
                                  cwd=net)  # fmt: skip
        doc["update"] = _index(net)
        doc["update"]["check"] = _check(net, probe)
        doc["full"] = _index(net, "--full")
        doc["full"]["check"] = _check(net, probe)
        shutil.move(net / "nl" / "data" / "index", net / "nl" / "index.set-aside")
        doc["set_aside"] = _index(net)
        doc["set_aside"]["check"] = _check(net, probe)
    doc["generate_s"] = round(generate_s, 1)
    doc["import_s"] = round(doc["import_s"], 1)
    return doc
