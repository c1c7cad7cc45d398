"""A member answers at another member's endpoint: the asker sends it nothing.

FR's node is stopped and a process holding another valid certificate serves at FR's
endpoint: NL's member certificate, a federation certificate for a country not in the
directory, or FR's own certificate after the authority revoked it (the key was stolen).
DE's investigator then checks a serial against FR. Each time DE must report FR
``unavailable`` with a reason naming the mismatch, the impostor must have received no call
at all (the statement, case and purpose never left DE), DE's mirror of FR's index must be
untouched, and DE's outgoing audit log must hold no query to FR.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import fedlookup, member_process
from reliability.relnet import RelNet, audit_kinds

from certs import (
    CAFiles,
    PeerAuthenticator,
    ReloadingPeerVerifier,
    issue_node_certificate,
    revoke,
)
from federation.directory import load_directory
from node.config import NodeConfig
from node.serve.health import peer_health

pytestmark = pytest.mark.integration

CASES = {
    # case: (what the impostor presents, words DE's reason must contain)
    "other_member": ("NL", "certificate is for NL, expected FR"),
    "unlisted_country": ("BE", "certificate is for BE, expected FR"),
    "revoked_key": ("FR-revoked", "revoked"),
}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    """DE, FR, NL serving; FR is stopped by each test and started again after."""
    with RelNet.start(tmp_path_factory.mktemp("impostor"), ["DE", "FR", "NL"], records=20) as n:
        yield n


def _impostor_files(net: RelNet, who: str, tmp: Path) -> tuple[Path, Path]:
    ca = CAFiles.open(net.network.ca_dir)
    if who == "BE":
        files = issue_node_certificate(ca, "BE", tmp / "be")
        return files.cert_path, files.key_path
    if who == "FR-revoked":
        tls = net.folder("FR") / "tls"
        cert, key = tmp / "fr.pem", tmp / "fr.key"
        shutil.copyfile(tls / "node.pem", cert)
        shutil.copyfile(tls / "node.key", key)
        revoke(ca, cert, "keyCompromise")
        shutil.copyfile(ca.crl_path, net.folder("DE") / "tls" / "crl.pem")  # DE has the CRL
        return cert, key
    tls = net.folder(who) / "tls"
    return tls / "node.pem", tls / "node.key"


def test_the_peer_probe_reports_an_impostor_as_unreachable(net: RelNet, tmp_path: Path) -> None:
    """(Runs before the cases below: the last of them revokes FR's own certificate.)

    DE's health probe of FR (``fedlookup_peer_up``) goes over the same authenticated link:
    NL's certificate at FR's endpoint is not FR being up, and the impostor gets no request."""
    cfg = NodeConfig.from_toml(net.folder("DE") / "node.toml")
    directory = load_directory(cfg.directory.path, cfg.directory.authority)
    servers = PeerAuthenticator(ReloadingPeerVerifier([cfg.tls.ca], [cfg.tls.crl]), directory)
    endpoint = f"127.0.0.1:{net.ports['FR']}"
    assert peer_health(cfg, "FR", endpoint, servers) == "SERVING"
    cert, key = _impostor_files(net, "NL", tmp_path)
    record = tmp_path / "calls.jsonl"
    net.procs.stop("FR")
    try:
        with member_process(
            "impostor", "--port", str(net.ports["FR"]), "--cert", str(cert), "--key", str(key),
            "--ca", str(net.folder("DE") / "tls" / "ca.pem"), "--record", str(record),
        ):  # fmt: skip
            status = peer_health(cfg, "FR", endpoint, servers)
    finally:
        net.start_again("FR")
    assert status.startswith("unreachable (answering node is not FR"), status
    assert "certificate is for NL, expected FR" in status
    assert record.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize("case", sorted(CASES))
def test_impostor_at_fr_endpoint_gets_nothing(net: RelNet, case: str, tmp_path: Path) -> None:
    who, expected = CASES[case]
    cert, key = _impostor_files(net, who, tmp_path)
    mirror = net.folder("DE") / "data" / "mirrors"
    before = {p.name: p.read_bytes() for p in mirror.glob("*")} if mirror.exists() else {}
    outgoing_before = audit_kinds(net.outgoing_dir("DE")) if net.outgoing_dir("DE").exists() else []
    record = tmp_path / "calls.jsonl"
    port = str(net.ports["FR"])
    net.procs.stop("FR")
    try:
        with member_process(
            "impostor", "--port", port, "--cert", str(cert), "--key", str(key),
            "--ca", str(net.folder("DE") / "tls" / "ca.pem"), "--record", str(record),
        ):  # fmt: skip
            run = fedlookup(
                "check", "--config", net.folder("DE") / "node.toml", "--peer", "FR",
                "--make", "Glock", "--serial", "FR000000",
                "--case", "CASE-1", "--purpose", "impostor test", "--json",
            )  # fmt: skip
    finally:
        net.start_again("FR")
    # What DE did: FR is unavailable, with the mismatch named.
    report = json.loads(run.stdout)
    fr = report["results"][0]["countries"]["FR"]
    assert fr["outcome"] == "unavailable", report
    assert "answering node is not FR" in fr["reason"], fr
    assert expected in fr["reason"], fr
    # What the impostor got: nothing but a handshake.
    assert record.read_text(encoding="utf-8") == ""
    # What DE's records show: the refused server in its log, no query to FR, mirror untouched.
    assert f"refused server FR at 127.0.0.1:{port}: " in run.stderr, run.stderr
    assert expected in run.stderr
    after = {p.name: p.read_bytes() for p in mirror.glob("*")} if mirror.exists() else {}
    assert after == before
    new_kinds = audit_kinds(net.outgoing_dir("DE"))[len(outgoing_before) :]
    assert "query_sent" not in new_kinds, new_kinds
