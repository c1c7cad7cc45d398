"""The compose topology of docker/ (DE, FR, NL; FR on PostgreSQL) as processes on loopback.

Same configuration files, same PKI job, same health check as the containers
(see ``docker_topology``): every node starts, reports SERVING through the container health
check, answers a hit check from DE over mutual TLS, and exposes its metrics.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker_topology import DOCKER, LoopbackNode, compose_nodes, lay_out, running

pytestmark = pytest.mark.integration

RECORDS = 300  # per country: enough for hits and misses, small enough to index in seconds


@dataclass
class Topology:
    nodes: Mapping[str, LoopbackNode]
    records: Mapping[str, list[dict[str, str]]]


@pytest.fixture
def topology(tmp_path: Path, postgres_schema: str) -> Iterator[Topology]:
    nodes = lay_out(tmp_path, postgres_url=postgres_schema)
    records = {cc: node.seed(tmp_path, RECORDS) for cc, node in nodes.items()}
    with running(nodes):
        yield Topology(nodes, records)


def test_the_topology_is_the_compose_file() -> None:
    specs = compose_nodes()
    assert [s.name for s in specs] == ["de", "fr", "nl"]
    for spec in specs:
        assert {"node.key", "node.pem", "audit.key"} <= set(spec.secrets)
        assert spec.config == (DOCKER / "config" / f"{spec.name}.toml").resolve()


@pytest.mark.postgres
def test_three_nodes_serve_and_answer_a_check_from_de(topology: Topology) -> None:
    for node in topology.nodes.values():
        assert node.wait_healthy() == "SERVING"

    fr_record = topology.records["FR"][0]
    de = topology.nodes["DE"]
    out = de.run(
        "check",
        "--config",
        str(de.config),
        "--make",
        fr_record["make"],
        "--serial",
        fr_record["serial"],
        "--case",
        "CASE-TOPOLOGY",
        "--purpose",
        "loopback topology test",
        "--json",
        timeout=60,
    )
    report = json.loads(out)
    assert report["complete"] is True
    assert set(report["peers"]) == {"FR", "NL"}
    assert all(p["status"] == "answered" for p in report["peers"].values())
    countries = report["results"][0]["countries"]
    assert countries["FR"]["outcome"] == "hit"
    assert countries["NL"]["outcome"] == "no-hit"

    # Every node still healthy after the check; FR counted what it evaluated for DE.
    for node in topology.nodes.values():
        assert node.healthcheck().returncode == 0
    fr = topology.nodes["FR"]
    with urllib.request.urlopen(f"http://127.0.0.1:{fr.metrics_port}/metrics", timeout=5) as r:
        metrics = r.read().decode()
    assert 'fedlookup_items_evaluated_total{peer="DE"}' in metrics
