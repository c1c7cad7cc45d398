"""The monitoring files in docker/: alert rules that load and fire, a dashboard that parses.

``promtool`` (Debian package ``prometheus``; .ci/run installs it when missing) checks the
scrape configuration and the rules and runs the rules' unit tests (alerts-test.yml). On a
machine without it those tests skip with a reason; in CI (``CI=true``) they fail instead.
Every metric the rules and the dashboard name must be one a node exports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROM = ROOT / "docker" / "prometheus"
DASHBOARD = ROOT / "docker" / "grafana" / "fedlookup-node.json"
PROMTOOL = shutil.which("promtool")
METRIC = re.compile(r"\b((?:fedlookup|process)_[a-z_]+)")
# Suffixes Prometheus adds to counters, histograms and info metrics.
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_info")


def _promtool(*args: str) -> str:
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI (.ci/run installs Debian's prometheus)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    done = subprocess.run(
        [PROMTOOL, *args], cwd=PROM, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_scrape_config_and_its_rules_load() -> None:
    out = _promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in out


def test_the_rules_fire_on_their_unit_tests() -> None:
    _promtool("check", "rules", "alerts.yml")
    _promtool("test", "rules", "alerts-test.yml")


def _exported() -> set[str]:
    """Metric family names the node code registers (base names, without suffixes)."""
    names: set[str] = set()
    for path in (ROOT / "node").rglob("*.py"):
        names |= set(re.findall(r'"(fedlookup_[a-z_]+)"', path.read_text(encoding="utf-8")))
    return names


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@pytest.mark.parametrize(
    "path", [PROM / "alerts.yml", DASHBOARD], ids=["alerts.yml", "fedlookup-node.json"]
)
def test_every_metric_named_is_exported_by_a_node(path: Path) -> None:
    named = set(METRIC.findall(path.read_text(encoding="utf-8")))
    assert named, "no metric found: the pattern is wrong"
    exported = _exported()
    for name in sorted(named):
        if name.startswith("process_"):
            continue  # prometheus_client's process collector (node.serve.monitoring installs it)
        assert _base(name) in exported or name in exported, f"{path.name} names {name}"


def test_the_dashboard_is_grafana_json_with_a_query_per_panel() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert doc["uid"] == "fedlookup-node"
    assert doc["panels"]
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["datasource"]["uid"] == "${datasource}"
