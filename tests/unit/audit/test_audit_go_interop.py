"""An implementation nobody here wrote (Go's golang.org/x/mod/sumdb note and tlog packages)
verifies our export: checkpoint signature, tree root, inclusion proofs, hash tiles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import fill
from typer.testing import CliRunner

from audit import AuditLog
from audit.export import export_log
from node.cli.audit import app

GOPATH = Path(os.environ.get("FEDLOOKUP_GOPATH", "/usr/share/gocode"))
PROGRAM = Path(__file__).parent / "interop" / "verify_export.go"

pytestmark = pytest.mark.skipif(
    shutil.which("go") is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir(),
    reason="needs the go toolchain and golang.org/x/mod sources "
    "(Debian: apt-get install golang-go golang-golang-x-mod-dev)",
)


def test_go_sumdb_verifies_our_export(tmp_path: Path, open_log: Callable[..., AuditLog]) -> None:
    log = open_log("DE")
    fill(log, 600)  # two full level-0 tiles, a partial one, and a partial level-1 tile
    log.checkpoint()
    export_log(log.directory, tmp_path / "export")
    proof = runner_proof(tmp_path / "export", 517)
    (tmp_path / "proof.json").write_text(proof)
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH),
           "GOCACHE": str(tmp_path / "gocache"), "GOFLAGS": ""}  # fmt: skip
    result = subprocess.run(
        ["go", "run", str(PROGRAM), str(tmp_path / "export"), str(tmp_path / "proof.json")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tlog.TreeHash over 600 entries equals the signed root" in result.stdout
    assert "600 inclusion proofs verify" in result.stdout
    assert "4 hash tiles equal" in result.stdout
    assert "proof for index 517 verifies" in result.stdout


def runner_proof(export: Path, index: int) -> str:
    result = CliRunner().invoke(app, ["proof", str(export), "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["index"] == index
    return result.output
