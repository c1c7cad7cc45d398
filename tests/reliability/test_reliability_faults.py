"""Faults of a running federation (real node processes on 127.0.0.1, DE asking FR).

* a peer that hangs (SIGSTOP): reported unavailable within the deadline, answered after
  SIGCONT;
* a peer stopped for a while (partition) whose index changes meanwhile: unavailable while
  down; once back, the asker's mirror catches up by delta and finds the new records;
* a peer killed mid-check: answered chunks are kept, the rest unavailable; afterwards each
  side's log holds exactly the queries the other side saw answered;
* SIGKILL while audit entries are being appended under concurrent load: on restart every
  receipt a caller received points at its entry, and the exported log verifies;
* the registry database unavailable: ``node index`` fails with a clear error and changes
  nothing; the serving node keeps answering from its index and refuses the stock setup
  (which reads the registry) with UNAVAILABLE, not INTERNAL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from pki_fixtures import ANY_SERVER
from relnet import RelNet, audit_kinds, export_and_verify, load_registry, registry_records

from audit.entries import LogEntry
from audit.keys import load_private_key
from audit.records import read_records
from audit.statements import QueryStatement, Receipt, sign
from federation.evaluation import BlindedQuery
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.hitcheck_types import CheckContext, CheckItem, CheckResult, Outcome
from fedlookup.errors import PeerError
from node.ask.asker import open_hit_check
from node.demo.network import fedlookup_command
from node.ops.operations import index_node
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

CONTEXT = CheckContext("CASE-FAULT", "reliability test", "", "tester")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    root = tmp_path_factory.mktemp("faults")
    with RelNet.start(root, ["DE", "FR"], records=200, max_items_per_request=20) as running:
        yield running


def items(records: list[tuple[str, str, str, str]]) -> list[CheckItem]:
    out = []
    for _, make, serial, _ in records:
        ids = record_identifiers(make, serial)
        out.append(CheckItem(make, serial, ids))
    return out


def check(
    net: RelNet, records: list[tuple[str, str, str, str]], timeout: float = 5.0
) -> CheckResult:
    with open_hit_check(net.network.nodes["DE"].config(), timeout=timeout) as hc:
        return hc.run(items(records), CONTEXT)


def test_a_hanging_peer_is_unavailable_then_answers(net: RelNet) -> None:
    net.procs.suspend("FR")
    try:
        during = check(net, net.records["FR"][:2], timeout=1.0)
    finally:
        net.procs.resume("FR")
    assert during.peers["FR"].status == "unavailable"
    assert during.answers[0]["FR"].outcome is Outcome.UNAVAILABLE
    after = check(net, net.records["FR"][:2])
    assert after.answers[0]["FR"].outcome is Outcome.HIT


def test_a_partitioned_peer_comes_back_and_the_mirror_catches_up(net: RelNet) -> None:
    check(net, net.records["FR"][:1])  # the mirror is current
    net.procs.stop("FR")
    new = registry_records("FR", 230)[200:]
    during = check(net, new[:2], timeout=2.0)
    assert during.peers["FR"].status == "unavailable"
    cfg = net.network.nodes["FR"].config()
    load_registry(cfg, new)
    index_node(cfg, workers=1)  # FR's index moves on while DE cannot reach it
    net.start_again("FR")
    after = check(net, new)
    assert after.peers["FR"].status == "answered", after.peers["FR"]
    assert after.peers["FR"].sync == "delta"
    assert after.count(Outcome.HIT) == len(new)
    net.records["FR"] += new


def test_a_peer_killed_mid_check_loses_nothing_it_answered(net: RelNet) -> None:
    asked = net.records["FR"][:100]  # 10 requests of 10 firearms each
    before_fr = audit_kinds(net.audit_dir("FR")).count("query_received")
    before_de = len(read_records(net.outgoing_dir("DE") / "entries.rec"))

    def kill_after_first_chunk(country: str, done: int) -> None:
        if country == "FR" and net.alive("FR"):
            net.procs.kill("FR")

    with open_hit_check(net.network.nodes["DE"].config(), timeout=3.0) as hc:
        result = hc.run(items(asked), CONTEXT, progress=kill_after_first_chunk)
    net.start_again("FR")
    report = result.peers["FR"]
    assert report.status == "partial"
    answered = [a for a in result.answers if a["FR"].outcome is Outcome.HIT]
    assert 10 <= len(answered) < 100
    # FR logged at least every request DE got an answer to (and perhaps the one in flight).
    received = audit_kinds(net.audit_dir("FR")).count("query_received") - before_fr
    assert received in (len(answered) // 10, len(answered) // 10 + 1)
    # DE logged every request it sent to FR with its outcome: answered or unavailable.
    logged = read_records(net.outgoing_dir("DE") / "entries.rec")[before_de:]
    entries = [LogEntry.parse(r) for r in logged]
    statuses = [e["status"] for e in entries if e.kind == "receipt" and e["to"] == "FR"]
    assert statuses.count("answered") == len(answered) // 10
    assert statuses[-1] == "unavailable"
    sent = [e for e in entries if e.kind == "query_sent" and e["to"] == "FR"]
    assert len(sent) == len(statuses)


def _evaluate_loop(
    net: RelNet, stop: threading.Event, receipts: list[bytes], errors: list[str]
) -> None:
    key = load_private_key(net.network.nodes["DE"].config().audit.key)
    with GrpcTransport(
        "FR", net.endpoint("FR"), net.credentials("DE"), server_check=ANY_SERVER
    ) as t:
        n = 0
        while not stop.is_set():
            n += 1
            st = QueryStatement(
                request_id=QueryStatement.new_request_id(),
                from_country="DE",
                to_country="FR",
                case_id="LOAD",
                purpose="p",
                legal_basis="l",
                investigator="i",
                item_count=1,
                commitment=os.urandom(32),
            )
            data = st.canonical()
            try:
                result = t.evaluate(
                    data, sign(data, key), BlindedQuery.create([b"v1|S|%d" % n]).request, timeout=5
                )
            except PeerError as exc:
                errors.append(str(exc))
                return
            receipts.append(result.receipt)


def test_sigkill_during_audit_appends_loses_no_answered_query(net: RelNet, tmp_path: Path) -> None:
    stop = threading.Event()
    receipts: list[bytes] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_evaluate_loop, args=(net, stop, receipts, errors))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    while len(receipts) < 60 and not errors:
        threading.Event().wait(0.02)
    net.procs.kill("FR")  # appends are in flight on four threads
    stop.set()
    for t in threads:
        t.join(timeout=30)
    answered = list(receipts)
    net.start_again("FR")  # the log reopens: torn tail cut, checkpoints re-checked
    fr_pub = load_private_key(net.network.nodes["FR"].config().audit.key).public_key()
    entries = read_records(net.audit_dir("FR") / "entries.rec")
    for blob in answered:
        receipt = Receipt.open(blob, fr_pub)
        assert entries[receipt.log_index] == receipt.entry
    net.procs.stop("FR")
    cfg = net.network.nodes["FR"].config()
    assert export_and_verify(cfg, cfg.audit_dir, tmp_path / "export") >= len(answered)
    net.start_again("FR")


def test_registry_unavailable_for_indexing_is_a_clear_error(net: RelNet) -> None:
    cfg = net.network.nodes["FR"].config()
    env = {**os.environ, "FEDLOOKUP_REGISTRY_URL": "postgresql+psycopg://fedlookup@127.0.0.1:1/x"}
    command = [
        *fedlookup_command(),
        "node",
        "index",
        "--config",
        str(net.folder("FR") / "node.toml"),
    ]
    before = _index_version(net)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "registry" in result.stderr.lower()
    assert _index_version(net) == before
    assert cfg.registry.url.startswith("sqlite")


def _index_version(net: RelNet) -> int:
    with net.channel("DE", "FR") as ch:
        raw = ch.unary_unary("/fedlookup.v1.Federation/NodeInfo")(b"", timeout=10)
    return int(pb.NodeInfoResponse.FromString(raw).index_version)


def test_registry_gone_while_serving(net: RelNet) -> None:
    db = net.folder("FR") / "data" / "registry.db"
    db.rename(db.with_name("registry.db.away"))
    db.write_bytes(b"this is not a database" * 100)
    try:
        answer = check(net, net.records["FR"][:3])
        assert answer.count(Outcome.HIT) == 3  # answered from the index
        # The node offers one setup, cached per index version: clear the cache so this call
        # has to read the registry.
        shutil.rmtree(net.folder("FR") / "data" / "compat", ignore_errors=True)
        request = pb.CompatSetupRequest().SerializeToString()
        with net.channel("DE", "FR") as ch, pytest.raises(grpc.RpcError) as info:
            list(ch.unary_stream("/fedlookup.v1.Federation/CompatSetup")(request, timeout=30))
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    finally:
        db.unlink()
        db.with_name("registry.db.away").rename(db)
    assert net.alive("FR")


def test_a_long_held_transport_sees_a_peer_back_within_seconds(net: RelNet) -> None:
    """A long-running asker (the desk) keeps its transport: after FR was down long enough
    for grpc's default backoff to reach tens of seconds, FR must be answered again within a
    few seconds of coming back (the transport dials afresh after a failed connection)."""
    cfg = net.network.nodes["DE"].config()
    creds = ClientCredentials.from_files(ca=cfg.tls.ca, cert=cfg.tls.cert, key=cfg.tls.key)
    with GrpcTransport("FR", net.endpoint("FR"), creds, server_check=ANY_SERVER) as t:
        assert t.node_info(timeout=5).country == "FR"
        net.procs.stop("FR")
        try:
            down_until = time.monotonic() + 15  # grpc's default would now wait 10 s or more
            failures = 0
            while time.monotonic() < down_until:
                with pytest.raises(PeerError):
                    t.node_info(timeout=1)
                failures += 1
                time.sleep(0.5)
        finally:
            net.start_again("FR")
        # FR serving again, as a fresh transport (no history) sees it:
        _until_answered(net, creds, within=60)
        back = time.monotonic()
        while True:
            try:
                t.node_info(timeout=2)
                break
            except PeerError:
                assert time.monotonic() - back < 20, "FR not answered 20 s after it came back"
                time.sleep(0.2)
        recovered = time.monotonic() - back
    assert failures >= 10
    # The first call after FR is back dials afresh (grpc's own backoff would wait 10 s or
    # more by now); a second or two allow for a loaded machine.
    assert recovered < 2.5, f"{recovered:.1f} s after a fresh transport saw FR again"


def _until_answered(net: RelNet, creds: ClientCredentials, *, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        with GrpcTransport("FR", net.endpoint("FR"), creds, server_check=ANY_SERVER) as fresh:
            try:
                fresh.node_info(timeout=2)
                return
            except PeerError:
                assert time.monotonic() < deadline, "FR did not start serving again"
        time.sleep(0.2)
