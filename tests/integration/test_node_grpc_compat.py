"""The stock openmined client against a real node through the compat calls.

The one configured setup is offered (and audited), other parameters are refused, and a
cardinality-only peer gets no setup at all.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from node_grpc_fixtures import (
    RECORDS,
    TIMEOUT,
    channel,
    credentials,
    fill_index,
    statement,
    write_config,
)
from pki_fixtures import ANY_SERVER, TestPKI

from audit.entries import LogEntry
from audit.records import read_records
from audit.statements import sign
from federation.grpc_transport import GrpcTransport
from node.config import NodeConfig
from node.serve.service import RunningNode, serving
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc
from registry_adapter import RegistryStore
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration


def test_stock_openmined_client_through_compat_calls(
    indexed_de: RunningNode, test_pki: TestPKI
) -> None:
    from private_set_intersection.python import Response, ServerSetup, client

    ids = record_identifiers("Glock", "ABC123")
    asked = [b"v1|MS|NOBODY|1", ids.make_serial]
    with channel(indexed_de.port, test_pki, "FR") as ch:
        stub = pb_grpc.FederationStub(ch)
        chunks = list(stub.CompatSetup(pb.CompatSetupRequest(), timeout=60))  # the node's own
        stock = client.CreateWithNewKey(True)
        st = statement("FR", "DE", len(asked))
        data = st.canonical()
        signed = pb.SignedStatement(statement=data, signature=sign(data, test_pki.audit_keys["FR"]))
        request = stock.CreateRequest(asked).SerializeToString()
        reply = stub.CompatEvaluate(
            pb.EvaluateRequest(statement=signed, request=request), timeout=TIMEOUT
        )
    setup, response = ServerSetup(), Response()
    setup.ParseFromString(b"".join(c.data for c in chunks))
    response.ParseFromString(reply.response)
    assert sorted(stock.GetIntersection(setup, response)) == [1]


def test_compat_setup_refused_to_a_cardinality_peer(
    indexed_de: RunningNode, test_pki: TestPKI
) -> None:
    with channel(indexed_de.port, test_pki, "NL") as ch:
        stub = pb_grpc.FederationStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            list(stub.CompatSetup(pb.CompatSetupRequest(), timeout=TIMEOUT))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _entries(cfg: NodeConfig, kind: str) -> list[LogEntry]:
    parsed = [LogEntry.parse(r) for r in read_records(cfg.audit_dir / "entries.rec")]
    return [e for e in parsed if e.kind == kind]


def test_compat_setup_is_offered_for_the_configured_parameters_only_and_audited(
    test_pki: TestPKI, tmp_path: Path
) -> None:
    extra = "[compat]\nnum_client_inputs = 4\nfpr = 1e-6\n"
    cfg = write_config(tmp_path / "de", test_pki, "DE", extra)
    csv = tmp_path / "records.csv"
    rows = [f"{rid},{make},m,9mm,{serial},{cat},2024-01-01" for rid, make, serial, cat in RECORDS]
    header = "record_id,make,model,caliber,serial,category,recorded_at"
    csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with RegistryStore(cfg.registry.url) as store:
        store.import_file(csv)
    version = fill_index(cfg)
    refused = [
        pb.CompatSetupRequest(num_client_inputs=2),
        pb.CompatSetupRequest(fpr=1e-9),
        pb.CompatSetupRequest(num_client_inputs=4, fpr=1e-3),
        pb.CompatSetupRequest(num_client_inputs=5, fpr=1e-6),
    ]
    with serving(cfg) as node, channel(node.port, test_pki, "FR") as ch:
        node.service.tick()
        stub = pb_grpc.FederationStub(ch)
        for request in refused:
            with pytest.raises(grpc.RpcError) as info:
                list(stub.CompatSetup(request, timeout=TIMEOUT))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "num_client_inputs=4 and fpr=1e-06 (0 takes these)" in str(info.value.details())
        blobs = [
            b"".join(c.data for c in stub.CompatSetup(request, timeout=60))
            for request in (pb.CompatSetupRequest(), pb.CompatSetupRequest(num_client_inputs=4,
                                                                           fpr=1e-6))
        ]  # fmt: skip
        assert blobs[0] == blobs[1]  # built once, then read from the cache
        assert len(list((cfg.node.data_dir / "compat").glob("setup-*.bin"))) == 1
        setups = _entries(cfg, "compat_setup")
        assert [(e["peer"], e["version"], e["inputs"], e["fpr"]) for e in setups] == [
            ("FR", version, 4, "1e-06")
        ] * 2

        # The stock evaluation is charged to FR's item quota and audited like Evaluate.
        with GrpcTransport(
            "DE", f"127.0.0.1:{node.port}", credentials(test_pki, "FR"), server_check=ANY_SERVER
        ) as t:
            before = t.node_info(timeout=TIMEOUT).limits.items_remaining_today
            from private_set_intersection.python import client

            asked = [
                b"v1|MS|NOBODY|1",
                b"v1|S|NOBODY",
                record_identifiers("Glock", "ABC123").serial_only,
            ]
            st = statement("FR", "DE", len(asked))
            data = st.canonical()
            signed = pb.SignedStatement(
                statement=data, signature=sign(data, test_pki.audit_keys["FR"])
            )
            request = client.CreateWithNewKey(True).CreateRequest(asked).SerializeToString()
            reply = stub.CompatEvaluate(
                pb.EvaluateRequest(statement=signed, request=request), timeout=TIMEOUT
            )
            after = t.node_info(timeout=TIMEOUT).limits.items_remaining_today
    assert reply.receipt
    assert before - after == len(asked)
    received = [e for e in _entries(cfg, "query_received") if e["request_id"] == st.request_id]
    assert [(e["from"], e["items"]) for e in received] == [("FR", len(asked))]
