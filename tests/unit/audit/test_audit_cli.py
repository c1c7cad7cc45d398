"""``fedlookup audit`` commands: output, --json, exit status."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import cosign_both, run_queries
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from audit import AuditLog, OpeningStore, generate_key, log_vkey
from fedlookup.errors import InputError
from node.cli.audit import app

OpenLog = Callable[..., AuditLog]
runner = CliRunner()


@pytest.fixture
def exports(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey], tmp_path: Path
) -> tuple[Path, Path, str]:
    fr, de = open_log("FR"), open_log("DE")
    with OpeningStore(tmp_path / "openings.db") as openings:
        ids = run_queries(fr, de, keys["FR"], openings, 4, refuse_every=4)
    cosign_both(fr, de)
    for log, name in ((fr, "FR"), (de, "DE")):
        result = runner.invoke(app, ["export", "--log", str(log.directory), "--out",
                                     str(tmp_path / f"x{name}")])  # fmt: skip
        assert result.exit_code == 0, result.output
    return tmp_path / "xFR", tmp_path / "xDE", ids[0]


def test_verify_text_and_json(exports: tuple[Path, Path, str]) -> None:
    a, b, _ = exports
    result = runner.invoke(app, ["verify", str(b)])
    assert result.exit_code == 3, result.output  # valid, but under the export's own keys
    assert "UNTRUSTED: no trust root named" in result.output
    assert "Results requested for fedlookup.test/DE" in result.output
    assert "INVALID" not in result.output
    assert "entries valid" in result.output
    doc = json.loads(runner.invoke(app, ["verify", str(a), "--json"]).output)
    assert doc["valid"] is True
    assert doc["counts"]["entries"] == [8, 8]


def test_verify_reports_invalid_and_exits_1(exports: tuple[Path, Path, str]) -> None:
    _, b, _ = exports
    entries = b / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace(b'"items":2', b'"items":3', 1))
    result = runner.invoke(app, ["verify", str(b)])
    assert result.exit_code == 1
    assert "INVALID: root of size" in result.output


def test_unusable_input_raises_for_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert isinstance(result.exception, InputError)


def test_proof_cross_check_report(exports: tuple[Path, Path, str]) -> None:
    a, b, _ = exports
    proof = json.loads(runner.invoke(app, ["proof", str(b), "--index", "1", "--json"]).output)
    assert proof["tree_size"] == 4
    assert proof["proof"]
    result = runner.invoke(app, ["cross-check", str(a), str(b), "--skew", "10"])
    assert result.exit_code == 0, result.output
    assert "4 queries reconciled on both sides, 0 finding(s)" in result.output
    report = runner.invoke(app, ["report", str(b)])
    assert report.exit_code == 0, report.output
    assert "refused (QuotaExceededError)" in report.output


def test_reveal_and_check_reveal(exports: tuple[Path, Path, str], tmp_path: Path) -> None:
    a, _, rid = exports
    out = tmp_path / "opening.json"
    result = runner.invoke(app, ["reveal", "--openings", str(tmp_path / "openings.db"),
                                 "--request-id", rid, "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    check = runner.invoke(app, ["check-reveal", str(a), str(out)])
    assert check.exit_code == 0, check.output
    assert "v1|MAKE|SER0" in check.output
    doc = json.loads(out.read_text())
    doc["identifiers"] = doc["identifiers"][:1]
    out.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")
    assert runner.invoke(app, ["check-reveal", str(a), str(out)]).exit_code == 1


def test_trusted_policy_file(exports: tuple[Path, Path, str], tmp_path: Path) -> None:
    a, b, _ = exports
    own = json.loads((b / "policy.json").read_text())
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps({**own, "quorum": 1}, indent=2))
    assert runner.invoke(app, ["verify", str(b), "--policy", str(trusted)]).exit_code == 0
    other = json.loads((a / "policy.json").read_text())
    wrong = {**own, "log_vkey": other["log_vkey"].replace(other["origin"], own["origin"])}
    trusted.write_text(json.dumps(wrong))
    result = runner.invoke(app, ["verify", str(b), "--policy", str(trusted)])
    assert isinstance(result.exception, InputError)  # key ID no longer matches the key


def test_policy_naming_another_key_fails_every_signature(
    exports: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, b, _ = exports
    own = json.loads((b / "policy.json").read_text())
    impostor = log_vkey(own["origin"], generate_key().public_key())
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps({**own, "log_vkey": impostor}))
    result = runner.invoke(app, ["verify", str(b), "--policy", str(trusted)])
    assert result.exit_code == 1
    assert "INVALID: note is not signed by" in result.output


def test_proof_and_check_reveal_stand_on_the_signed_checkpoint(
    exports: tuple[Path, Path, str], tmp_path: Path
) -> None:
    a, _, rid = exports
    out = tmp_path / "opening.json"
    runner.invoke(app, ["reveal", "--openings", str(tmp_path / "openings.db"),
                        "--request-id", rid, "--out", str(out)])  # fmt: skip
    assert runner.invoke(app, ["check-reveal", str(a), str(out)]).exit_code == 0
    proof = runner.invoke(app, ["proof", str(a), "--index", "0"])
    assert "UNTRUSTED: no trust root named" in proof.output  # no --policy given
    # Edit one entry (not the revealed one's commitment): the opening still matches its
    # commitment, but the entries are no longer what the log signed.
    entries = a / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace(b'"items":2', b'"items":3', 1))
    edited = runner.invoke(app, ["check-reveal", str(a), str(out)])
    assert edited.exit_code == 1, edited.output
    assert "not the root of the exported entries" in edited.output
    proof = runner.invoke(app, ["proof", str(a), "--index", "0"])
    assert proof.exit_code == 1, proof.output
    assert "checkpoint  INVALID" in proof.output
