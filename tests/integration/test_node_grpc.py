"""A real node (in this process, on 127.0.0.1 port 0, mutual TLS) answering real peers.

Covers: health NOT_SERVING then SERVING; reflection; a valid peer's evaluation with a
verified receipt and a hit read from its mirror; cardinality-only peers; metrics; resumable
index sync; quotas exact to the item and surviving a restart; a graceful shutdown that lets
an in-flight call finish. Refusals of bad callers: ``test_node_grpc_identity.py``; the stock
openmined calls: ``test_node_grpc_compat.py``.
"""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from node_grpc_fixtures import (
    TIMEOUT,
    channel,
    credentials,
    evaluate,
    fill_index,
    statement,
    write_config,
)
from pki_fixtures import ANY_SERVER, TestPKI

from audit.keys import log_vkey
from audit.receipts import verify_receipt
from audit.statements import sign
from federation.evaluation import BlindedQuery
from federation.grpc_transport import GrpcTransport
from federation.index_mirror import IndexMirror
from fedlookup.errors import PeerRejectedError
from node.layout import node_log_origin
from node.serve.service import RunningNode, serving
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration


def test_health_not_serving_until_the_index_is_ready(de: RunningNode, test_pki: TestPKI) -> None:
    with channel(de.port, test_pki, "FR") as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        before = stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT).status
        assert before == health_pb2.HealthCheckResponse.NOT_SERVING
        fill_index(de.service.config)
        de.service.tick()
        after = stub.Check(
            health_pb2.HealthCheckRequest(service="fedlookup.v1.Federation"), timeout=TIMEOUT
        )
        assert after.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(indexed_de: RunningNode, test_pki: TestPKI) -> None:
    with channel(indexed_de.port, test_pki, "FR") as ch:
        services = set(ProtoReflectionDescriptorDatabase(ch).get_services())
    assert "fedlookup.v1.Federation" in services
    assert "grpc.health.v1.Health" in services


def test_valid_peer_evaluates_and_reads_a_hit(indexed_de: RunningNode, test_pki: TestPKI) -> None:
    ids = record_identifiers("GLOCK", "abc 123")
    items = [ids.make_serial, ids.serial_only]
    with GrpcTransport(
        "DE", f"127.0.0.1:{indexed_de.port}", credentials(test_pki, "FR"), server_check=ANY_SERVER
    ) as t:
        info = t.node_info(timeout=TIMEOUT)
        assert info.country == "DE"
        assert info.limits.max_items_per_request == 10
        mirror = IndexMirror()
        mirror.apply(t.sync_index(None, None, timeout=TIMEOUT).blob)
        st = statement("FR", "DE", len(items))
        query = BlindedQuery.create(items)
        data = st.canonical()
        result = t.evaluate(data, sign(data, test_pki.audit_keys["FR"]), query.request, timeout=10)
    labels = query.finish(result.response, mirror, epoch_id=result.epoch_id)
    assert [lab.category for lab in labels[0]] == ["stolen"]
    assert labels[1] != []
    pub = test_pki.audit_keys["DE"].public_key()
    receipt = verify_receipt(result.receipt, pub, log_vkey(node_log_origin("DE"), pub), st)
    assert receipt.request_id == st.request_id


def test_cardinality_peer_gets_no_labels(indexed_de: RunningNode, test_pki: TestPKI) -> None:
    with GrpcTransport(
        "DE", f"127.0.0.1:{indexed_de.port}", credentials(test_pki, "NL"), server_check=ANY_SERVER
    ) as t:
        assert t.node_info(timeout=TIMEOUT).limits.mode == "cardinality"
        mirror = IndexMirror()
        mirror.apply(t.sync_index(None, None, timeout=TIMEOUT).blob)
        assert not mirror.has_labels
        ids = record_identifiers("Beretta", "XY998")
        # A cardinality request carries at least 20 items, or the per-request limit when
        # lower (10 here): one alone would name its hit.
        one = BlindedQuery.create([ids.make_serial], reveal=False)
        data = statement("NL", "DE", 1).canonical()
        with pytest.raises(PeerRejectedError):
            t.evaluate(data, sign(data, test_pki.audit_keys["NL"]), one.request, timeout=10)
        padding = [f"v1|S|PAD{i}".encode() for i in range(9)]
        query = BlindedQuery.create([ids.make_serial, *padding], reveal=False)
        data = statement("NL", "DE", 10).canonical()
        result = t.evaluate(data, sign(data, test_pki.audit_keys["NL"]), query.request, timeout=10)
    assert query.count(result.response, mirror, epoch_id=result.epoch_id) == 1


