"""Follow-ups in the auditor's tools: cross-check reconciliation and report counts.

:func:`reconcile_follow_ups` (called by :func:`audit.crosscheck.cross_check`, both ways):

* every ``followup_sent`` from A to B is in B's log as ``followup_received`` or
  ``followup_refusal`` with the same request id, parties, reference, case, purpose, legal
  basis and investigator (unless A's ``followup_receipt`` says B was unavailable);
* every ``followup_received`` in B's log from A has its ``followup_sent`` in A's log;
* every ``followup_answer`` A logged has B's ``followup_decision`` with the same status and
  the same released field names (a decision A has not fetched yet is not a finding).

:func:`follow_up_summary` counts a log's follow-ups: requests per peer and direction,
decisions (released, refused, by policy), answers, purges, and requests received whose
deadline passed before a decision was logged (overdue).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Protocol

from audit.canonical import parse_time
from audit.reconcile import Pairing, by_request_id, reconcile
from audit.verify import ExportView, Finding

__all__ = ["follow_up_summary", "reconcile_follow_ups"]

_FOLLOW_UPS = Pairing(
    sent="followup_sent",
    received=("followup_received", "followup_refusal"),
    receipt="followup_receipt",
    compared=("from", "to", "reference", "case", "purpose", "legal_basis", "investigator"),
    noun="follow-up",
    unavailable="owner unavailable",
    checks=dict.fromkeys(("delivery", "unmatched", "mismatch", "skew", "matched"), "followup"),
)


class _Report(Protocol):
    matched: int
    findings: list[Finding]


def reconcile_follow_ups(
    report: _Report, asker: ExportView, owner: ExportView, ca: str, cb: str
) -> None:
    """Add the follow-up findings of requests from ``ca`` (``asker``) to ``cb`` (``owner``)."""
    reconcile(report, _FOLLOW_UPS, asker, owner, ca, cb)
    decisions = by_request_id(owner, ("followup_decision",))
    for rid, (i, a) in sorted(by_request_id(asker, ("followup_answer",)).items()):
        if a["to"] != cb:
            continue
        label = f"{ca}<-{cb} answer {rid}"
        d = decisions.get(rid, (0, None))[1]
        if d is None:
            reason = f"{ca} entry {i} records an answer {cb}'s log never decided"
            report.findings.append(Finding("followup", label, False, reason))
        elif (d["decision"], d["fields"]) != (a["status"], a["fields"]):
            reason = f"{cb} decided {d['decision']} [{d['fields']}], {ca} logged "
            reason += f"{a['status']} [{a['fields']}]"
            report.findings.append(Finding("followup", label, False, reason))
        else:
            report.findings.append(Finding("followup", label, True, "decision matches"))


def follow_up_summary(view: ExportView, now: datetime) -> dict[str, Any]:
    """The follow-up counts of one log (``audit report``'s ``follow_ups`` section)."""
    requests: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    deadlines: dict[str, datetime] = {}
    decided_at: dict[str, datetime] = {}
    purged = 0
    for e in view.entries:
        if e is None or not e.kind.startswith("followup_"):
            continue
        if e.kind == "followup_sent":
            requests[f"out:{e['to']}"] += 1
        elif e.kind == "followup_received":
            requests[f"in:{e['from']}"] += 1
            deadlines[e["request_id"]] = parse_time(e["deadline"], "followup deadline")
        elif e.kind == "followup_refusal":
            requests[f"refused-at-door:{e['from']}"] += 1
        elif e.kind == "followup_decision":
            by = "policy" if e["decided_by"] == "policy" else "liaison"
            decisions[f"{e['decision']}:{by}"] += 1
            decided_at[e["request_id"]] = e.time
        elif e.kind == "followup_answer":
            answers[e["status"]] += 1
        elif e.kind == "followup_purge":
            purged += 1
    overdue = sorted(
        rid for rid, deadline in deadlines.items() if decided_at.get(rid, now) > deadline
    )
    return {
        "requests": dict(requests),
        "decisions": dict(decisions),
        "answers": dict(answers),
        "purged": purged,
        "overdue": overdue,
    }
