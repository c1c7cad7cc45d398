"""A real node (in this process, on 127.0.0.1 port 0, mutual TLS) answering real peers.

Covers: a valid peer's evaluation with a verified receipt and a hit read from its mirror;
each bad credential refused (at the handshake or by the identity interceptor, with the
reason in the node's log); a statement whose country differs from the certificate; quotas
exact to the item and surviving a restart; cardinality-only peers; health NOT_SERVING then
SERVING; reflection; metrics; resumable index sync; certificate reload without restart.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from pki_fixtures import ANY_SERVER, TestPKI

from audit.entries import LogEntry
from audit.keys import log_vkey
from audit.receipts import verify_receipt
from audit.records import read_records
from audit.statements import QueryStatement, sign
from certs import issue_node_certificate
from federation.evaluation import BlindedQuery
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.index import IndexInput, NodeIndex
from federation.index_mirror import IndexMirror
from federation.keys import EpochKeyStore, load_or_create_reference_key
from federation.labels import Label, make_reference
from fedlookup.errors import PeerRejectedError, PeerUnavailableError
from node.config import NodeConfig
from node.layout import node_log_origin
from node.serve.service import RunningNode, serving
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc
from registry_adapter import RegistryStore
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

TIMEOUT = 10.0
RECORDS = [("r1", "Glock", "ABC123", "stolen"), ("r2", "Beretta", "XY-998", "lost")] + [
    (f"g{i}", "Walther", f"W{i:05d}", "registered")
    for i in range(40)  # a multi-chunk index
]


def write_config(folder: Path, pki: TestPKI, country: str, extra: str = "") -> NodeConfig:
    """A node.toml for ``country`` using the session PKI; returns the loaded config."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = folder / "tls"
    if not tls.exists():  # a private copy, so a test may renew the certificate
        tls.mkdir()
        shutil.copy(pki.nodes[country].cert_path, tls / "node.pem")
        shutil.copy(pki.nodes[country].key_path, tls / "node.key")
    text = f"""
[node]
country = "{country}"
listen = "127.0.0.1:0"
data_dir = "data"
[server]
max_workers = 4
chunk_bytes = 1024
shutdown_grace_s = 2
[registry]
url = "sqlite:///registry.db"
identifiers = "v1"  # fill_index derives v1 identifiers (record_identifiers)
[tls]
ca = "{pki.ca.cert_path}"
cert = "tls/node.pem"
key = "tls/node.key"
crl = "{pki.ca.crl_path}"
[directory]
path = "{pki.directory_path}"
[audit]
key = "{pki.audit_key_paths[country]}"
[metrics]
listen = "127.0.0.1:0"
[policy]
max_items_per_request = 10
items_per_day = 12
[policy.peers.NL]
mode = "cardinality"
{extra}
"""
    path = folder / "node.toml"
    path.write_text(text, encoding="utf-8")
    return NodeConfig.from_toml(path, env={})


def fill_index(cfg: NodeConfig) -> int:
    """Index RECORDS directly (no registry needed); returns the new version."""
    key = EpochKeyStore(cfg.epoch_key_dir).current()
    ref_key = load_or_create_reference_key(cfg.reference_key_dir)
    index = NodeIndex(cfg.index_dir, key=key, country=cfg.node.country)
    try:
        inputs = [
            IndexInput(
                rid,
                record_identifiers(make, serial),
                Label(cat, make_reference(ref_key, cfg.node.country, rid)),
            )
            for rid, make, serial, cat in RECORDS
        ]
        return index.update(inputs, workers=1)
    finally:
        index.close()


def credentials(pki: TestPKI, name: str) -> ClientCredentials:
    files = pki.nodes.get(name) or pki.bad[name]
    return ClientCredentials.from_files(
        ca=pki.ca.cert_path, cert=files.cert_path, key=files.key_path
    )


def statement(frm: str, to: str, items: int) -> QueryStatement:
    return QueryStatement(
        request_id=QueryStatement.new_request_id(),
        from_country=frm,
        to_country=to,
        case_id="case-1",
        purpose="investigation",
        legal_basis="test",
        investigator="inv-1",
        item_count=items,
        commitment=bytes(32),
    )


@pytest.fixture(scope="module")
def de(test_pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """DE node, started before its index exists (health is checked in order)."""
    folder = tmp_path_factory.mktemp("de")
    cfg = write_config(folder, test_pki, "DE")
    csv = folder / "records.csv"
    rows = [f"{rid},{make},m,9mm,{serial},{cat},2024-01-01" for rid, make, serial, cat in RECORDS]
    header = "record_id,make,model,caliber,serial,category,recorded_at"
    csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with RegistryStore(cfg.registry.url) as store:  # what CompatSetup reads
        store.import_file(csv)
    with serving(cfg) as node:
        yield node


@pytest.fixture(scope="module")
def indexed_de(de: RunningNode) -> RunningNode:
    fill_index(de.service.config)
    de.service.tick()
    return de


def _channel(port: int, pki: TestPKI, name: str) -> grpc.Channel:
    c = credentials(pki, name)
    creds = grpc.ssl_channel_credentials(c.ca, c.key, c.cert)
    return grpc.secure_channel(f"127.0.0.1:{port}", creds)


def test_health_not_serving_until_the_index_is_ready(de: RunningNode, test_pki: TestPKI) -> None:
    with _channel(de.port, test_pki, "FR") as ch:
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
    with _channel(indexed_de.port, test_pki, "FR") as ch:
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


@pytest.mark.parametrize(
    "bad", ["other_ca", "self_signed", "expired", "not_yet_valid", "wrong_usage"]
)
def test_handshake_refuses_bad_certificates(
    indexed_de: RunningNode, test_pki: TestPKI, bad: str
) -> None:
    # The reason is logged by grpc's TLS layer (see test_node_cli for the node's log file).
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, bad),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerUnavailableError),
    ):
        t.node_info(timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("bad", "code", "reason"),
    [
        ("revoked", "UNAUTHENTICATED", "RevokedError"),
        ("no_country", "UNAUTHENTICATED", "CertificateError"),
        ("wrong_country", "PERMISSION_DENIED", "UnlistedPeerError"),
    ],
)
def test_interceptor_refuses_and_logs_the_reason(
    indexed_de: RunningNode,
    test_pki: TestPKI,
    caplog: pytest.LogCaptureFixture,
    bad: str,
    code: str,
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup")
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, bad),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerRejectedError, match=code) as info,
    ):
        t.node_info(timeout=TIMEOUT)
    refused = [r for r in caplog.records if getattr(r, "reason", None) == reason]
    assert refused, caplog.text
    detail = str(getattr(refused[-1], "detail", ""))
    assert detail
    # The peer sees only the fixed public message; the detail stays in the node's log.
    assert detail not in str(info.value)


