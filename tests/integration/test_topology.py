"""The compose topology of docker/ (DE, FR, NL; FR on PostgreSQL) as processes on loopback.

Same configuration files, same PKI job, same start script and same health check as the
containers (see ``docker_topology``): every node seeds its demo registry, indexes it and
starts, reports SERVING through the container health check, answers a hit check from DE
over mutual TLS and exposes its metrics; then the runbook's revocation procedure
(docs/operations.md, section 10) cuts NL off while every node keeps running.
"""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from docker_topology import (
    COMPOSE,
    DOCKER,
    LoopbackNode,
    bin_dir,
    compose_desks,
    compose_nodes,
    lay_out,
    running,
)
from docker_topology_desk import LoopbackDesk
from ruamel.yaml import YAML

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
    (desk,) = compose_desks()
    assert desk.name == "de-desk"
    assert desk.config == specs[0].config
    # The node's asking credentials, and the desk's own HTTPS key pair.
    assert set(desk.secrets) == {"node.key", "node.pem", "audit.key", "desk.key", "desk.pem"}
    assert {k: v for k, v in desk.secrets.items() if k in specs[0].secrets} == specs[0].secrets


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """A service's mounts: target -> (source, read-only)."""
    out = {}
    for vol in service["volumes"]:
        if isinstance(vol, str):
            source, target = vol.split(":")[:2]
            out[target] = (source, vol.endswith(":ro"))
        else:
            out[vol["target"]] = (vol["source"], bool(vol.get("read_only")))
    return out


def test_the_desk_service_shares_what_the_desk_uses_and_nothing_more() -> None:
    services = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))["services"]
    node, desk = services["de"], services["de-desk"]
    node_mounts, desk_mounts = _mounts(node), _mounts(desk)
    state = "/var/lib/fedlookup"
    # Its desk lock, database, openings and the follow-up queue live in the node's state
    # volume; it writes the outgoing log and the mirrors; reads the registry (follow-up
    # releases) and the node's own log (auditor page, read-only).
    assert set(desk_mounts) == {
        "/etc/fedlookup/federation", state, f"{state}/mirrors", f"{state}/audit-outgoing",
        f"{state}/registry", f"{state}/audit",
    }  # fmt: skip
    for target, (source, _) in desk_mounts.items():
        assert node_mounts[target][0] == source, target
    assert desk_mounts[f"{state}/audit"][1] is True
    assert desk_mounts["/etc/fedlookup/federation"][1] is True
    # Never the epoch keys nor the index: the desk asks, it does not answer.
    assert f"{state}/keys" not in desk_mounts
    assert f"{state}/index" not in desk_mounts
    assert desk["read_only"] is True
    assert desk["cap_drop"] == ["ALL"]
    assert desk["security_opt"] == ["no-new-privileges:true"]
    assert desk["logging"] == node["logging"]
    assert desk["ports"] == ["127.0.0.1:8443:8443"]
    assert all("ports" not in services[name] for name in ("de", "fr", "nl"))


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


def _https(
    port: int, context: ssl.SSLContext, method: str, path: str, body: str, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=context)
    try:
        conn.request(method, path, body=body.encode(), headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        conn.close()


def test_the_desk_container_command_serves_checks_over_https(tmp_path: Path) -> None:
    nodes = lay_out(tmp_path, postgres_url=None, only={"DE", "NL"})
    de, nl = nodes["DE"], nodes["NL"]
    (spec,) = compose_desks()
    with running(nodes, start_script=True, demo_records=RECORDS):
        record = _records(nl)[0]
        desk = LoopbackDesk(spec, de)
        try:
            # The container's own command, with the certificate the pki job issued.
            desk.start()
            health = desk.healthcheck()
            assert health.returncode == 0, health.stderr
            assert health.stdout.strip() == "SERVING"
            other = desk.healthcheck(env={"FEDLOOKUP_DESK_TLS_CERT": str(nl.config)})
            assert other.returncode == 1
            assert other.stderr.startswith("unhealthy: desk: ")
            impostor = str(de.folder / "secrets" / "node.pem")
            other = desk.healthcheck(env={"FEDLOOKUP_DESK_TLS_CERT": impostor})
            assert other.returncode == 1
            assert "another certificate than desk.tls_cert" in other.stderr

            # The runbook's commands (`docker compose exec de-desk fedlookup desk ...`).
            config = str(de.config)
            password = de.run("desk", "user", "add", "ida", "--config", config,
                              "--role", "investigator").strip()  # fmt: skip
            token = de.run("desk", "token", "add", "case-system", "--config", config,
                           "--role", "investigator").strip()  # fmt: skip

            # Investigators trust the desks' web CA the pki job published.
            context = ssl.create_default_context(cafile=str(de.pki / "desk-ca.pem"))
            form = urlencode({"name": "ida", "password": password})
            as_form = {"Content-Type": "application/x-www-form-urlencoded"}
            status, headers, _ = _https(desk.port, context, "POST", "/login", form, as_form)
            assert status == 303
            cookie = headers["Set-Cookie"]
            assert cookie.startswith("__Host-")
            assert "Secure" in cookie
            check = {"case": "CASE-DESK", "purpose": "compose desk test",
                     "firearms": [{"make": record.make, "serial": record.serial}]}  # fmt: skip
            status, _, body = _https(desk.port, context, "POST", "/api/v1/checks",
                                     json.dumps(check),
                                     {"Authorization": f"Bearer {token}",
                                      "Content-Type": "application/json"})  # fmt: skip
            assert status == 200, body
            countries = json.loads(body)["results"][0]["countries"]
            assert countries["NL"]["outcome"] == "hit"

            # The desk is the single writer of DE's outgoing log: the CLI refuses, naming it.
            refused = subprocess.run(
                [str(bin_dir() / "fedlookup"), "check", "--config", config,
                 "--make", record.make, "--serial", record.serial,
                 "--case", "CASE-DESK", "--purpose", "compose desk test"],
                env=de.env, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert refused.returncode != 0
            assert f"a desk serves this node at https://127.0.0.1:{desk.port}" in refused.stderr
        finally:
            code = desk.stop()
        assert code == 0
        log = desk.log.read_text(encoding="utf-8")
        assert '"event": "serving"' in log
        assert record.serial not in log
        # Stopped, it has let the log go: DE's command line checks again.
        code, report = _check(de, record)
        assert code == 0
        assert report["results"][0]["countries"]["NL"]["outcome"] == "hit"
