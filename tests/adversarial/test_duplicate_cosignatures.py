"""A node and one colluding peer cannot make a quorum of two out of one cosignature.

DE answers a real check, then exports its log. NL (colluding) cosigns DE's latest
checkpoint, and a program of theirs pastes NL's line twice and adds a line by a key nobody
trusts. An auditor who names the trust root (the signed directory and the federation CA)
and asks for 2 cosigners must see the export fail, the reason counting 1 distinct trusted
cosigner, and the stranger's line ignored (C2SP), not reported invalid; with a quorum of 1
the same export verifies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hostile import ROOT, fedlookup
from reliability.relnet import RelNet

from node.layout import node_log_origin

pytestmark = pytest.mark.integration

FORGER = Path(__file__).resolve().parent / "members" / "quorum_forger.py"


def _policy(net: RelNet, tmp: Path, quorum: int) -> Path:
    out = tmp / f"trusted-DE-{quorum}.json"
    made = fedlookup(
        "audit", "policy", "--directory", net.folder("FR") / "directory.json",
        "--authority", net.network.ca_dir / "ca.pem", "--country", "DE",
        "--quorum", str(quorum), "--out", out,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return out


def test_one_cosigner_pasted_twice_is_one(tmp_path: Path) -> None:
    with RelNet.start(tmp_path / "net", ["DE", "FR", "NL"], records=5) as net:
        asked = fedlookup(
            "check", "--config", net.folder("FR") / "node.toml", "--peer", "DE",
            "--make", "Glock", "--serial", "DE000001", "--case", "C-1", "--purpose", "p",
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        net.procs.stop_all()
    export = tmp_path / "de-export"
    key = net.folder("DE") / "keys" / "audit.key"
    done = fedlookup("audit", "export", "--log", net.audit_dir("DE"), "--out", export, "--key", key)
    assert done.returncode == 0, done.stderr
    subprocess.run(
        [sys.executable, str(FORGER), "--export", str(export),
         "--cosigner-key", str(net.folder("NL") / "keys" / "audit.key"),
         "--cosigner-name", node_log_origin("NL")],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True, timeout=60,
        capture_output=True,
    )  # fmt: skip
    # Quorum 2 from the trust root: NL twice is one cosigner.
    two = fedlookup("audit", "verify", export, "--policy", _policy(net, tmp_path, 2))
    assert two.returncode == 1, two.stdout
    assert "1 distinct trusted cosigners, the policy requires 2" in two.stdout
    assert "signature by stranger.example/XX (unknown key, ignored)" in two.stdout
    assert "stranger.example/XX  INVALID" not in two.stdout
    # Quorum 1: the same export verifies (NL's real cosignature counts once).
    one = fedlookup("audit", "verify", export, "--policy", _policy(net, tmp_path, 1))
    assert one.returncode == 0, one.stdout
