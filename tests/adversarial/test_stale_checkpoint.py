"""A node hands an auditor an older export after a newer one: the auditor's state catches it.

FR asks DE once; the auditor verifies DE's export with a trust root and ``--state``. FR
asks again; the auditor verifies the newer export. DE then presents the older export again
(as a node hiding its later entries would). With its state the auditor must refuse it,
naming the deletion; the honest exports keep verifying.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import fedlookup
from reliability.relnet import RelNet

pytestmark = pytest.mark.integration


def _ask(net: RelNet, serial: str) -> None:
    run = fedlookup(
        "check", "--config", net.folder("FR") / "node.toml", "--peer", "DE",
        "--make", "Glock", "--serial", serial, "--case", "C-1", "--purpose", "p",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


def _export(net: RelNet, out: Path) -> Path:
    key = net.folder("DE") / "keys" / "audit.key"
    net.procs.stop("DE")  # --key signs a fresh checkpoint: the node must be stopped
    try:
        run = fedlookup("audit", "export", "--log", net.audit_dir("DE"), "--out", out, "--key", key)
        assert run.returncode == 0, run.stderr
    finally:
        net.start_again("DE")
    return out


def test_an_older_export_is_refused_against_the_auditors_state(tmp_path: Path) -> None:
    state, trusted = tmp_path / "auditor-state", tmp_path / "trusted-DE.json"
    with RelNet.start(tmp_path / "net", ["DE", "FR"], records=5) as net:
        made = fedlookup(
            "audit", "policy", "--directory", net.folder("FR") / "directory.json",
            "--authority", net.network.ca_dir / "ca.pem", "--country", "DE",
            "--quorum", "0", "--out", trusted,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        _ask(net, "DE000001")
        old = _export(net, tmp_path / "old")
        _ask(net, "DE000002")
        new = _export(net, tmp_path / "new")
    verify = ("audit", "verify", "--policy", trusted, "--state", state)
    assert fedlookup(*verify, old).returncode == 0
    assert fedlookup(*verify, new).returncode == 0
    stale = fedlookup(*verify, old)
    assert stale.returncode == 1, stale.stdout
    assert "entries were deleted" in stale.stdout
    assert fedlookup(*verify, new).returncode == 0
