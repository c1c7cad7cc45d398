"""Follow-ups end to end: two nodes, two desks, real processes on 127.0.0.1.

DE's investigator gets a hit in FR and asks for the record's core data; FR's liaison
officer releases some fields, refuses another request with a reason, leaves a third to run
past its deadline; both logs verify and cross-check afterwards, and neither holds a serial
on DE's side.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from followup_fixtures import DE_DEADLINE_S, FR_RECORDS, FollowUpNetwork

from audit.crosscheck import cross_check
from audit.export import export_log
from audit.report import summarise
from audit.verify import load_export, verify_export

pytestmark = pytest.mark.integration


def _ask(net: FollowUpNetwork, reference: str, case: str = "CASE-FU") -> dict[str, object]:
    body = {"reference": reference, "case": case, "purpose": "trafficking investigation",
            "legal_basis": "Council Decision 2008/615/JHA art. 12"}  # fmt: skip
    with net.api("DE", "investigator") as api:
        r = api.post("/api/v1/follow-ups", json=body)
    assert r.status_code == 201, r.text
    doc: dict[str, object] = r.json()
    return doc


def _view(net: FollowUpNetwork, request_id: str) -> dict[str, object]:
    with net.api("DE", "investigator") as api:
        r = api.get(f"/api/v1/follow-ups/{request_id}")
    assert r.status_code == 200, r.text
    doc: dict[str, object] = r.json()
    return doc


def _incoming(net: FollowUpNetwork) -> dict[str, dict[str, object]]:
    with net.api("FR", "liaison") as api:
        r = api.get("/api/v1/follow-ups/incoming")
    assert r.status_code == 200, r.text
    return {item["id"]: item for item in r.json()}


def _decide(net: FollowUpNetwork, request_id: str, body: dict[str, object]) -> int:
    with net.api("FR", "liaison") as api:
        r = api.post(f"/api/v1/follow-ups/incoming/{request_id}/decision", json=body)
    return r.status_code


def test_release_refusal_overdue_and_both_logs(
    follow_up_network: FollowUpNetwork, tmp_path: Path
) -> None:
    net = follow_up_network
    refs = [net.hit_reference(i) for i in (0, 1, 2)]
    released, refused, late = (_ask(net, ref) for ref in refs)
    for doc in (released, refused, late):
        assert doc["status"] == "pending"
        assert doc["to"] == "FR"
        assert doc["overdue"] is False

    queue = _incoming(net)
    assert {released["id"], refused["id"], late["id"]} <= set(queue)
    item = queue[str(released["id"])]
    assert item["from"] == "DE"
    assert item["reference"] == refs[0]
    assert item["status"] == "pending"
    assert item["case"] == "CASE-FU"
    assert item["known"] is True
    assert FR_RECORDS[0][4] not in json.dumps(list(queue.values()))  # the queue names no serial

    # The liaison officer releases four fields and a note; the investigator sees exactly them.
    fields = ["make", "model", "serial", "contact"]
    assert _decide(net, str(released["id"]), {"decision": "release", "fields": fields,
                                               "note": "held at Lyon"}) == 200  # fmt: skip
    assert _decide(net, str(refused["id"]), {"decision": "refuse",
                                              "reason": "ongoing operation"}) == 200  # fmt: skip
    # Decided is decided: a second decision is refused.
    assert _decide(net, str(refused["id"]), {"decision": "refuse", "reason": "again"}) == 422

    got = _view(net, str(released["id"]))
    _, make, model, _, serial, _ = FR_RECORDS[0]
    assert got["status"] == "released"
    assert got["released"] == {
        "make": make, "model": model, "serial": serial,
        "contact": "SIRENE FR liaison desk, +33 1 00 00 00 00", "note": "held at Lyon",
    }  # fmt: skip
    no = _view(net, str(refused["id"]))
    assert (no["status"], no["released"], no["reason"]) == ("refused", {}, "ongoing operation")

    # The third runs past DE's deadline: flagged at both ends.
    time.sleep(DE_DEADLINE_S + 0.5)
    assert _view(net, str(late["id"]))["overdue"] is True
    assert _incoming(net)[str(late["id"])]["overdue"] is True
    assert _incoming(net)[str(released["id"])]["overdue"] is False

    _check_logs(net, tmp_path, [str(d["id"]) for d in (released, refused, late)])


def _check_logs(net: FollowUpNetwork, tmp_path: Path, ids: list[str]) -> None:
    de_cfg = net.network.nodes["DE"].config()
    fr_cfg = net.network.nodes["FR"].config()
    # FR's node logs decisions on its next housekeeping tick and signs checkpoints on its
    # own schedule: wait for an export that shows both decisions.
    deadline = time.monotonic() + 60
    for attempt in range(120):
        fr_export = tmp_path / f"fr{attempt}"
        export_log(fr_cfg.audit_dir, fr_export)
        fr_view, _ = load_export(fr_export)
        kinds = [e.kind for e in fr_view.entries if e is not None]
        if kinds.count("followup_decision") >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    export_log(de_cfg.layout.audit_outgoing, tmp_path / "de")
    for export in (fr_export, tmp_path / "de"):
        assert verify_export(export).ok, export
    de_view, _ = load_export(tmp_path / "de")
    de_kinds = [e.kind for e in de_view.entries if e is not None]
    assert de_kinds.count("followup_sent") >= 3
    assert de_kinds.count("followup_answer") >= 2
    assert kinds.count("followup_received") >= 3
    assert kinds.count("followup_decision") >= 2
    raw = (tmp_path / "de").rglob("*")
    for path in raw:
        if path.is_file():
            assert FR_RECORDS[0][4].encode() not in path.read_bytes(), path
    report = cross_check(de_view, fr_view)
    bad = [f for f in report.findings if not f.valid]
    assert not bad, bad
    followed = [f for f in report.findings if f.category == "followup"]
    assert {f.reason for f in followed} >= {"followup_received", "decision matches"}
    summary = summarise(fr_view).to_json()["follow_ups"]
    assert summary["decisions"]["released:liaison"] >= 1
    assert summary["decisions"]["refused:liaison"] >= 1
    assert ids[2] in summary["overdue"]
