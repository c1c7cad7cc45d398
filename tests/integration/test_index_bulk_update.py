"""The operator's bulk update of issue 14, end to end at a size CI affords.

A kept demo network; NL's registry grows by a bulk load (new record ids, the issue's
``sed`` rewrite) while some existing records change category in the same import; the
serving NL node is re-indexed in place, then with ``--full``, then from an index folder
set aside. After each step a check from DE finds every new record and every changed
category at NL, and DE's mirror takes the sync the step calls for.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fedlookup.errors import InputError
from node.demo_network import NodeProcesses, fedlookup_command
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

GROWTH = 3000  # new records in the bulk load (the run: 100,000, docs/reliability.md)
SAMPLE = 40


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*fedlookup_command(), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def _indexable(row: dict[str, str]) -> bool:
    try:
        record_identifiers(row["make"], row["serial"])
    except InputError:
        return False
    return True


def _check(net: Path, rows: list[dict[str, str]]) -> dict:
    path = net / "probe.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["make", "serial"])
        writer.writeheader()
        writer.writerows({"make": r["make"], "serial": r["serial"]} for r in rows)
    done = subprocess.run(
        [*fedlookup_command(), "check", "--config", "de/node.toml", "--file", "probe.csv",
         "--case", "C-14", "--purpose", "bulk update", "--json"],
        capture_output=True, text=True, timeout=300, cwd=net,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"}, check=False,
    )  # fmt: skip
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def _assert_found(report: dict, rows: list[dict[str, str]]) -> None:
    for row, result in zip(rows, report["results"], strict=True):
        nl = result["countries"]["NL"]
        assert nl["outcome"] == "hit", (row["record_id"], nl)
        assert row["category"] in {m["category"] for m in nl["matches"]}, (row, nl)


def test_bulk_update_then_full_then_set_aside_all_find_the_new_records(tmp_path: Path) -> None:
    net = tmp_path / "net"
    _run("demo", "--records", "500", "--batch", "20", "--keep", str(net), cwd=tmp_path)
    _run("registry", "generate", "--country", "NL", "--records", str(GROWTH), "--seed", "7",
         "--out", "h.csv", cwd=net)  # fmt: skip
    with (net / "h.csv").open(encoding="utf-8") as fh:
        new = list(csv.DictReader(fh))
    for row in new:  # sed -e '2,$s/^NL-/NL-D/': only additions
        row["record_id"] = "NL-D" + row["record_id"].removeprefix("NL-")
    with (net / "registries" / "nl.csv").open(encoding="utf-8") as fh:
        changed = [r for r in csv.DictReader(fh) if _indexable(r)][:SAMPLE]
    for row in changed:  # existing records updated in the same import
        row["category"] = "destroyed"
    with (net / "h2.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(new[0]))
        writer.writeheader()
        writer.writerows([*new, *changed])
    probe = [r for r in new if _indexable(r)][:SAMPLE] + changed

    with NodeProcesses() as nodes:
        nodes.start_all({c: net / c.lower() / "node.toml" for c in ("DE", "FR", "NL")})
        assert _check(net, probe)["summary"]["hit"] < len(probe)  # not there yet
        _run("registry", "import", "h2.csv", "--config", "nl/node.toml", cwd=net)
        update = json.loads(
            _run("node", "index", "--config", "nl/node.toml", "--json", cwd=net).stdout
        )
        assert update["added"] >= 2 * (GROWTH - 100)
        report = _check(net, probe)
        assert report["peers"]["NL"]["sync"] == "delta"
        assert report["peers"]["NL"]["index_version"] == update["version"]
        _assert_found(report, probe)

        full = json.loads(
            _run("node", "index", "--config", "nl/node.toml", "--full", "--json", cwd=net).stdout
        )
        assert full["size"] == update["size"]
        assert full["version"] > update["version"]
        report = _check(net, probe)
        assert report["peers"]["NL"]["sync"] == "full"
        _assert_found(report, probe)

        # The index folder set aside and built again: never a version DE already holds. The
        # serving node moves to the new store by itself.
        shutil.move(net / "nl" / "data" / "index", net / "nl" / "index.old")
        again = json.loads(
            _run("node", "index", "--config", "nl/node.toml", "--json", cwd=net).stdout
        )
        assert again["version"] > full["version"]
        report = _check(net, probe)
        assert report["peers"]["NL"]["sync"] == "full"
        _assert_found(report, probe)
