"""A member that offers only TLS 1.2 gets no connection; TLS 1.3 is what nodes speak.

FR, with its valid certificate, opens TLS to DE's node as its own process, once limited to
TLS 1.2 and once to TLS 1.3. The first handshake must fail (no cipher both can use), the
second complete as TLS 1.3. DE's node keeps serving FR over TLS 1.3 afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import ROOT
from reliability.relnet import RelNet

pytestmark = pytest.mark.integration

CLIENT = Path(__file__).resolve().parent / "members" / "tls_client.py"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    """DE and FR serving."""
    with RelNet.start(tmp_path_factory.mktemp("tls"), ["DE", "FR"], records=5) as running:
        yield running


def _handshake(net: RelNet, version: str) -> dict[str, object]:
    tls = net.folder("FR") / "tls"
    run = subprocess.run(
        [sys.executable, str(CLIENT), "--target", net.endpoint("DE"), "--version", version,
         "--cert", str(tls / "node.pem"), "--key", str(tls / "node.key")],
        capture_output=True, text=True, timeout=60, check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out: dict[str, object] = json.loads(run.stdout)
    return out


def test_tls12_is_refused(net: RelNet) -> None:
    assert _handshake(net, "1.2")["handshake"] is False
    # DE's log says who tried and why (the node writes its log asynchronously).
    for _ in range(50):
        refused = [
            r
            for r in net.log_records("DE")
            if r.get("reason") == "TLSHandshakeError" and "CIPHER" in str(r.get("detail"))
        ]
        if refused:
            break
        time.sleep(0.1)
    assert refused, [r for r in net.log_records("DE") if r.get("event") == "refused"]
    assert str(refused[-1].get("address", "")).startswith("ipv4:127.0.0.1:")


def test_tls13_is_spoken(net: RelNet) -> None:
    assert _handshake(net, "1.3") == {"handshake": True, "version": "TLSv1.3"}
    assert net.alive("DE")
