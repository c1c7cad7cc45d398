"""SIGKILL during ``fedlookup node index``, then a rerun: the index equals a fresh build.

A reference node folder (same keys) builds the index of the final registry from scratch,
timing the whole command (about half of it is interpreter start-up); the victim's ``node
index`` process is killed at a fraction of that time (0.75 in CI: about half-way through
the elliptic-curve work; 0.55 to 0.95 in the slow run), once during the first full build
and once during an incremental update (records added, changed and removed; timed on a copy
of the victim), and is simply run again. A run that finishes before its kill (a faster
moment of a shared machine) is undone and killed earlier. Afterwards the victim's exported
index equals the reference's: the same tags, byte for byte, and the same plaintext labels in
every slot chain (sealed bytes differ where the two were sealed in different versions: each
version has its own keystreams, ADR 0006); and the registry is untouched.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from index_content import Content, index_content
from relnet import load_registry, registry_records

from federation.index import NodeIndex
from federation.index_format import decode
from federation.keys import EpochKeyStore
from node.config import NodeConfig
from node.demo.network import fedlookup_command
from node.demo.setup import create_network
from registry_adapter import RegistryStore

pytestmark = pytest.mark.integration

RECORDS = 1500


def run_index(config: Path, *, kill_after: float | None = None) -> subprocess.Popen[bytes]:
    command = [*fedlookup_command(), "node", "index", "--config", str(config)]
    proc = subprocess.Popen(
        [*command, "--workers", "1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if kill_after is None:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        json.loads(out)
        return proc
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc


def exported(cfg: NodeConfig) -> tuple[int, list[int], Content]:
    index = NodeIndex(cfg.index_dir, key=EpochKeyStore(cfg.epoch_key_dir).current(), country="DE")
    try:
        blob = decode(index.export(since_version=None))
        return index.size, list(blob.tags), index_content(index)
    finally:
        index.close()


def timed_build(cfg: NodeConfig) -> float:
    shutil.rmtree(cfg.index_dir, ignore_errors=True)
    started = time.monotonic()
    run_index(cfg.node.data_dir.parent / "node.toml")
    return time.monotonic() - started


@pytest.mark.parametrize("fraction", [0.75])
def test_killed_index_runs_end_consistent(tmp_path: Path, fraction: float) -> None:
    killed_index_runs_end_consistent(tmp_path, fraction)


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.55, 0.65, 0.85, 0.95])
def test_killed_index_runs_end_consistent_long(tmp_path: Path, fraction: float) -> None:
    killed_index_runs_end_consistent(tmp_path, fraction)


def kill_mid_run(config: Path, index_dir: Path, took: float, fraction: float) -> None:
    """Run ``node index`` and SIGKILL it at ``fraction`` of ``took`` seconds; if it finished
    first (the machine was faster this time), put the index back and try earlier."""
    backup = index_dir.with_name("index.before")
    shutil.rmtree(backup, ignore_errors=True)
    if index_dir.exists():
        shutil.copytree(index_dir, backup)
    for _ in range(4):
        if run_index(config, kill_after=took * fraction).returncode == -signal.SIGKILL:
            return
        shutil.rmtree(index_dir, ignore_errors=True)
        if backup.exists():
            shutil.copytree(backup, index_dir)
        fraction *= 0.7
    pytest.fail("node index always finished before it could be killed")


def killed_index_runs_end_consistent(tmp_path: Path, fraction: float) -> None:
    net = create_network(tmp_path / "net", ["DE"])
    victim = net.nodes["DE"].config()
    config = net.nodes["DE"].config_path
    first = registry_records("DE", RECORDS)
    load_registry(victim, first)
    # The reference: same keys and registry, its own index.
    shutil.copytree(net.nodes["DE"].folder, tmp_path / "ref")
    ref = NodeConfig.from_toml(tmp_path / "ref" / "node.toml", env={})
    took = timed_build(ref)

    kill_mid_run(config, victim.index_dir, took, fraction)
    run_index(config)
    assert exported(victim) == exported(ref)

    # An incremental update killed part-way: 500 new records, 200 changed, 100 removed.
    more = registry_records("DE", RECORDS + 500)[RECORDS:]
    changed = [(rid, make, serial, "stolen") for rid, make, serial, _ in first[:200]]
    for cfg in (victim, ref):
        load_registry(cfg, more + changed)
        with RegistryStore(cfg.registry.url) as store:
            store.delete(rid for rid, *_ in first[-100:])
    # Time the same incremental update on a copy of the victim, before the reference's
    # fresh build of the final registry.
    shutil.copytree(net.nodes["DE"].folder, tmp_path / "timing")
    started = time.monotonic()
    run_index(tmp_path / "timing" / "node.toml")
    took = time.monotonic() - started
    timed_build(ref)
    kill_mid_run(config, victim.index_dir, took, fraction)
    run_index(config)
    size, tags, labels = exported(victim)
    assert (size, tags, labels) == exported(ref)
    assert size == 2 * (RECORDS + 500 - 100)
    with RegistryStore(victim.registry.url) as store:
        assert store.count() == RECORDS + 400
