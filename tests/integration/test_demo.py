"""``fedlookup demo`` end to end, as a new user runs it, and a kept network run again."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest

from node.demo.network import NodeProcesses, fedlookup_command

pytestmark = pytest.mark.integration


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fedlookup_command(), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )


def test_demo_finds_every_planted_overlap_and_verifies_every_log(tmp_path: Path) -> None:
    kept = tmp_path / "net"
    done = _run("demo", "--records", "2000", "--batch", "200", "--keep", str(kept))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    found = re.search(r"overlaps found as hits: (\d+)/(\d+)", out)
    assert found is not None
    assert found.group(1) == found.group(2) != "0"
    loose = re.search(r"serial-only plantings found:\s+(\d+)/(\d+)", out)
    assert loose is not None
    assert loose.group(1) == loose.group(2)
    assert "INVALID" not in out
    assert "INCONSISTENT" not in out
    assert out.count("consistent") == 2  # DE outgoing against FR and against NL
    assert "all planted overlaps found, all audit logs valid" in out
    metrics_urls = re.findall(r"http://127\.0\.0\.1:\d+/metrics", out)
    assert len(metrics_urls) == 3  # the demo says how to reach each node's metrics
    # The asking country's desk ran, with a demo login, and answered a check through its API.
    assert re.search(r"Desk serving at http://127\.0\.0\.1:\d+", out)
    assert re.search(r"Demo login: demo / \S{12,} \(investigator\)", out)
    assert re.search(r"POST /api/v1/checks .* -> FR: hit, NL: no-hit", out)
    assert "fedlookup desk serve --config de/node.toml" in out
    # One follow-up released: make, model and category of FR's record, logged at both ends.
    assert re.search(r"POST /api/v1/follow-ups FR-[0-9A-F-]{19} -> FR's liaison officer "
                     r"released \{'make': '[^']+', 'model': '[^']*', 'category': '\w+'\} "
                     r"\(released\)", out)  # fmt: skip
    for country in ("de", "fr", "nl"):
        assert (kept / country / "node.toml").is_file()
        assert (kept / "audit-exports" / country / "checkpoint").is_file()

    # The kept network runs again with the printed commands.
    with (kept / "registries" / "fr.csv.overlap.csv").open(encoding="utf-8") as fh:
        planted = next(r for r in csv.DictReader(fh) if r["kind"] == "make_serial")
    with NodeProcesses() as nodes:
        nodes.start_all({c: kept / c.lower() / "node.toml" for c in ("DE", "FR", "NL")})
        listen = tomllib.loads((kept / "de" / "node.toml").read_text())["metrics"]["listen"]
        with urllib.request.urlopen(f"http://{listen}/healthz", timeout=10) as reply:
            assert reply.read() == b"ok\n"
        again = _run(
            "check", "--config", "de/node.toml", "--make", planted["source_make"],
            "--serial", planted["source_serial"], "--case", "C-9", "--purpose", "rerun",
            "--json", cwd=kept,
        )  # fmt: skip
    assert again.returncode == 0, again.stderr
    fr = json.loads(again.stdout)["results"][0]["countries"]["FR"]
    assert (fr["outcome"], fr["matches"][0]["category"]) == ("hit", planted["planted_category"])
