"""FR rewrites its own history of a follow-up: the asker's log and the auditor's memory catch it.

DE's investigator gets a hit in FR and asks for the record; FR's liaison officer releases
two fields. An auditor verifies FR's export under a trust root built from the signed
directory, keeping witness state. FR then builds a new log from its own entries in which
that decision says "refused", signs it with its genuine audit key and exports it
(``members/log_rewriter.py``, its own process). The rewritten export is internally
valid, but the auditor's state refuses it (its entries disagree with the checkpoint
already verified) and cross-checking it against DE's log names the decision that changed,
while the honest pair cross-checks clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from followup_fixtures import FollowUpNetwork
from hostile import MEMBERS, ROOT, fedlookup

from audit.export import export_log
from audit.verify import load_export

pytestmark = pytest.mark.integration


def _export_when(log_dir: Path, out: Path, kind: str, request_id: str) -> Path:
    """Export ``log_dir`` once it holds a ``kind`` entry for ``request_id`` (nodes log
    decisions on a housekeeping tick and checkpoint on their own schedule)."""
    deadline = time.monotonic() + 60
    for attempt in range(240):
        target = out.with_name(f"{out.name}-{attempt}")
        export_log(log_dir, target)
        view, _ = load_export(target)
        if any(e is not None and e.kind == kind and e.get("request_id") == request_id
               for e in view.entries):  # fmt: skip
            return target
        assert time.monotonic() < deadline, f"no {kind} for {request_id} in {log_dir}"
        time.sleep(0.25)
    raise AssertionError(f"no {kind} for {request_id} in {log_dir}")


def _released(net: FollowUpNetwork) -> str:
    """A follow-up DE asked and FR released (make, model); its request id."""
    reference = net.hit_reference(3)
    body = {"reference": reference, "case": "CASE-RW", "purpose": "trafficking investigation",
            "legal_basis": "Council Decision 2008/615/JHA art. 12"}  # fmt: skip
    with net.api("DE", "investigator") as api:
        asked = api.post("/api/v1/follow-ups", json=body)
    assert asked.status_code == 201, asked.text
    rid = str(asked.json()["id"])
    decision = {"decision": "release", "fields": ["make", "model"]}
    with net.api("FR", "liaison") as api:
        decided = api.post(f"/api/v1/follow-ups/incoming/{rid}/decision", json=decision)
    assert decided.status_code == 200, decided.text
    deadline = time.monotonic() + 60
    with net.api("DE", "investigator") as api:
        while api.get(f"/api/v1/follow-ups/{rid}").json()["status"] != "released":
            assert time.monotonic() < deadline, "DE never fetched FR's answer"
            time.sleep(0.25)
    return rid


def _followup_findings(run: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    doc = json.loads(run.stdout)
    return [f for f in doc["findings"] if f["category"] == "followup"]


def test_a_rewritten_follow_up_decision_is_caught(
    follow_up_network: FollowUpNetwork, tmp_path: Path
) -> None:
    net = follow_up_network
    rid = _released(net)
    de_cfg = net.network.nodes["DE"].config()
    fr_cfg = net.network.nodes["FR"].config()
    fr_honest = _export_when(fr_cfg.audit_dir, tmp_path / "fr", "followup_decision", rid)
    de_export = _export_when(de_cfg.layout.audit_outgoing, tmp_path / "de", "followup_answer", rid)

    # The auditor's trust root for FR's log comes from the signed directory, not the export.
    trusted, state = tmp_path / "trusted-FR.json", tmp_path / "auditor-state"
    made = fedlookup(
        "audit", "policy", "--directory", de_cfg.directory.path,
        "--authority", net.network.ca_dir / "ca.pem", "--country", "FR",
        "--quorum", "0", "--out", trusted,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    verify = ("audit", "verify", "--policy", trusted, "--state", state)
    honest = fedlookup(*verify, fr_honest)
    assert honest.returncode == 0, honest.stdout

    # FR rewrites its history with its own key, in its own process.
    rewritten = tmp_path / "fr-rewritten"
    run = subprocess.run(
        [sys.executable, str(MEMBERS / "log_rewriter.py"), "--export", str(fr_honest),
         "--key", str(fr_cfg.audit.key), "--request-id", rid, "--out", str(rewritten)],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr

    # Alone, the rewrite is a well-signed log: only memory and the other side expose it.
    alone = fedlookup("audit", "verify", "--policy", trusted, rewritten)
    assert alone.returncode == 0, alone.stdout
    caught = fedlookup(*verify, rewritten)
    assert caught.returncode == 1, caught.stdout
    assert "INVALID" in caught.stdout

    clean = fedlookup("audit", "cross-check", str(de_export), str(fr_honest), "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert all(f["valid"] for f in _followup_findings(clean))

    lied = fedlookup("audit", "cross-check", str(de_export), str(rewritten), "--json")
    assert lied.returncode == 1, lied.stdout + lied.stderr
    bad = [f for f in _followup_findings(lied) if not f["valid"]]
    assert len(bad) == 1, bad
    assert rid in str(bad[0]["artefact"])
    assert "FR decided refused []" in str(bad[0]["reason"])
    assert "DE logged released [make,model]" in str(bad[0]["reason"])
