"""One check, one round: statements logged as sent before anything leaves, two log fsyncs
per round whatever the number of peers, a fresh blinding key for every peer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from federation_sim import FederationSimulator, Firearm, items, random_registry

from audit.entries import LogEntry
from audit.records import read_records
from federation.hitcheck_types import CheckContext, Outcome
from federation.psi import parse_request
from federation.transport import Evaluation, NodeInfo

CONTEXT = CheckContext("CASE-3", "seizure", "", "")
ASK = [("Glock", "XK4471Z")]


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[FederationSimulator]:
    f = FederationSimulator(tmp_path)
    f.add_country("DE", random_registry("DE", 5, seed=3))
    f.add_country("FR", [Firearm("fr-1", "Glock", "XK4471Z", "stolen")])
    f.add_country("NL", random_registry("NL", 20, seed=2))
    yield f
    f.close()


class Spy:
    """A responder that notes what the asker's log held on disk when a request arrived."""

    def __init__(self, inner: Any, log_file: Path, seen: list[tuple[str, set[str], bytes]]):
        self.inner, self.log_file, self.seen = inner, log_file, seen

    def node_info(self, peer: str) -> NodeInfo:
        return self.inner.node_info(peer)  # type: ignore[no-any-return]

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> bytes:
        return self.inner.sync_index(peer, since_version, epoch_id)  # type: ignore[no-any-return]

    def evaluate(self, peer: str, statement: bytes, signature: bytes, request: bytes) -> Evaluation:
        sent = {
            e["request_id"]
            for e in map(LogEntry.parse, read_records(self.log_file))
            if e.kind == "query_sent"
        }
        self.seen.append((json.loads(statement)["request_id"], sent, request))
        return self.inner.evaluate(peer, statement, signature, request)  # type: ignore[no-any-return]


def test_every_statement_is_on_disk_before_the_first_request_leaves(
    fed: FederationSimulator,
) -> None:
    seen: list[tuple[str, set[str], bytes]] = []
    log_file = fed.root / "asker-DE" / "audit-outgoing" / "entries.rec"
    peers = fed.transports("DE", lambda c: Spy(c.responder, log_file, seen))
    result = fed.hit_check("DE", peers=peers).run(items(ASK), CONTEXT)
    assert result.complete, result.peers
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    all_ids = {rid for p in result.peers.values() for rid in p.request_ids}
    assert len(seen) == 2
    for request_id, on_disk, _ in seen:
        assert request_id in on_disk
        assert all_ids <= on_disk  # the whole round was logged before any request left
    # Same items, hashed once, yet each peer's request is under its own key.
    points = [set(parse_request(request)[1]) for _, _, request in seen]
    assert not points[0] & points[1]


def _log_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = os.fsync

    def counting(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if target.endswith("audit-outgoing/entries.rec"):
            calls.append(target)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


@pytest.mark.parametrize(("batched", "expected"), [(True, 2), (False, 4)])
def test_a_round_costs_two_log_fsyncs_whatever_the_number_of_peers(
    fed: FederationSimulator, monkeypatch: pytest.MonkeyPatch, batched: bool, expected: int
) -> None:
    check = fed.hit_check("DE")
    check.batched = batched
    check.run(items(ASK), CONTEXT)  # first check: mirrors synced
    fsyncs = _log_fsyncs(monkeypatch)
    result = check.run(items(ASK), CONTEXT)
    assert result.complete, result.peers
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    assert len(fsyncs) == expected
    log = check.auditor.log  # type: ignore[attr-defined]
    kinds = [LogEntry.parse(log.entry(i)) for i in range(log.size)]
    receipts = [e for e in kinds if e.kind == "receipt"]
    assert [e["status"] for e in receipts[-2:]] == ["answered", "answered"]
