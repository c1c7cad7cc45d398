"""Hit checks between real node processes on 127.0.0.1 over mutual TLS.

Three nodes (DE, FR, NL) laid out by the demo's set-up code, each serving from its own
process; DE checks through gRPC. Destructive tests (a killed or frozen peer) bring the peer
back before they end, on the same port.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit.entries import LogEntry
from federation.hitcheck_types import CheckContext, CheckItem, Outcome
from federation.keys import EpochKeyStore
from node.ask.asker import open_hit_check
from node.config import NodeConfig
from node.demo.network import NodeProcesses, fedlookup_command
from node.demo.setup import Network, create_network, index_records, pin_listen, publish_directory
from registry_adapter.identifiers import record_identifiers

pytestmark = pytest.mark.integration

CONTEXT = CheckContext("CASE-IT", "integration test", "", "tester")
ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
MAKES = ("Glock", "Beretta", "Walther", "Sig Sauer", "CZ")


def _registry(code: str, n: int, seed: int) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    return [
        (
            f"{code}-{i}",
            rng.choice(MAKES),
            code + "".join(rng.choices(ALPHABET, k=7)),
            rng.choice(("registered", "stolen", "lost", "exported")),
        )
        for i in range(n)
    ]


@dataclass
class Running:
    network: Network
    nodes: NodeProcesses
    fr: list[tuple[str, str, str, str]]
    nl: list[tuple[str, str, str, str]]

    def restart(self, country: str, port: int) -> None:
        node = self.network.nodes[country]
        self.nodes.stop(country)
        pin_listen(node, port)
        self.nodes.start(country, node.config_path)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("net")
    net = create_network(root, ["DE", "FR", "NL"], max_items_per_request=40)
    regs = {c: _registry(c, 300, seed) for seed, c in enumerate(("DE", "FR", "NL"))}
    for country, records in regs.items():
        index_records(net.nodes[country], records, workers=1)
    with NodeProcesses() as nodes:
        nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
        endpoints = {c: p.endpoint for c, p in nodes.nodes.items()}
        publish_directory(net, endpoints, version=2)
        yield Running(net, nodes, regs["FR"], regs["NL"])


def _items(records: list[tuple[str, str, str, str]]) -> list[CheckItem]:
    out = []
    for _, make, serial, _ in records:
        ids = record_identifiers(make, serial)
        out.append(CheckItem(make, serial, ids))
    return out


def test_planted_overlaps_are_found_over_grpc(running: Running) -> None:
    asked = running.fr[:15] + running.nl[:15]
    config = running.network.nodes["DE"].config()
    with open_hit_check(config, timeout=10) as check:
        result = check.run(_items(asked), CONTEXT)
    assert result.complete, result.peers
    for i, (_, _, _, category) in enumerate(asked):
        country = "FR" if i < 15 else "NL"
        assert result.answers[i][country].outcome is Outcome.HIT
        assert result.answers[i][country].labels[0].category == category
    assert result.count(Outcome.HIT) == len(asked)


def test_a_peer_killed_mid_check_is_unavailable_and_the_rest_is_answered(
    running: Running,
) -> None:
    port = running.nodes.nodes["FR"].port
    asked = running.fr[:100]  # 5 requests of 20 firearms each
    config = running.network.nodes["DE"].config()

    def kill_after_first_chunk(country: str, done: int) -> None:
        if country == "FR" and "FR" in running.nodes.nodes:
            running.nodes.kill("FR")

    try:
        with open_hit_check(config, timeout=5) as check:
            result = check.run(_items(asked), CONTEXT, progress=kill_after_first_chunk)
    finally:
        running.restart("FR", port)
    fr = result.peers["FR"]
    assert fr.status == "partial"
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    assert result.answers[-1]["FR"].outcome is Outcome.UNAVAILABLE
    assert result.peers["NL"].status == "answered"


def test_a_frozen_peer_is_unavailable_within_the_deadline(running: Running) -> None:
    config = running.network.nodes["DE"].config()
    running.nodes.suspend("NL")
    try:
        with open_hit_check(config, timeout=1.0) as check:
            result = check.run(_items(running.fr[:2]), CONTEXT)
    finally:
        running.nodes.resume("NL")
    assert result.answers[0]["NL"].outcome is Outcome.UNAVAILABLE
    assert "deadline" in result.answers[0]["NL"].reason
    assert result.answers[0]["FR"].outcome is Outcome.HIT


def test_the_askers_own_limit_from_node_toml_cuts_a_batch_into_smaller_requests(
    running: Running,
) -> None:
    # FR publishes 40 items per request; DE's own [ask] cap of 5 must win, in whole firearms.
    asked = _items(running.fr[40:52])
    sizes = [len(item.under(frozenset({"v2"})).items()) for item in asked]
    assert 5 < sum(sizes) <= 40  # one request under FR's limit alone
    de = running.network.nodes["DE"].config_path
    capped = de.with_name("node-ask-capped.toml")
    capped.write_text(de.read_text(encoding="utf-8") + "\n[ask]\nmax_items_per_request = 5\n")
    config = NodeConfig.from_toml(capped, env={})
    assert config.ask.max_items_per_request == 5
    with open_hit_check(config, peers=["FR"], timeout=10) as check:
        result = check.run(asked, CONTEXT)
        log = check.auditor.log  # type: ignore[attr-defined]
        entries = [LogEntry.parse(log.entry(i)) for i in range(log.size)]
    fr = result.peers["FR"]
    assert fr.status == "answered", fr
    sent = {e["request_id"]: e["items"] for e in entries if e.kind == "query_sent"}
    per_request = [sent[r] for r in fr.request_ids]
    assert sum(per_request) == sum(sizes)
    assert max(per_request) <= 5
    assert len(per_request) >= -(-sum(sizes) // 5)
    assert all(a["FR"].outcome is Outcome.HIT for a in result.answers)
    with open_hit_check(running.network.nodes["DE"].config(), peers=["FR"], timeout=10) as check:
        uncapped = check.run(asked, CONTEXT)
    assert len(uncapped.peers["FR"].request_ids) == 1


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fedlookup_command(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_check_cli_json_and_csv_batch(running: Running, tmp_path: Path) -> None:
    config = str(running.network.nodes["DE"].config_path)
    _, make, serial, category = running.nl[20]
    messy = f"{serial.lower()[:4]}-{serial.lower()[4:]}"
    single = _cli(
        "check", "--config", config, "--make", make.upper(), "--serial", messy,
        "--case", "C-1", "--purpose", "test", "--json",
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    doc = json.loads(single.stdout)
    assert doc["schema"] == "fedlookup.check/v1"
    nl = doc["results"][0]["countries"]["NL"]
    assert (nl["outcome"], nl["matches"][0]["category"]) == ("hit", category)
    assert doc["results"][0]["countries"]["FR"]["outcome"] == "no-hit"

    batch = tmp_path / "seized.csv"
    rows = ["make,serial"] + [f"{m},{s}" for _, m, s, _ in running.fr[30:40]] + ["Glock,ZZ9999"]
    batch.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = _cli(
        "check", "--config", config, "--file", str(batch),
        "--case", "C-2", "--purpose", "test", "--format", "csv",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("make,serial,country,outcome")
    fr_rows = [line for line in lines[1:] if ",FR," in line]
    assert sum(",hit," in line for line in fr_rows) == 10
    assert sum(",no-hit," in line for line in fr_rows) == 1


def test_check_cli_exit_codes(running: Running, tmp_path: Path) -> None:
    config = str(running.network.nodes["DE"].config_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("make,serial\nGlock,\n", encoding="utf-8")
    refused = _cli("check", "--config", config, "--file", str(bad), "--case", "C", "--purpose", "p")
    assert refused.returncode == 2
    assert "line 2" in refused.stderr or ":2:" in refused.stderr

    port = running.nodes.nodes["NL"].port
    running.nodes.stop("NL")
    try:
        partial = _cli(
            "check", "--config", config, "--make", "Glock", "--serial", "AB123456",
            "--case", "C", "--purpose", "p", "--timeout", "2", "--json",
        )  # fmt: skip
    finally:
        running.restart("NL", port)
    assert partial.returncode == 1, partial.stderr
    assert json.loads(partial.stdout)["peers"]["NL"]["status"] == "unavailable"


def test_index_updates_and_key_rotation_reach_a_running_asker(running: Running) -> None:
    config = running.network.nodes["DE"].config()
    fr_node = running.network.nodes["FR"]
    new = ("FR-new", "Walther", "FRNEW12345", "lost")
    with open_hit_check(config, timeout=10) as check:
        before = check.run(_items([new, running.fr[0]]), CONTEXT)
        assert before.answers[0]["FR"].outcome is Outcome.NO_HIT
        running.fr.append(new)
        index_records(fr_node, running.fr, workers=1)  # the FR node serves on meanwhile
        added = check.run(_items([new]), CONTEXT)
        assert added.peers["FR"].sync == "delta"
        assert added.answers[0]["FR"].outcome is Outcome.HIT

        EpochKeyStore(fr_node.config().epoch_key_dir).rotate()
        index_records(fr_node, running.fr, workers=1)
        rotated = check.run(_items([new, running.fr[0]]), CONTEXT)
    assert rotated.peers["FR"].sync == "full"
    assert rotated.peers["FR"].epoch_id != before.peers["FR"].epoch_id
    assert [a["FR"].outcome for a in rotated.answers] == [Outcome.HIT, Outcome.HIT]
