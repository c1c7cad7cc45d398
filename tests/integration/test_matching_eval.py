"""The matching evaluation set, end to end: ``registry import``, ``node index``, ``check``.

FR's registry holds the stored side of every pair (``tests/data/matching/pairs.csv``),
imported from CSV through the CLI (placeholder rows land in the rejects file) and indexed
through the CLI under identifier rules v2; FR serves from its own process over mutual TLS;
DE checks the typed side of every pair in one ``check --file ... --json`` run. Serials are
unique per pair, so any match a check reports belongs to its own pair. The figures are the
ones in ``docs/identifiers.md``.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
from matching_eval import load_pairs, score, table

from node.demo.network import NodeProcesses, fedlookup_command
from node.demo.setup import create_network, publish_directory

pytestmark = pytest.mark.integration


def _run(args: list[str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*fedlookup_command(), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode in ok, result.stderr
    return result


def test_evaluation_set_end_to_end(tmp_path: Path) -> None:
    pairs = load_pairs()
    assert len(pairs) >= 300
    net = create_network(tmp_path / "net", ["DE", "FR"], identifiers="v2")
    stored = tmp_path / "stored.csv"
    with stored.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["record_id", "make", "model", "caliber", "serial", "category",
                      "recorded_at"])  # fmt: skip
        for p in pairs:
            out.writerow([p.pair, p.stored_make, "-", "-", p.stored_serial, "stolen", "2024-01-01"])
    fr = str(net.nodes["FR"].config_path)
    imported = _run(["registry", "import", str(stored), "--config", fr, "--json"], ok=(0, 1))
    summary = json.loads(imported.stdout)
    with Path(f"{stored}.rejects.csv").open(encoding="utf-8", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    rejected = {r["record_id"] for r in rejects}
    placeholder_ids = {p.pair for p in pairs if p.category == "placeholder"}
    # Every stored placeholder is refused with its reason, and nothing else is.
    assert rejected == placeholder_ids, sorted(rejected ^ placeholder_ids)
    assert summary["rejected"] == len(placeholder_ids)
    assert all(r["field"] == "serial" and r["reason"] for r in rejects)
    by_id = {p.pair: p for p in pairs}
    for r in rejects:  # a reason never repeats the serial (longer ones could not be a word)
        serial = by_id[r["record_id"]].stored_serial
        assert len(serial) < 6 or serial.lower() not in r["reason"].lower(), r
    _run(["node", "index", "--config", fr, "--workers", "1", "--json"])

    typed = tmp_path / "typed.csv"
    with typed.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["make", "serial"])
        out.writerows([p.typed_make, p.typed_serial] for p in pairs)
    with NodeProcesses() as nodes:
        nodes.start("FR", net.nodes["FR"].config_path)
        publish_directory(net, {"FR": nodes.nodes["FR"].endpoint}, version=2)
        de = str(net.nodes["DE"].config_path)
        checked = _run(
            ["check", "--config", de, "--file", str(typed), "--case", "EVAL-1",
             "--purpose", "matching evaluation", "--json"],
            ok=(1,),  # exit 1: some firearms (the placeholders) were not checked
        )  # fmt: skip
    doc = json.loads(checked.stdout)
    results = doc["results"]
    assert len(results) == len(pairs)
    outcomes = [r["countries"]["FR"]["outcome"] for r in results]
    # A typed placeholder is never sent: this node refuses it, naming the line and reason.
    for p, r in zip(pairs, results, strict=True):
        if p.category == "placeholder":
            assert r["countries"]["FR"]["outcome"] == "not-checked", (p, r)
            assert r["refused"].startswith("line ")
    scores = score(pairs, outcomes)
    print(table(scores))  # the table in docs/identifiers.md
    total = scores["all"].row()
    assert scores["all"].placeholder_false_hits == 0
    assert scores["placeholder"].answered == 0
    assert (total["found_recall"] or 0.0) >= 0.97
    assert (total["hit_recall"] or 0.0) >= 0.85
    assert (total["precision"] or 0.0) >= 0.99
    # Quotas count every item honestly: FR charged DE exactly the items the check reports
    # (make+serial when the make is known, serial-only, and each serial variant).
    sent = sum(r["items"] for r in results)
    status = json.loads(_run(["node", "status", "--config", fr, "--json"]).stdout)
    assert status["quotas_today"] == {"DE": sent}
    assert sent > len(pairs) - len(placeholder_ids)  # variants and makes cost items
    assert "warning:" in checked.stderr
    assert "make: unknown" in checked.stderr
