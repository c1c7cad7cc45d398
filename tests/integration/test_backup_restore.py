"""Back up a node with the runbook's commands, lose its disk, restore, and the log verifies.

docs/operations.md, section 11, for a node outside containers: stop the node, ``tar`` its
data folder, keep the signed checkpoint of an audit export taken at the same time; after a
restore, ``fedlookup audit export`` + ``fedlookup audit verify --against`` that checkpoint
proves the restored log is the one backed up (not older, not forked), and the node serves and
logs on from where it was. Restoring an older archive later is caught the same way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from docker_topology import LoopbackNode, lay_out, running, seed_all

pytestmark = pytest.mark.integration

RECORDS = 200


def _check_from(asker: LoopbackNode, peer: str, record: dict[str, str], case: str) -> dict:
    out = asker.run(
        "check",
        "--config",
        str(asker.config),
        "--peer",
        peer,
        "--make",
        record["make"],
        "--serial",
        record["serial"],
        "--case",
        case,
        "--purpose",
        "backup and restore test",
        "--json",
    )
    return dict(json.loads(out))


def _wipe_and_restore(node: LoopbackNode, archive: Path) -> None:
    shutil.rmtree(node.state)
    node.state.mkdir(mode=0o700)
    subprocess.run(["tar", "-C", str(node.state), "-xpzf", str(archive)], check=True)


def _export_and_verify(node: LoopbackNode, out: Path, *against: Path) -> dict:
    audit_key = node.env["FEDLOOKUP_AUDIT_KEY"]
    node.run(
        "audit", "export", "--log", str(node.state / "audit"), "--out", str(out), "--key", audit_key
    )
    args = ["audit", "verify", str(out), "--json"]
    for checkpoint in against:
        args += ["--against", str(checkpoint)]
    code, verdict = node.run_status(*args, check=False)
    doc = dict(json.loads(verdict))
    # Valid under the export's own keys (exit 3: no --policy trust root is named here).
    assert code == (3 if doc["valid"] else 1), verdict
    return doc


def test_a_restored_node_log_still_verifies_and_grows(tmp_path: Path) -> None:
    nodes = lay_out(tmp_path, postgres_url=None, only={"DE", "NL"})
    de, nl = nodes["DE"], nodes["NL"]
    de_records = seed_all(nodes, tmp_path, RECORDS)["DE"]

    with running({"NL": nl}):  # NL asks DE before the backup and after the restore
        with running({"DE": de}):
            de.wait_healthy()
            nl.wait_healthy()
            first = _check_from(nl, "DE", de_records[0], "CASE-BEFORE")
            assert first["results"][0]["countries"]["DE"]["outcome"] == "hit"

        # The container health check notices a stopped node.
        down = de.healthcheck()
        assert down.returncode == 1
        assert "unhealthy" in down.stderr

        # Backup, node stopped: an export signs a checkpoint over the whole log (kept
        # apart, off the node's disk), then the data folder goes into an archive.
        backup = tmp_path / "backup"
        backup.mkdir()
        before = _export_and_verify(de, backup / "de-audit-export")
        assert before["valid"] is True
        kept_checkpoint = backup / "de-checkpoint"
        shutil.copyfile(backup / "de-audit-export" / "checkpoint", kept_checkpoint)
        archive = backup / "de-data.tar.gz"
        subprocess.run(
            ["tar", "-C", str(de.state), "--numeric-owner", "-czf", str(archive), "."],
            check=True,
        )

        # The disk is lost; the archive goes back, and the log is proved before serving.
        _wipe_and_restore(de, archive)
        restored = _export_and_verify(de, tmp_path / "restored-export", kept_checkpoint)
        assert restored["valid"] is True

        # The restored node serves from its restored index and keys; its log grows on.
        with running({"DE": de}):
            de.wait_healthy()
            again = _check_from(nl, "DE", de_records[0], "CASE-AFTER")
            assert again["results"][0]["countries"]["DE"]["outcome"] == "hit"
            assert again["peers"]["DE"]["sync"] == "none"  # same epoch and index: no download
    after = _export_and_verify(de, tmp_path / "after-export", kept_checkpoint)
    assert after["valid"] is True

    # Restoring the older archive now is a rollback, and the newer checkpoint exposes it.
    _wipe_and_restore(de, archive)
    stale = tmp_path / "stale-export"
    de.run("audit", "export", "--log", str(de.state / "audit"), "--out", str(stale))
    code, verdict = de.run_status(
        "audit", "verify", str(stale), "--json",
        "--against", str(tmp_path / "after-export" / "checkpoint"),
        check=False,
    )  # fmt: skip
    assert code == 1
    assert json.loads(verdict)["valid"] is False