def test_metrics_count_refusals_and_items(indexed_de: RunningNode, test_pki: TestPKI) -> None:
    # A refusal of its own (the identity interceptor's tests live in another module and
    # another node); the 2 items are the valid peer's evaluation above.
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, "revoked"),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerRejectedError, match="UNAUTHENTICATED"),
    ):
        t.node_info(timeout=TIMEOUT)
    assert indexed_de.metrics_port is not None
    url = f"http://127.0.0.1:{indexed_de.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
        text = reply.read().decode()
    assert 'fedlookup_refusals_total{reason="RevokedError"}' in text
    assert 'fedlookup_items_evaluated_total{peer="FR"} 2.0' in text
    assert "fedlookup_index_version 1.0" in text


def test_index_sync_resumes_from_an_offset(indexed_de: RunningNode, test_pki: TestPKI) -> None:
    with channel(indexed_de.port, test_pki, "FR") as ch:
        stub = pb_grpc.FederationStub(ch)
        whole = list(stub.SyncIndex(pb.SyncIndexRequest(), timeout=TIMEOUT))
        assert len(whole) > 1  # chunk_bytes = 1024
        blob = b"".join(c.data for c in whole)
        resumed = list(
            stub.SyncIndex(
                pb.SyncIndexRequest(offset=1000, resume_version=whole[0].index_version),
                timeout=TIMEOUT,
            )
        )
        assert resumed[0].offset == 1000
        assert blob[:1000] + b"".join(c.data for c in resumed) == blob
        with pytest.raises(grpc.RpcError) as info:
            list(stub.SyncIndex(pb.SyncIndexRequest(offset=5, resume_version=99), timeout=10))
        assert info.value.code() == grpc.StatusCode.ABORTED


def test_quota_is_exact_to_the_item_and_survives_a_restart(
    test_pki: TestPKI, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "de", test_pki, "DE")
    fill_index(cfg)
    with serving(cfg) as node:
        with pytest.raises(PeerRejectedError, match="INVALID_ARGUMENT"):
            evaluate(node.port, test_pki, 11)  # over the per-request limit, charges nothing
        evaluate(node.port, test_pki, 10)
        with pytest.raises(PeerRejectedError, match="RESOURCE_EXHAUSTED") as info:
            evaluate(node.port, test_pki, 3)
        assert "quota of 12 items (2 left today" in str(info.value)
        evaluate(node.port, test_pki, 2)
        kinds = [node.service.audit_log.entry(i) for i in range(node.service.audit_log.size)]
        assert sum(b'"quota_exhausted"' in k for k in kinds) == 1
    with serving(cfg) as node, pytest.raises(PeerRejectedError, match="RESOURCE_EXHAUSTED"):
        evaluate(node.port, test_pki, 1)


def test_shutdown_lets_an_in_flight_call_finish(test_pki: TestPKI, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "de", test_pki, "DE")
    fill_index(cfg)
    entered, release = threading.Event(), threading.Event()
    outcome: list[object] = []
    context = serving(cfg)
    node = context.__enter__()
    try:
        responder = node.service.responder
        original = responder.evaluate

        def held(*args: object) -> object:
            entered.set()
            release.wait(TIMEOUT)
            return original(*args)  # type: ignore[arg-type]

        responder.evaluate = held  # type: ignore[method-assign,assignment]

        def call() -> None:
            try:
                evaluate(node.port, test_pki, 1)
                outcome.append("answered")
            except Exception as exc:
                outcome.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        assert entered.wait(TIMEOUT)
        stopper = threading.Thread(target=context.__exit__, args=(None, None, None))
        stopper.start()
        assert _refuses_new_calls(node.port, test_pki)  # the server is stopping...
        release.set()  # ...while the held call is still in flight
        caller.join(TIMEOUT)
        stopper.join(TIMEOUT)
    finally:
        release.set()
    assert outcome == ["answered"]
    assert not stopper.is_alive()


def _refuses_new_calls(port: int, pki: TestPKI, attempts: int = 100) -> bool:
    for _ in range(attempts):
        with channel(port, pki, "FR") as ch:
            try:
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                return True
    return False
