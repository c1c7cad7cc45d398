"""Selective failure: a dishonest node (its own process) cannot learn which items hit.

The node rewrites what it serves so that hits would fail or behave differently while the
asker reads them, and records every ``Evaluate`` call it receives. The asker checks six
firearms twice, once with a hit among them and once without: the node sees the same
requests, in number and in size, both times.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from federation.hitcheck_types import CheckContext, CheckItem, Outcome
from node.ask.asker import open_hit_check
from node.demo.setup import Network, create_network, index_records, publish_directory
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

NODE = Path(__file__).with_name("selective_failure_node.py")
CONTEXT = CheckContext("CASE-SF", "selective failure test", "", "tester")
FR_RECORDS = [(f"FR-{i}", "Glock", f"FRSF{i:04d}", "stolen") for i in range(20)]
MISSES = [("Beretta", f"NOHIT{i:03d}") for i in range(6)]
WITH_HIT = [*MISSES[:1], ("Glock", "FRSF0007"), *MISSES[2:]]


def _items(pairs: list[tuple[str, str]]) -> list[CheckItem]:
    return [CheckItem(m, s, record_identifiers(m, s)) for m, s in pairs]


class Dishonest:
    """FR's node as a dishonest process on 127.0.0.1, watching its Evaluate calls."""

    def __init__(self, network: Network, attack: str) -> None:
        node = network.nodes["FR"]
        self.observed = node.folder / "observed.jsonl"
        port_file = node.folder / "node.port"
        port_file.unlink(missing_ok=True)
        log = (node.folder / "dishonest.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(NODE), str(node.config_path), str(port_file),
             str(self.observed), attack],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            assert self.process.poll() is None, (node.folder / "dishonest.log").read_text()
            assert time.monotonic() < deadline, "the dishonest node did not start"
            time.sleep(0.1)
        self.endpoint = f"127.0.0.1:{int(port_file.read_text())}"

    def seen(self) -> list[int]:
        """Item counts of the Evaluate calls received since the last call (then forgets)."""
        if not self.observed.exists():
            return []
        lines = self.observed.read_text().splitlines()
        self.observed.unlink()
        return [json.loads(line)["items"] for line in lines]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(params=["labels", "header"])
def dishonest(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Network, Dishonest]]:
    net = create_network(tmp_path / "net", ["DE", "FR"], max_items_per_request=4)
    index_records(net.nodes["FR"], FR_RECORDS, workers=1)
    index_records(net.nodes["DE"], [("DE-1", "CZ", "DE0001", "lost")], workers=1)
    node = Dishonest(net, request.param)
    try:
        publish_directory(net, {"FR": node.endpoint, "DE": "127.0.0.1:1"}, version=2)
        yield net, node
    finally:
        node.stop()


def test_the_node_sees_the_same_requests_with_and_without_hits(
    dishonest: tuple[Network, Dishonest],
) -> None:
    net, node = dishonest
    config = net.nodes["DE"].config()
    patterns, results = [], []
    for asked in (WITH_HIT, MISSES, WITH_HIT):
        with open_hit_check(config, timeout=10, peers=["FR"]) as check:
            results.append(check.run(_items(asked), CONTEXT))
        patterns.append(node.seen())
    assert patterns[0] == patterns[1] == patterns[2]
    if node.process.args[-1] == "labels":  # type: ignore[index]
        # Limit 4 items per request = 2 firearms: 3 requests of 4 items, every one sent.
        assert patterns[0] == [4, 4, 4]
        hit = results[0].answers[1]["FR"]
        assert hit.outcome is not Outcome.UNAVAILABLE  # read, not thrown: garbage did not open
    else:
        # The header names another country: the asker refuses the index at sync. Over the
        # network the signed index head (which names the blob's country) refuses it first;
        # the header check behind it is tested in-process (test_hitcheck_faults.py).
        assert patterns[0] == []
        reason = results[0].peers["FR"].reason
        assert "index head names X1, expected FR" in reason or "country 'X1'" in reason
    assert all(r.peers["FR"].request_ids or not p for r, p in zip(results, patterns, strict=True))
