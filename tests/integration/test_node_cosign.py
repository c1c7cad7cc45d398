"""Cosigning between real node processes on 127.0.0.1 over mutual TLS.

DE, FR and NL serve from their own processes; DE checks FR and NL, then each node's
``fedlookup node cosign`` has the serving node collect its peers' cosignatures. The
exported logs then verify under policies built from the signed directory that require
every peer's cosignature on the latest checkpoint.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pki_fixtures import ANY_SERVER

from audit.export import export_log
from audit.policy import Policy
from audit.records import read_records
from audit.verify import verify_export
from federation.directory import load_directory
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.hitcheck_types import CheckContext, CheckItem
from node.ask.asker import open_hit_check
from node.demo.network import NodeProcesses, fedlookup_command
from node.demo.setup import (
    Network,
    NetworkNode,
    create_network,
    index_records,
    pin_listen,
    publish_directory,
)
from node.serve.cosigning import trusted_policy
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

COUNTRIES = ("DE", "FR", "NL")
CONTEXT = CheckContext("CASE-COSIGN", "integration test", "", "tester")


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fedlookup_command(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class Round:
    """One ``fedlookup node cosign --json`` run."""

    returncode: int
    results: list[dict[str, Any]]
    stderr: str


def _cosign_all(nodes: list[NetworkNode]) -> dict[str, Round]:
    """``fedlookup node cosign`` for each node, all at once."""
    runs = {
        n.country: subprocess.Popen(
            [*fedlookup_command(), "node", "cosign", "--config", str(n.config_path), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in nodes
    }
    out = {}
    for country, run in runs.items():
        stdout, stderr = run.communicate(timeout=120)
        results = json.loads(stdout)["results"] if stdout.strip() else []
        out[country] = Round(run.returncode, results, stderr)
    return out


@dataclass
class Cosigned:
    network: Network
    nodes: NodeProcesses
    rounds: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def cosigned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cosigned]:
    root = tmp_path_factory.mktemp("cosign")
    net = create_network(root, list(COUNTRIES))
    records = {c: [(f"{c}-{i}", "Glock", f"{c}SER{i:04d}", "stolen") for i in range(5)]
               for c in COUNTRIES}  # fmt: skip
    for country, recs in records.items():
        index_records(net.nodes[country], recs, workers=1)
    with NodeProcesses() as nodes:
        nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
        publish_directory(net, {c: p.endpoint for c, p in nodes.nodes.items()}, version=2)
        asked = records["FR"][:2] + records["NL"][:2]
        items = []
        for _, make, serial, _ in asked:
            ids = record_identifiers(make, serial)
            items.append(CheckItem(make, serial, ids))
        with open_hit_check(net.nodes["DE"].config(), timeout=10) as check:
            assert check.run(items, CONTEXT).complete
        runs = _cosign_all(list(net.nodes.values()))
        for run in runs.values():
            assert run.returncode == 0, run
        rounds = {c: run.results for c, run in runs.items()}
        yield Cosigned(net, nodes, rounds)


def test_every_log_is_cosigned_by_every_peer(cosigned: Cosigned) -> None:
    de = cosigned.rounds["DE"]
    pairs = {(r["origin"], r["witness"]): r["status"] for r in de}
    assert pairs == {
        ("fedlookup/DE", "FR"): "cosigned",
        ("fedlookup/DE", "NL"): "cosigned",
        ("fedlookup/DE/outgoing", "FR"): "cosigned",
        ("fedlookup/DE/outgoing", "NL"): "cosigned",
    }
    fr = cosigned.rounds["FR"]
    assert {(r["origin"], r["status"]) for r in fr} == {("fedlookup/FR", "cosigned")}


def test_the_policy_command_requires_every_peer_and_the_export_meets_it(
    cosigned: Cosigned, tmp_path: Path
) -> None:
    config = cosigned.network.nodes["DE"].config()
    policy = tmp_path / "trusted-de.json"
    args = ["--directory", config.directory.path, "--authority", config.directory.authority]
    made = _cli("audit", "policy", *args, "--country", "DE", "--out", policy)
    assert made.returncode == 0, made.stderr
    trusted = Policy.load(policy)
    assert (trusted.origin, trusted.quorum, len(trusted.cosigners)) == ("fedlookup/DE", 2, 2)
    report = verify_export(export_log(config.audit_dir, tmp_path / "de").path, policy=trusted)
    assert report.ok, [f for f in report.findings if not f.valid]


@pytest.mark.parametrize(("country", "outgoing"), [("DE", True), ("FR", False), ("NL", False)])
def test_exports_verify_with_every_peer_cosignature_required(
    cosigned: Cosigned, tmp_path: Path, country: str, outgoing: bool
) -> None:
    config = cosigned.network.nodes[country].config()
    log = config.layout.audit_outgoing if outgoing else config.audit_dir
    export = export_log(log, tmp_path / "export")
    directory = load_directory(config.directory.path, config.directory.authority)
    policy = trusted_policy(directory, country, outgoing=outgoing)
    report = verify_export(export.path, policy=policy)
    assert report.ok, [f for f in report.findings if not f.valid]
    assert policy.quorum == 2


def test_over_the_wire_a_node_witnesses_only_the_callers_own_logs(cosigned: Cosigned) -> None:
    fr = cosigned.network.nodes["FR"].config()
    de_log = cosigned.network.nodes["DE"].config().audit_dir
    de_checkpoint = read_records(de_log / "checkpoints.rec")
    credentials = ClientCredentials.from_files(ca=fr.tls.ca, cert=fr.tls.cert, key=fr.tls.key)
    endpoint = cosigned.nodes.nodes["NL"].endpoint
    with GrpcTransport("NL", endpoint, credentials, server_check=ANY_SERVER) as nl:
        status, body = nl.add_checkpoint(b"old 0\n\n" + de_checkpoint[-1], timeout=10)
        assert (status, body) == (404, b"unknown log\n")  # DE's log, sent by FR
        assert nl.add_checkpoint(b"garbage", timeout=10)[0] == 400


def _restart(cosigned: Cosigned, country: str, port: int) -> None:
    node = cosigned.network.nodes[country]
    pin_listen(node, port)
    cosigned.nodes.start(country, node.config_path)


def test_with_a_node_stopped_its_round_runs_locally_and_its_peers_see_it_down(
    cosigned: Cosigned,
) -> None:
    de = cosigned.network.nodes["DE"].config()
    with open_hit_check(de, peers=["FR"], timeout=10) as check:  # FR's log grows
        ids = record_identifiers("Glock", "NOSUCH1")
        check.run([CheckItem("Glock", "NOSUCH1", ids)], CONTEXT)
    nl = cosigned.network.nodes["NL"]
    port = cosigned.nodes.nodes["NL"].port
    cosigned.nodes.stop("NL")
    try:
        runs = _cosign_all([nl, cosigned.network.nodes["FR"]])
    finally:
        _restart(cosigned, "NL", port)
    local, fr = runs["NL"], runs["FR"]
    assert local.returncode == 0, local
    assert {r["status"] for r in local.results} == {"current"}
    assert fr.returncode == 1, fr
    statuses = {r["witness"]: r["status"] for r in fr.results}
    assert statuses == {"DE": "cosigned", "NL": "unavailable"}
