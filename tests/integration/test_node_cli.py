"""A node run from the command line (``fedlookup node serve``) in its own process.

The node logs JSON (set through the environment, ``FEDLOOKUP_NODE_LOG_FORMAT``), so each
refusal can be found in its log by reason: bad certificates refused by grpc's TLS layer
(expired, not yet valid, wrong usage, another CA, none at all through ``openssl
s_client``), and a certificate revoked after the node started (the new CRL is picked up
without a restart). Also: ``node init`` and ``node status`` from the CLI, a bad
configuration naming its field, and a graceful exit on SIGTERM.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pki_fixtures import ANY_SERVER, TestPKI

from certs import CAFiles, NodeCertFiles, issue_node_certificate, revoke
from federation.directory import Directory, load_directory, write_directory
from federation.grpc_transport import ClientCredentials, GrpcTransport
from fedlookup.errors import PeerRejectedError, PeerUnavailableError
from node.demo.network import NodeProcess, NodeProcesses, fedlookup_command
from node.demo.setup import Network, create_network, index_records, publish_directory

pytestmark = pytest.mark.integration

TIMEOUT = 10.0
#: An HTTP/2 client preface and an empty SETTINGS frame, as a gRPC call would open with.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


@dataclass
class Served:
    network: Network
    nodes: NodeProcesses
    de: NodeProcess
    bad: dict[str, NodeCertFiles]

    def log_records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.de.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def refusals(self) -> list[str]:
        return [
            f"{r.get('reason')}: {r.get('detail')}"
            for r in self.log_records()
            if r.get("event") == "refused"
        ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("cli")
    net = create_network(root, ["DE", "FR"])
    index_records(net.nodes["DE"], [("de-1", "Glock", "ABC123", "stolen")], workers=1)
    ca = CAFiles.open(net.ca_dir)
    now = datetime.now(UTC)
    bad_dir = root / "bad"
    bad = {
        "expired": issue_node_certificate(
            ca, "FR", bad_dir / "expired", not_before=now - timedelta(days=10), days=1
        ),
        "not_yet_valid": issue_node_certificate(
            ca, "FR", bad_dir / "nyv", not_before=now + timedelta(days=10), days=30
        ),
        "wrong_usage": issue_node_certificate(ca, "FR", bad_dir / "usage", usages=("serverAuth",)),
        "later_revoked": issue_node_certificate(ca, "FR", bad_dir / "revoked"),
    }
    env = {"FEDLOOKUP_NODE_LOG_FORMAT": "json"}
    with NodeProcesses(env=env) as nodes:
        de = nodes.start("DE", net.nodes["DE"].config_path)
        fr = nodes.start("FR", net.nodes["FR"].config_path)
        publish_directory(net, {"DE": de.endpoint, "FR": fr.endpoint}, version=2)
        yield Served(net, nodes, de, bad)


def _transport(served: Served, files: NodeCertFiles) -> GrpcTransport:
    creds = ClientCredentials.from_files(
        ca=served.network.ca_dir / "ca.pem", cert=files.cert_path, key=files.key_path
    )
    return GrpcTransport("DE", served.de.endpoint, creds, server_check=ANY_SERVER)


def test_two_cli_nodes_complete_a_check(served: Served) -> None:
    config = served.network.nodes["FR"].config_path
    command = [*fedlookup_command(), "check", "--config", str(config), "--json"]
    command += ["--make", "GLOCK", "--serial", "abc-123", "--case", "C-1", "--purpose", "test"]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert '"hit"' in result.stdout.decode()


def test_directory_change_applies_without_restart(served: Served) -> None:
    de_config = served.network.nodes["DE"].config()
    held = load_directory(de_config.directory.path, de_config.directory.authority)
    ca = CAFiles.open(served.network.ca_dir)
    without_fr = Directory(
        federation=held.federation,
        version=held.version + 1,
        issued_at=datetime.now(UTC),
        members=tuple(m for m in held.members if m.country != "FR"),
    )
    fr = NodeCertFiles.in_dir(served.network.nodes["FR"].folder / "tls")
    try:
        write_directory(without_fr, ca, de_config.directory.path)
        with _transport(served, fr) as t, pytest.raises(PeerRejectedError, match="PERMISSION"):
            t.node_info(timeout=TIMEOUT)
    finally:
        back = Directory(held.federation, held.version + 2, datetime.now(UTC), held.members)
        write_directory(back, ca, de_config.directory.path)
    with _transport(served, fr) as t:
        assert t.node_info(timeout=TIMEOUT).country == "DE"
    assert any(r.startswith("UnlistedPeerError: ") for r in served.refusals())


def test_valid_peer_is_served(served: Served) -> None:
    fr = NodeCertFiles.in_dir(served.network.nodes["FR"].folder / "tls")
    with _transport(served, fr) as t:
        info = t.node_info(timeout=TIMEOUT)
    assert info.country == "DE"
    assert info.index_version == 1


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("expired", "certificate has expired"),
        ("not_yet_valid", "certificate is not yet valid"),
        ("wrong_usage", "unsupported certificate purpose"),
    ],
)
def test_handshake_refusal_is_logged_with_its_reason(served: Served, bad: str, reason: str) -> None:
    with _transport(served, served.bad[bad]) as t, pytest.raises(PeerUnavailableError):
        t.node_info(timeout=TIMEOUT)
    _wait_for(lambda: any(reason in r for r in served.refusals()), served)
    # One line per refused connection, naming the caller's address (grpc's own TLS line,
    # which has no address, is kept at DEBUG).
    lines = [
        r
        for r in served.log_records()
        if r.get("reason") == "TLSHandshakeError" and reason in str(r.get("detail"))
    ]
    assert lines
    assert all(str(r.get("address", "")).startswith("ipv4:127.0.0.1:") for r in lines), lines


def test_certificate_from_another_ca_is_refused_and_logged(
    served: Served, test_pki: TestPKI
) -> None:
    other = test_pki.nodes["FR"]  # a good certificate, from another federation's CA
    with _transport(served, other) as t, pytest.raises(PeerUnavailableError):
        t.node_info(timeout=TIMEOUT)
    _wait_for(
        lambda: any("unable to get local issuer certificate" in r for r in served.refusals()),
        served,
    )


def _health(served: Served, files: NodeCertFiles) -> int:
    creds = grpc.ssl_channel_credentials(
        (served.network.ca_dir / "ca.pem").read_bytes(),
        files.key_path.read_bytes(),
        files.cert_path.read_bytes(),
    )
    with grpc.secure_channel(served.de.endpoint, creds) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT).status)


def test_revocation_applies_without_restart(served: Served) -> None:
    # Health answers members only: this certificate is valid but its key is not pinned, so
    # it is refused as a non-member until the revocation makes it refused as revoked.
    files = served.bad["later_revoked"]
    with pytest.raises(grpc.RpcError) as before:
        _health(served, files)
    assert before.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ca = CAFiles.open(served.network.ca_dir)
    revoke(ca, files.cert_path, "keyCompromise")
    node_crl = served.network.nodes["DE"].config().tls.crl
    shutil.copy(ca.crl_path, node_crl.with_name("crl.new"))
    node_crl.with_name("crl.new").replace(node_crl)  # what an operator's sync would do
    with pytest.raises(grpc.RpcError) as info:
        _health(served, files)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    _wait_for(lambda: any(r.startswith("RevokedError: ") for r in served.refusals()), served)


def _openssl_h2(served: Served, openssl: str, client: NodeCertFiles | None) -> bytes:
    """Open TLS with openssl, send an HTTP/2 preface and return what came back (bounded)."""
    command = [
        openssl, "s_client", "-connect", served.de.endpoint, "-alpn", "h2", "-quiet",
        "-CAfile", str(served.network.ca_dir / "ca.pem"), "-servername", "localhost",
    ]  # fmt: skip
    if client is not None:
        command += ["-cert", str(client.cert_path), "-key", str(client.key_path)]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(PREFACE)
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
            return os.read(process.stdout.fileno(), 9) if ready else b""
        finally:
            process.kill()


def test_openssl_without_client_certificate_cannot_call(served: Served) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    fr = NodeCertFiles.in_dir(served.network.nodes["FR"].folder / "tls")
    # Control: with a client certificate the node answers the preface with SETTINGS.
    answer = _openssl_h2(served, openssl, fr)
    assert len(answer) == 9
    assert answer[3] == 0x04  # HTTP/2 frame type SETTINGS
    # Without one, the TLS session ends before any HTTP/2 frame.
    assert _openssl_h2(served, openssl, None) == b""
    _wait_for(
        lambda: any("PEER_DID_NOT_RETURN_A_CERTIFICATE" in r for r in served.refusals()),
        served,
    )


def test_status_reports_index_and_health(served: Served) -> None:
    config = served.network.nodes["DE"].config_path
    command = [*fedlookup_command(), "node", "status", "--config", str(config), "--json"]
    command += ["--address", served.de.endpoint]
    result = subprocess.run(command, capture_output=True, timeout=60, check=True)
    doc = json.loads(result.stdout)
    assert doc["health"] == "SERVING"
    assert doc["index"]["version"] == 1


def test_sigterm_stops_the_node_gracefully(served: Served) -> None:
    code = served.nodes.stop("DE")
    assert code == 0
    events = [r.get("event") for r in served.log_records()]
    assert "stopping" in events
    assert events[-1] == "stopped"


def test_init_from_the_cli(tmp_path: Path) -> None:
    folder = tmp_path / "xx"
    command = [*fedlookup_command(), "node", "init", "--country", "XX", "--dir", str(folder)]
    result = subprocess.run([*command, "--json"], capture_output=True, timeout=60, check=True)
    assert json.loads(result.stdout)["audit_public_key"]
    assert (folder / "keys" / "audit.key").stat().st_mode & 0o777 == 0o600
    again = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert again.returncode == 2
    assert b"already initialised" in again.stderr


def test_bad_configuration_names_the_field(tmp_path: Path) -> None:
    folder = tmp_path / "yy"
    subprocess.run(
        [*fedlookup_command(), "node", "init", "--country", "YY", "--dir", str(folder)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    command = [*fedlookup_command(), "node", "serve", "--config", str(folder / "node.toml")]
    env = {"FEDLOOKUP_SERVER_MAX_WORKERS": "lots", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, capture_output=True, timeout=60, check=False, env=env)
    assert result.returncode == 2
    assert b"server.max_workers" in result.stderr
    assert b"FEDLOOKUP_SERVER_MAX_WORKERS" in result.stderr


def _wait_for(condition: Any, served: Served, attempts: int = 200) -> None:
    """The node writes its log asynchronously: poll it a bounded number of times."""
    import time

    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    pytest.fail("not in the node's log; refusals logged: " + "\n".join(served.refusals()))


def _node_with_records(tmp_path: Path, country: str, rows: str) -> Path:
    """A node folder from ``node init`` whose registry holds ``rows`` (CSV lines)."""
    from registry_adapter import RegistryStore

    folder = tmp_path / country.lower()
    subprocess.run(
        [*fedlookup_command(), "node", "init", "--country", country, "--dir", str(folder)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    csv = tmp_path / "records.csv"
    csv.write_text(
        "record_id,make,model,caliber,serial,category,recorded_at\n" + rows, encoding="utf-8"
    )
    with RegistryStore(str(folder / "data" / "registry.db")) as store:
        store.import_file(csv)
    return folder


def test_index_from_the_registry_through_the_cli(tmp_path: Path) -> None:
    rows = (
        "Z1,Glock,17,9mm,ABC123,stolen,2024-03-01\n"
        "Z2,S&W,686,.357 Magnum,DHB-1234,lost,2024-03-02\n"
    )
    folder = _node_with_records(tmp_path, "ZZ", rows)
    cli = fedlookup_command()
    config = str(folder / "node.toml")
    result = subprocess.run(
        [*cli, "node", "index", "--config", config, "--json", "--workers", "1"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["version"] == 1
    assert report["size"] == 4  # two records, two identifiers each
    status = subprocess.run(
        [*cli, "node", "status", "--config", config, "--json"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert json.loads(status.stdout)["index"]["size"] == 4


def test_damaged_index_store_refuses_to_serve_and_a_full_build_recovers(tmp_path: Path) -> None:
    folder = _node_with_records(tmp_path, "DD", "D1,Glock,17,9mm,ABC123,stolen,2024-03-01\n")
    cli = fedlookup_command()
    config = str(folder / "node.toml")
    index_cmd = [*cli, "node", "index", "--config", config, "--json", "--workers", "1"]
    subprocess.run(index_cmd, capture_output=True, timeout=120, check=True)
    store_file = folder / "data" / "index" / "index.sqlite3"
    data = bytearray(store_file.read_bytes())
    data[:100] = b"\xa5" * 100  # the SQLite header: "file is not a database"
    store_file.write_bytes(bytes(data))

    serve = subprocess.run(
        [*cli, "node", "serve", "--config", config], capture_output=True, timeout=60, check=False
    )
    assert serve.returncode == 2
    err = serve.stderr.decode()
    assert "Traceback" not in err
    assert "index store" in err
    assert "is damaged" in err
    assert "fedlookup node index --full" in err
    plain = subprocess.run(index_cmd, capture_output=True, timeout=120, check=False)
    assert plain.returncode == 2  # only a full build may start over
    assert b"node index --full" in plain.stderr

    full = subprocess.run([*index_cmd, "--full"], capture_output=True, timeout=120, check=True)
    assert json.loads(full.stdout)["size"] == 2
    assert b"damaged" in full.stderr
    assert len(list(store_file.parent.glob("index.sqlite3.damaged-*"))) >= 1
    status = subprocess.run(
        [*cli, "node", "status", "--config", config, "--json"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert json.loads(status.stdout)["index"]["size"] == 2
