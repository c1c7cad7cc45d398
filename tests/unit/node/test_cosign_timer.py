"""When cosigning rounds run: the serving node's timer, and ``fedlookup node cosign``.

The round itself (peers over gRPC) is replaced by a recorder here; rounds between real
nodes are in ``tests/unit/federation/test_cosign.py`` and ``tests/integration``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pki_fixtures import TestPKI

from audit.keys import load_private_key
from audit.log import AuditLog
from federation.cosign import CosignResult
from federation.directory import load_directory
from fedlookup.errors import ConfigError, PeerUnavailableError
from node.config import NodeConfig
from node.serve import cosign_timer
from node.serve.cosign_timer import CosignTimer, cosign_now

RESULT = CosignResult("fedlookup/DE", "FR", "cosigned", 3, 200)


def make_config(tmp_path: Path, pki: TestPKI, interval: float) -> NodeConfig:
    raw = {
        "node": {"country": "DE", "data_dir": str(tmp_path / "data")},
        "registry": {"url": f"sqlite:///{tmp_path / 'registry.db'}"},
        "tls": {
            "ca": str(pki.ca.cert_path),
            "cert": str(pki.nodes["DE"].cert_path),
            "key": str(pki.nodes["DE"].key_path),
            "crl": str(pki.ca.crl_path),
        },
        "directory": {"path": str(pki.directory_path)},
        "audit": {"key": str(pki.audit_key_paths["DE"]), "cosign_interval_s": interval},
    }
    return NodeConfig.from_mapping(raw, base=tmp_path, env={})


class Recorder:
    """Stands in for ``node.serve.cosigning.run_round``."""

    def __init__(self, fail: bool = False) -> None:
        self.logs: list[AuditLog] = []
        self.fail = fail

    def __call__(self, config: NodeConfig, log: AuditLog, directory: Any, **kw: Any) -> Any:
        self.logs.append(log)
        if self.fail:
            raise ConfigError("node.country", "not in the directory")
        return [RESULT]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(cosign_timer, "run_round", rec)
    return rec


@pytest.fixture
def serving(tmp_path: Path, test_pki: TestPKI) -> Iterator[Callable[[float], Any]]:
    """Start a timer over a held node log, as ``node serve`` does."""
    started: list[tuple[CosignTimer, AuditLog]] = []

    def start(interval: float) -> tuple[NodeConfig, AuditLog]:
        config = make_config(tmp_path, test_pki, interval)
        key = load_private_key(config.audit.key)
        log = AuditLog.open(config.audit_dir, "fedlookup/DE", key, country="DE")
        directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
        timer = CosignTimer(config, log, lambda: directory)
        timer.start()
        started.append((timer, log))
        return config, log

    yield start
    for timer, log in started:
        timer.stop()
        log.close()


def test_the_serving_node_runs_the_requested_round(serving: Any, recorder: Recorder) -> None:
    config, log = serving(0)  # no timer: rounds only on request
    assert cosign_now(config, wait=10) == [RESULT]
    assert recorder.logs == [log]
    assert list(config.layout.cosign_requests.iterdir()) == []  # request and answer both consumed


def test_a_failed_round_answers_no_results(
    serving: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cosign_timer, "run_round", Recorder(fail=True))
    config, _ = serving(0)
    assert cosign_now(config, wait=10) == []
    assert "cosigning round failed" in caplog.text


def test_the_timer_runs_rounds_on_its_own(serving: Any, recorder: Recorder) -> None:
    serving(0.2)
    deadline = time.monotonic() + 20
    while len(recorder.logs) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(recorder.logs) >= 2


def test_without_a_serving_node_the_round_runs_here(
    tmp_path: Path, test_pki: TestPKI, recorder: Recorder
) -> None:
    config = make_config(tmp_path, test_pki, 0)
    assert cosign_now(config, wait=10) == [RESULT]
    assert recorder.logs[0].origin == "fedlookup/DE"
    assert not config.layout.cosign_requests.exists()


def test_a_node_that_does_not_answer_is_reported(
    tmp_path: Path, test_pki: TestPKI, recorder: Recorder
) -> None:
    config = make_config(tmp_path, test_pki, 0)
    key = load_private_key(config.audit.key)
    held = AuditLog.open(config.audit_dir, "fedlookup/DE", key, country="DE")  # no timer
    with held, pytest.raises(PeerUnavailableError, match="did not run a cosigning round"):
        cosign_now(config, wait=0.3)
    assert list(config.layout.cosign_requests.iterdir()) == []
    assert recorder.logs == []
