"""The compose topology of docker/ (DE, FR, NL; FR on PostgreSQL) as processes on loopback.

Same configuration files, same PKI job, same start script and same health check as the
containers (see ``docker_topology``): every node seeds its demo registry, indexes it and
starts, reports SERVING through the container health check, answers a hit check from DE
over mutual TLS and exposes its metrics; then the runbook's revocation procedure
(docs/operations.md, section 10) cuts NL off while every node keeps running.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker_topology import DOCKER, LoopbackNode, compose_nodes, lay_out, running

from registry_adapter import Record, RegistryStore

pytestmark = pytest.mark.integration

RECORDS = 300  # per country: enough for hits and misses, small enough to index in seconds


@dataclass
class Topology:
    nodes: Mapping[str, LoopbackNode]
    records: Mapping[str, list[Record]]


def _records(node: LoopbackNode) -> list[Record]:
    """A node's registry, read where its configuration says it is.

    Read to the end: the store's PostgreSQL cursor is released only then.
    """
    with RegistryStore(node.env["FEDLOOKUP_REGISTRY_URL"]) as store:
        return list(store.iter_records())


@pytest.fixture
def topology(tmp_path: Path, postgres_schema: str) -> Iterator[Topology]:
    nodes = lay_out(tmp_path, postgres_url=postgres_schema)
    # As the containers start: docker/node-start.sh fills each empty registry with demo
    # records (FR's in PostgreSQL), indexes it, then serves.
    with running(nodes, start_script=True, demo_records=RECORDS):
        yield Topology(nodes, {cc: _records(node) for cc, node in nodes.items()})


def test_the_topology_is_the_compose_file() -> None:
    specs = compose_nodes()
    assert [s.name for s in specs] == ["de", "fr", "nl"]
    for spec in specs:
        assert {"node.key", "node.pem", "audit.key"} <= set(spec.secrets)
        assert spec.config == (DOCKER / "config" / f"{spec.name}.toml").resolve()


def _check(asker: LoopbackNode, record: Record, *options: str) -> tuple[int, dict]:
    """``fedlookup check --json`` from ``asker`` for one firearm; exit code and report."""
    code, out = asker.run_status(
        "check", "--config", str(asker.config), "--make", record.make,
        "--serial", record.serial, "--case", "CASE-TOPOLOGY",
        "--purpose", "loopback topology test", "--json", *options,
        check=False,
    )  # fmt: skip
    return code, dict(json.loads(out))


def _metrics(node: LoopbackNode) -> str:
    url = f"http://127.0.0.1:{node.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


@pytest.mark.postgres
def test_the_topology_serves_answers_and_cuts_off_a_revoked_peer(topology: Topology) -> None:
    nodes = topology.nodes
    de, nl = nodes["DE"], nodes["NL"]
    for node in nodes.values():
        assert node.wait_healthy() == "SERVING"

    # A check from DE reaches FR (PostgreSQL) and NL (SQLite) over mutual TLS.
    code, report = _check(de, topology.records["FR"][0])
    assert code == 0
    assert report["complete"] is True
    assert set(report["peers"]) == {"FR", "NL"}
    assert all(p["status"] == "answered" for p in report["peers"].values())
    countries = report["results"][0]["countries"]
    assert countries["FR"]["outcome"] == "hit"
    assert countries["NL"]["outcome"] == "no-hit"
    for node in nodes.values():
        assert node.healthcheck().returncode == 0
    assert 'fedlookup_items_evaluated_total{peer="DE"}' in _metrics(nodes["FR"])

    # docs/operations.md, section 10, step 2: revoke NL and republish the CRL; DE refuses
    # NL's next call without a restart.
    de_record = topology.records["DE"][0]
    assert _check(nl, de_record, "--peer", "DE")[0] == 0
    pki = de.pki
    de.run("ca", "revoke", "--dir", str(pki / "ca"), "--cert",
           str(pki / "nodes" / "NL" / "tls" / "node.pem"), "--reason", "keyCompromise")  # fmt: skip
    de.republish_pki()
    code, report = _check(nl, de_record, "--peer", "DE")
    assert code == 1
    assert report["peers"]["DE"]["status"] in {"refused", "unavailable"}
    assert 'fedlookup_refusals_total{reason="RevokedError"}' in _metrics(de)

    # Step 3: NL leaves the directory; DE's checks no longer go to it.
    members = pki / "members.toml"
    text = members.read_text()
    members.write_text(text[: text.index('[[members]]\ncountry = "NL"')])  # NL was written last
    de.republish_pki()
    code, report = _check(de, topology.records["FR"][0])
    assert code == 0
    assert set(report["peers"]) == {"FR"}
