"""A peer sweeping a serial range is cut off at its daily quota, exactly, across restarts,
and the sweep stands out in the audit report.

FR asks DE about one serial-only identifier per request (the cheapest sweep there is)
under DE's quota of :data:`QUOTA` items a day. Exactly :data:`QUOTA` requests are
answered, every later one is refused RESOURCE_EXHAUSTED, also after DE restarts; DE's
exported log verifies, and ``fedlookup audit report`` flags FR's quota exhaustion.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pki_fixtures import ANY_SERVER
from relnet import RelNet, audit_kinds

from audit.keys import load_private_key
from audit.statements import QueryStatement, sign
from federation.evaluation import BlindedQuery
from federation.grpc_transport import GrpcTransport
from fedlookup.errors import PeerRejectedError
from node.demo.network import fedlookup_command
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

QUOTA = 25
SWEEP = 40


@pytest.fixture(scope="module")
def quota_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    root = tmp_path_factory.mktemp("enum")
    with RelNet.start(
        root, ["DE", "FR"], records=30, items_per_day=QUOTA, max_items_per_request=10
    ) as running:
        yield running


def sweep(net: RelNet, serials: range) -> list[str]:
    """Ask DE about each serial alone; return 'answered' or the refusal's status per serial."""
    key = load_private_key(net.network.nodes["FR"].config().audit.key)
    out = []
    with GrpcTransport(
        "DE", net.endpoint("DE"), net.credentials("FR"), server_check=ANY_SERVER
    ) as t:
        for n in serials:
            item = record_identifiers("Glock", f"DE{n:06d}").serial_only
            st = QueryStatement(
                request_id=QueryStatement.new_request_id(),
                from_country="FR",
                to_country="DE",
                case_id="SWEEP",
                purpose="investigation",
                legal_basis="test",
                investigator="sweeper",
                item_count=1,
                commitment=bytes(32),
            )
            data = st.canonical()
            query = BlindedQuery.create([item])
            try:
                t.evaluate(data, sign(data, key), query.request, timeout=10)
                out.append("answered")
            except PeerRejectedError as exc:
                out.append(exc.reason.split(":")[1].strip())
    return out


def test_sweep_is_cut_off_at_the_quota_exactly(quota_net: RelNet) -> None:
    results = sweep(quota_net, range(SWEEP))
    assert results[:QUOTA] == ["answered"] * QUOTA
    assert results[QUOTA:] == ["RESOURCE_EXHAUSTED"] * (SWEEP - QUOTA)


def test_the_cut_off_survives_a_restart(quota_net: RelNet) -> None:
    quota_net.restart("DE")
    assert sweep(quota_net, range(SWEEP, SWEEP + 5)) == ["RESOURCE_EXHAUSTED"] * 5
    quota_net.procs.kill("DE")  # a crash, not a clean stop
    quota_net.start_again("DE")
    assert sweep(quota_net, range(SWEEP + 5, SWEEP + 8)) == ["RESOURCE_EXHAUSTED"] * 3


def test_the_sweep_stands_out_in_the_audit_report(quota_net: RelNet, tmp_path: Path) -> None:
    kinds = audit_kinds(quota_net.audit_dir("DE"))
    assert kinds.count("query_received") == QUOTA  # one entry per answered request
    quota_net.procs.stop("DE")
    cfg = quota_net.network.nodes["DE"].config()
    export = tmp_path / "export"
    cli = fedlookup_command()
    subprocess.run(
        [
            *cli,
            "audit",
            "export",
            "--log",
            str(cfg.audit_dir),
            "--out",
            str(export),
            "--key",
            str(cfg.audit.key),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    report = subprocess.run(
        [*cli, "audit", "report", str(export), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["verified"] is True
    assert any("FR ran into its quota" in f and "enumeration" in f for f in doc["flags"])
    incoming = [q for q in doc["queries"] if q["direction"] == "in" and q["peer"] == "FR"]
    assert sum(q["items"] for q in incoming) == QUOTA
    quota_net.start_again("DE")