def test_statement_country_must_match_the_certificate(
    indexed_de: RunningNode, test_pki: TestPKI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup")
    st = statement("NL", "DE", 1)  # FR's certificate, NL's name and NL's signature
    data = st.canonical()
    query = BlindedQuery.create([b"v1|x"])
    with (
        GrpcTransport(
            "DE",
            f"127.0.0.1:{indexed_de.port}",
            credentials(test_pki, "FR"),
            server_check=ANY_SERVER,
        ) as t,
        pytest.raises(PeerRejectedError, match="PERMISSION_DENIED") as info,
    ):
        t.evaluate(data, sign(data, test_pki.audit_keys["NL"]), query.request, timeout=10)
    assert "statement country does not match" in str(info.value)
    assert any(getattr(r, "reason", None) == "CountryMismatchError" for r in caplog.records)


def test_metrics_count_refusals_and_items(indexed_de: RunningNode) -> None:
    assert indexed_de.metrics_port is not None
    url = f"http://127.0.0.1:{indexed_de.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
        text = reply.read().decode()
    assert 'fedlookup_refusals_total{reason="RevokedError"}' in text
    assert 'fedlookup_items_evaluated_total{peer="FR"} 2.0' in text
    assert "fedlookup_index_version 1.0" in text


def test_index_sync_resumes_from_an_offset(indexed_de: RunningNode, test_pki: TestPKI) -> None:
    with _channel(indexed_de.port, test_pki, "FR") as ch:
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


def _evaluate(port: int, pki: TestPKI, n: int) -> None:
    st = statement("FR", "DE", n)
    data = st.canonical()
    query = BlindedQuery.create([f"v1|item{i}".encode() for i in range(n)])
    with GrpcTransport(
        "DE", f"127.0.0.1:{port}", credentials(pki, "FR"), server_check=ANY_SERVER
    ) as t:
        t.evaluate(data, sign(data, pki.audit_keys["FR"]), query.request, timeout=TIMEOUT)


def test_quota_is_exact_to_the_item_and_survives_a_restart(
    test_pki: TestPKI, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "de", test_pki, "DE")
    fill_index(cfg)
    with serving(cfg) as node:
        with pytest.raises(PeerRejectedError, match="INVALID_ARGUMENT"):
            _evaluate(node.port, test_pki, 11)  # over the per-request limit, charges nothing
        _evaluate(node.port, test_pki, 10)
        with pytest.raises(PeerRejectedError, match="RESOURCE_EXHAUSTED") as info:
            _evaluate(node.port, test_pki, 3)
        assert "quota of 12 items (2 left today" in str(info.value)
        _evaluate(node.port, test_pki, 2)
        kinds = [node.service.audit_log.entry(i) for i in range(node.service.audit_log.size)]
        assert sum(b'"quota_exhausted"' in k for k in kinds) == 1
    with serving(cfg) as node, pytest.raises(PeerRejectedError, match="RESOURCE_EXHAUSTED"):
        _evaluate(node.port, test_pki, 1)


def _server_serial(port: int, pki: TestPKI) -> int:
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    ctx.load_cert_chain(pki.nodes["FR"].cert_path, pki.nodes["FR"].key_path)
    ctx.set_alpn_protocols(["h2"])
    ctx.check_hostname = False
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_renewed_certificate_is_served_without_restart(test_pki: TestPKI, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "de", test_pki, "DE")
    fill_index(cfg)
    with serving(cfg) as node:
        first = _server_serial(node.port, test_pki)
        renewed = issue_node_certificate(test_pki.ca, "DE", tmp_path / "renewed")
        shutil.copy(renewed.key_path, cfg.tls.key)
        shutil.copy(renewed.cert_path, cfg.tls.cert)
        second = _server_serial(node.port, test_pki)
        _evaluate(node.port, test_pki, 1)  # and calls still work
    assert first != second
    assert second == x509.load_pem_x509_certificate(renewed.cert_path.read_bytes()).serial_number


def test_stock_openmined_client_through_compat_calls(
    indexed_de: RunningNode, test_pki: TestPKI
) -> None:
    from private_set_intersection.python import Response, ServerSetup, client

    ids = record_identifiers("Glock", "ABC123")
    asked = [b"v1|MS|NOBODY|1", ids.make_serial]
    with _channel(indexed_de.port, test_pki, "FR") as ch:
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
    with _channel(indexed_de.port, test_pki, "NL") as ch:
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
    with serving(cfg) as node, _channel(node.port, test_pki, "FR") as ch:
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
                _evaluate(node.port, test_pki, 1)
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
        with _channel(port, pki, "FR") as ch:
            try:
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                return True
    return False
