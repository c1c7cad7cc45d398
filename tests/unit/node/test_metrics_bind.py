"""The metrics endpoint shows per-peer query volumes: plain HTTP on loopback only, HTTPS
anywhere else (a client certificate from the monitoring CA when ``client_ca`` is set, a
WARNING when not); the shipped Docker configurations bind it to loopback."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

from node.config_fields import is_loopback_host as _loopback
from node.serve.metrics import NodeMetrics
from node.serve.metrics_http import serve_monitoring

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("metrics.example", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert _loopback(host) is loopback


def test_a_loopback_bind_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup.node.metrics")
    endpoint = serve_monitoring(NodeMetrics().registry, "127.0.0.1:0", list)
    try:
        assert endpoint.port > 0
    finally:
        endpoint.stop()
    assert not [r for r in caplog.records if getattr(r, "event", "") == "metrics_exposed"]


@pytest.mark.parametrize("config", sorted((ROOT / "docker" / "config").glob("*.toml")))
def test_docker_configs_keep_metrics_on_loopback(config: Path) -> None:
    listen = tomllib.loads(config.read_text(encoding="utf-8"))["metrics"]["listen"]
    assert _loopback(listen.rpartition(":")[0]), f"{config.name}: metrics.listen = {listen}"
