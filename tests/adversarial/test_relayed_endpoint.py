"""A member relays an asker's first connection to the real node, then answers itself.

The directory lists FR's endpoint at a process run by a member holding NL's valid
certificate. It relays the *first* TCP connection it accepts byte for byte to the real FR
node and answers every later connection itself (``members/relay.py``). An asker that
authenticated FR on one connection (a probe) and sent its requests on another would send
them to the relay; the asker must instead authenticate every connection that carries its
bytes: the relayed connection reaches the real FR end to end (the relay sees only
ciphertext), and every later one is refused before anything is sent. The member records
every call it receives in plaintext; the record must stay empty.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import fedlookup, member_process
from reliability.relnet import RelNet, audit_kinds

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    """DE, FR, NL serving."""
    with RelNet.start(tmp_path_factory.mktemp("relay"), ["DE", "FR", "NL"], records=20) as n:
        yield n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check(net: RelNet) -> tuple[dict[str, str], str]:
    run = fedlookup(
        "check", "--config", net.folder("DE") / "node.toml", "--peer", "FR",
        "--make", "Beretta", "--serial", "FR000001",
        "--case", "CASE-R", "--purpose", "relay test", "--json",
    )  # fmt: skip
    report = json.loads(run.stdout)
    return report["results"][0]["countries"]["FR"], run.stderr


def test_a_relayed_first_connection_gets_the_relay_nothing(net: RelNet, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    real = net.ports["FR"]
    relay_port = _free_port()
    net.ports["FR"] = relay_port
    net.publish()  # the directory now lists the relay as FR's endpoint
    try:
        with member_process(
            "relay", "--port", str(relay_port), "--upstream", f"127.0.0.1:{real}",
            "--cert", str(net.folder("NL") / "tls" / "node.pem"),
            "--key", str(net.folder("NL") / "tls" / "node.key"),
            "--ca", str(net.folder("DE") / "tls" / "ca.pem"), "--record", str(record),
        ):  # fmt: skip
            first, _ = _check(net)  # its one connection is relayed to the real FR
            outgoing_before = audit_kinds(net.outgoing_dir("DE"))
            second, log = _check(net)  # a new connection: the relay answers it itself
    finally:
        net.ports["FR"] = real
        net.publish()
    # The relayed connection was FR's, end to end: a real answer from FR's registry.
    assert record.read_text(encoding="utf-8") == "", (first, record.read_text())
    assert first["outcome"] == "hit", first
    # The later connection was the relay's own: refused before anything was sent.
    assert second["outcome"] == "unavailable", second
    assert "answering node is not FR" in second["reason"], second
    assert "certificate is for NL, expected FR" in second["reason"], second
    assert f"refused server FR at 127.0.0.1:{relay_port}: " in log, log
    # What the member received in plaintext: nothing at all.
    assert record.read_text(encoding="utf-8") == ""
    new_kinds = audit_kinds(net.outgoing_dir("DE"))[len(outgoing_before) :]
    assert "query_sent" not in new_kinds, new_kinds
