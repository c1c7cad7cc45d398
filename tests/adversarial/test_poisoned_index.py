"""A member with FR's stolen TLS key serves a poisoned FR index: it never reaches a mirror.

DE checks a serial against FR (its mirror of FR is now current). Then FR is stopped and a
member process holding FR's *TLS* certificate and key (valid, pinned, not revoked: the
answering-node check passes) serves at FR's endpoint, announcing a newer FR index: a
well-formed blob missing FR's records, its head signed with the member's own audit key,
not FR's. DE must report FR ``unavailable`` naming the refused index head, keep its mirror
of FR byte for byte, and log no answer from FR.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile import fedlookup, member_process
from pki_fixtures import ANY_SERVER
from reliability.relnet import RelNet, audit_kinds

from federation.grpc_transport import GrpcTransport

pytestmark = pytest.mark.integration


def _check(net: RelNet) -> dict[str, str]:
    run = fedlookup(
        "check", "--config", net.folder("DE") / "node.toml", "--peer", "FR",
        "--make", "Glock", "--serial", "FR000000", "--case", "C-1", "--purpose", "p", "--json",
    )  # fmt: skip
    fr: dict[str, str] = json.loads(run.stdout)["results"][0]["countries"]["FR"]
    return fr


def test_a_poisoned_index_signed_by_another_key_never_reaches_the_mirror(tmp_path: Path) -> None:
    with RelNet.start(tmp_path / "net", ["DE", "FR", "NL"], records=5) as net:
        assert _check(net)["outcome"] == "hit"  # FR000000 is FR's stolen Glock
        with GrpcTransport("FR", net.endpoint("FR"), net.credentials("DE"),
                           server_check=ANY_SERVER) as fr:  # fmt: skip
            epoch = fr.node_info(timeout=10).epoch_id
        mirrors = net.folder("DE") / "data" / "mirrors"
        before = {p.name: p.read_bytes() for p in mirrors.rglob("*") if p.is_file()}
        assert before
        kinds_before = audit_kinds(net.outgoing_dir("DE"))
        tls, record = net.folder("FR") / "tls", tmp_path / "calls.jsonl"
        port = str(net.ports["FR"])
        net.procs.stop("FR")
        with member_process(
            "poisoner", "--port", port, "--cert", str(tls / "node.pem"),
            "--key", str(tls / "node.key"), "--ca", str(tls / "ca.pem"),
            "--audit-key", str(net.folder("NL") / "keys" / "audit.key"),
            "--epoch", epoch, "--version", "99", "--record", str(record),
        ):  # fmt: skip
            fr_result = _check(net)
        after = {p.name: p.read_bytes() for p in mirrors.rglob("*") if p.is_file()}
        new_kinds = audit_kinds(net.outgoing_dir("DE"))[len(kinds_before) :]
    # What DE did: FR unavailable, the refused head named; its mirror untouched.
    assert fr_result["outcome"] == "unavailable", fr_result
    assert "index head refused" in fr_result["reason"], fr_result
    assert after == before
    # What the member got: NodeInfo and SyncIndex only, never a statement.
    calls = [json.loads(line)["method"] for line in record.read_text().splitlines()]
    assert "SyncIndex" in calls
    assert "Evaluate" not in calls
    # DE's outgoing log: no query was sent to the poisoner.
    assert "query_sent" not in new_kinds, new_kinds
