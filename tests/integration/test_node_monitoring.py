"""A serving node's monitoring endpoint: real health, state metrics, peer reachability."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from node.config import NodeConfig
from node.demo.setup import create_network, index_records
from node.serve.service import serving

pytestmark = pytest.mark.integration

RECORDS = [(f"DE-{i}", "Glock", f"DE{i:07d}", "stolen") for i in range(50)]


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_health_follows_the_index_and_metrics_describe_the_node(tmp_path: Path) -> None:
    net = create_network(tmp_path / "net", ["DE", "FR"])
    de = net.nodes["DE"]
    env = {
        "FEDLOOKUP_METRICS_LISTEN": "127.0.0.1:0",
        "FEDLOOKUP_METRICS_PEER_PROBE_INTERVAL_S": "0.3",
    }
    cfg = NodeConfig.from_toml(de.config_path, env=env)
    with serving(cfg) as node:
        port = node.metrics_port
        assert port
        code, body = _get(port, "/healthz")
        assert code == 503
        assert "no index served yet" in body
        index_records(de, RECORDS, workers=1)
        _until(lambda: _get(port, "/healthz")[0] == 200)
        assert _get(port, "/healthz")[1] == "ok\n"
        assert _get(port, "/nothing")[0] == 404
        # FR was never started: the probe says so (its endpoint is a closed placeholder).
        _until(lambda: 'fedlookup_peer_up{peer="FR"} 0.0' in _get(port, "/metrics")[1])
        _, text = _get(port, "/metrics")
    for family in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "fedlookup_build_info{",
        "fedlookup_certificate_expiry_timestamp_seconds ",
        "fedlookup_crl_next_update_timestamp_seconds ",
        "fedlookup_directory_version 1.0",
        "fedlookup_directory_issued_timestamp_seconds ",
        "fedlookup_index_version 1.0",
        "fedlookup_healthy 1.0",
        'fedlookup_peer_probe_timestamp_seconds{peer="FR"}',
    ):
        assert family in text, family
    assert 'peer="DE"' not in text  # a node does not probe itself


def test_an_expired_crl_makes_the_node_unhealthy(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from node.serve.monitoring import health_problems

    net = create_network(tmp_path / "net", ["DE"])
    cfg = net.nodes["DE"].config()
    assert health_problems(cfg, True) == []
    later = datetime.now(UTC) + timedelta(days=60)
    problems = health_problems(cfg, True, now=later)
    assert any("CRL is past its next update" in p for p in problems)
    assert any("certificate expired" in p for p in problems)
    assert health_problems(cfg, False)[0].startswith("no index served yet")
