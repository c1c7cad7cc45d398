"""The metrics endpoint off loopback: HTTPS, with the scraper's certificate from the
monitoring system's own CA when ``client_ca`` is set; the configuration refuses plain HTTP
there and the federation CA as the scrapers' CA."""

from __future__ import annotations

import logging
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedlookup.errors import ConfigError
from node.config import MetricsConfig, NodeConfig
from node.serve import metrics_http
from node.serve.metrics import NodeMetrics
from node.serve.metrics_http import monitoring_tls, serve_monitoring
from tests.pki_fixtures import TestPKI


def _config(tmp_path: Path, test_pki: TestPKI, **metrics: str) -> NodeConfig:
    de = test_pki.nodes["DE"]
    raw: dict[str, Any] = {
        "node": {"country": "DE"},
        "registry": {"url": "sqlite:///registry.db"},
        "tls": {
            "ca": str(test_pki.ca.cert_path),
            "cert": str(de.cert_path),
            "key": str(de.key_path),
            "crl": str(test_pki.ca.crl_path),
        },
        "directory": {"path": str(test_pki.directory_path)},
        "audit": {"key": str(test_pki.audit_key_paths["DE"])},
        "metrics": metrics,
    }
    return NodeConfig.from_mapping(raw, base=tmp_path, source="node.toml", env={})


@pytest.mark.parametrize(
    ("metrics", "field", "says"),
    [
        ({"listen": "0.0.0.0:9464"}, "metrics.listen", "is not loopback"),
        ({"listen": "[::]:9464"}, "metrics.listen", "must be HTTPS"),
        ({"listen": "metrics.example:9464"}, "metrics.listen", "is not loopback"),
        ({"listen": "127.0.0.1:9464", "tls_cert": "a.pem"}, "metrics.tls_key", "go together"),
        ({"listen": "127.0.0.1:9464", "client_ca": "ca.pem"}, "metrics.client_ca", "needs"),
    ],
)
def test_the_configuration_refuses_what_would_expose_the_endpoint(
    tmp_path: Path, test_pki: TestPKI, metrics: dict[str, str], field: str, says: str
) -> None:
    with pytest.raises(ConfigError, match=says) as info:
        _config(tmp_path, test_pki, **metrics)
    assert info.value.field == field
    assert info.value.source == "node.toml"


def test_the_federation_ca_is_refused_as_the_scrapers_ca(tmp_path: Path, test_pki: TestPKI) -> None:
    copy = tmp_path / "monitoring-ca.pem"
    shutil.copy(test_pki.ca.cert_path, copy)  # same roots under another name
    de = test_pki.nodes["DE"]
    with pytest.raises(ConfigError, match="every member could scrape") as info:
        _config(
            tmp_path, test_pki, listen="0.0.0.0:9464", tls_cert=str(de.cert_path),
            tls_key=str(de.key_path), client_ca=str(copy),
        )  # fmt: skip
    assert info.value.field == "metrics.client_ca"


def test_https_off_loopback_is_accepted(tmp_path: Path, test_pki: TestPKI) -> None:
    de = test_pki.nodes["DE"]
    cfg = _config(
        tmp_path, test_pki, listen="0.0.0.0:9464", tls_cert=str(de.cert_path),
        tls_key=str(de.key_path), client_ca=str(test_pki.other_ca.cert_path),
    )  # fmt: skip
    assert cfg.metrics.client_ca == test_pki.other_ca.cert_path


def test_an_unreadable_certificate_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.pem"
    with pytest.raises(ConfigError, match=r"none\.pem") as info:
        monitoring_tls(MetricsConfig(listen="127.0.0.1:0", tls_cert=missing, tls_key=missing))
    assert info.value.field == "metrics.tls_cert"


@pytest.fixture
def https(test_pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The endpoint as it runs off loopback (HTTPS, scrapers from ``other_ca``), bound to
    127.0.0.1 with the loopback test told otherwise (tests never bind anything else)."""
    de = test_pki.nodes["DE"]
    tls = monitoring_tls(
        MetricsConfig(tls_cert=de.cert_path, tls_key=de.key_path,
                      client_ca=test_pki.other_ca.cert_path)
    )  # fmt: skip
    monkeypatch.setattr(metrics_http, "is_loopback_host", lambda host: False)
    endpoint = serve_monitoring(NodeMetrics().registry, "127.0.0.1:0", list, tls)
    try:
        yield endpoint.port
    finally:
        endpoint.stop()


def _get(url: str, context: ssl.SSLContext | None = None) -> str:
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        return str(response.read().decode())


def _scraper(test_pki: TestPKI, *, cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(test_pki.ca.cert_path))
    if cert:
        scraper = test_pki.bad["other_ca"]  # issued by the monitoring (other) CA
        ctx.load_cert_chain(scraper.cert_path, scraper.key_path)
    return ctx


def test_a_scraper_with_the_monitoring_cas_certificate_reads_metrics(
    https: int, test_pki: TestPKI
) -> None:
    body = _get(f"https://127.0.0.1:{https}/metrics", _scraper(test_pki, cert=True))
    assert "fedlookup_" in body


def test_a_client_without_a_certificate_is_refused_and_logged(
    https: int, test_pki: TestPKI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup.node.metrics")
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        _get(f"https://127.0.0.1:{https}/metrics", _scraper(test_pki, cert=False))
    for _ in range(50):
        refused = [r for r in caplog.records if getattr(r, "event", "") == "metrics_refused"]
        if refused:
            break
        time.sleep(0.1)
    assert refused
    assert str(getattr(refused[0], "address", "")).startswith("127.0.0.1:")


def test_plain_http_gets_nothing(https: int) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(f"http://127.0.0.1:{https}/metrics")


def test_plain_http_off_loopback_is_never_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_http, "is_loopback_host", lambda host: False)
    with pytest.raises(ValueError, match="not loopback and not HTTPS"):
        serve_monitoring(NodeMetrics().registry, "127.0.0.1:0", list)


def test_https_without_client_ca_off_loopback_warns(
    test_pki: TestPKI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup.node.metrics")
    de = test_pki.nodes["DE"]
    tls = monitoring_tls(MetricsConfig(tls_cert=de.cert_path, tls_key=de.key_path))
    monkeypatch.setattr(metrics_http, "is_loopback_host", lambda host: False)
    endpoint = serve_monitoring(NodeMetrics().registry, "127.0.0.1:0", list, tls)
    endpoint.stop()
    assert [r for r in caplog.records if getattr(r, "event", "") == "metrics_exposed"]
