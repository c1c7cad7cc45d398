"""Every RPC of a real node process fed hostile bytes over mutual TLS.

The caller is a genuine member (FR), so every message gets past the handshake and the
identity check and reaches the parsers, the statement checks and openmined-psi. For every
answer: no UNKNOWN, no INTERNAL beyond grpc's own fixed message for unparsable protobuf,
nothing internal in the details; afterwards the process is alive and reports SERVING, and
a valid request is still answered. CI sends 150 cases per RPC; the ``slow`` run (and
``scripts/reliability.py fuzz``) 100,000.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from fuzzcases import METHODS, CaseFactory, fuzz_method
from grpc_health.v1 import health_pb2, health_pb2_grpc
from relnet import NODE_ENV, RelNet

from audit.keys import load_private_key

pytestmark = pytest.mark.integration

CI_CASES = 150
LONG_CASES = int(os.environ.get("FEDLOOKUP_FUZZ_CASES", "100000"))


def factory(net: RelNet, base_seed: int) -> Callable[[int], CaseFactory]:
    key = load_private_key(net.network.nodes["FR"].config().audit.key)

    def build(seed: int) -> CaseFactory:
        return CaseFactory(
            base_seed * 1000 + seed,
            asker="FR",
            node="DE",
            audit_key=key,
            max_message=int(NODE_ENV["FEDLOOKUP_SERVER_MAX_MESSAGE_BYTES"]),
            max_items=1000,
        )

    return build


def assert_still_serving(net: RelNet) -> None:
    assert net.alive("DE")
    with net.channel("FR", "DE") as ch:
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        f = factory(net, 0)(0)
        answer = ch.unary_unary("/fedlookup.v1.Federation/Evaluate")(
            f.valid_evaluate(2), timeout=10
        )
        assert answer  # a valid request is still answered


def _run(net: RelNet, method: str, cases: int, threads: int) -> None:
    with net.channel("FR", "DE") as ch:
        seed = list(METHODS).index(method) + 1
        stats = fuzz_method(ch, factory(net, seed), method, cases, threads=threads)
    assert stats.cases == cases
    assert not stats.failures, stats.failures
    assert_still_serving(net)


@pytest.mark.parametrize("method", list(METHODS))
def test_hostile_bytes_never_crash_or_leak(net: RelNet, method: str) -> None:
    _run(net, method, CI_CASES, threads=2)


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
def test_hostile_bytes_long_run(net: RelNet, method: str) -> None:
    _run(net, method, LONG_CASES, threads=4)


def test_internal_errors_are_not_in_the_node_log(net: RelNet) -> None:
    # The node logs every refusal with its reason; an unexpected exception would be logged
    # as an error with a traceback ("event": "error"). After the runs above: none.
    errors = [r for r in net.log_records("DE") if r.get("event") == "error"]
    assert not errors, errors[:3]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_unparsable_protobuf_is_invalid_argument(net: RelNet) -> None:
    with net.channel("FR", "DE") as ch, pytest.raises(grpc.RpcError) as info:
        ch.unary_unary("/fedlookup.v1.Federation/NodeInfo")(b"\xff\xff", timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


def test_unparsable_requests_do_not_grow_the_node(net: RelNet) -> None:
    pid = net.procs.nodes["DE"].process.pid
    with net.channel("FR", "DE") as ch:
        call = ch.unary_unary("/fedlookup.v1.Federation/NodeInfo")
        for _ in range(200):  # warm up allocator pools
            with contextlib.suppress(grpc.RpcError):
                call(b"", timeout=10)
        before = _rss_mib(pid)
        for _ in range(1000):
            with contextlib.suppress(grpc.RpcError):
                call(b"\xff\xff", timeout=10)
    grown = _rss_mib(pid) - before
    assert grown < 6, f"{grown:.0f} MiB more after 1000 unparsable requests"
