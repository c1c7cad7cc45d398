"""Pair one node's sent requests with the other node's log, entry by entry.

Queries (:mod:`audit.crosscheck`) and follow-up requests (:mod:`audit.followup_audit`) are
reconciled the same way: every request the asker logged as sent to the other node must be in
the other node's log, received or refused, with the same id and the same compared fields
(unless the asker's own receipt says the other node was unavailable); every entry the other
node logged from the asker must have its sent entry. A :class:`Pairing` names the entry kinds
and the finding names of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from audit.entries import LogEntry
from audit.verify import ExportView, Finding

__all__ = ["Pairing", "by_request_id", "reconcile"]

#: Entries by request id: ``request_id -> (index in the log, entry)``.
Indexed = dict[str, tuple[int, LogEntry]]


class _Report(Protocol):
    matched: int
    findings: list[Finding]


@dataclass(frozen=True)
class Pairing:
    """What is reconciled for one kind of request.

    Attributes:
        sent: the asker's entry kind for a request sent.
        received: the other node's entry kinds for that request (received or refused).
        receipt: the asker's entry kind recording the outcome (its ``status``).
        compared: fields that must be equal on both sides.
        noun: how a finding's label names the request (``request``, ``follow-up``).
        unavailable: the finding's detail when the asker's receipt says the other node was
            unavailable (a valid finding).
        checks: the finding name of each outcome: ``delivery`` (unavailable), ``unmatched``,
            ``mismatch``, ``skew`` and ``matched``.
    """

    sent: str
    received: tuple[str, ...]
    receipt: str
    compared: tuple[str, ...]
    noun: str
    unavailable: str
    checks: Mapping[str, str]


def by_request_id(view: ExportView, kinds: tuple[str, ...]) -> Indexed:
    """The entries of ``kinds`` in a log, by request id."""
    return {
        e["request_id"]: (i, e)
        for i, e in enumerate(view.entries)
        if e is not None and e.kind in kinds
    }


def reconcile(
    report: _Report,
    pairing: Pairing,
    asker: ExportView,
    other: ExportView,
    ca: str,
    cb: str,
    *,
    skew: float | None = None,
) -> Indexed:
    """Add the findings of ``ca``'s requests to ``cb`` (and of ``cb``'s entries from ``ca``).

    Args:
        report: gets the findings; ``matched`` counts the requests found on both sides.
        pairing: the entry kinds and finding names.
        asker: the export of ``ca``'s log.
        other: the export of ``cb``'s log.
        ca: the asking country.
        cb: the other country.
        skew: seconds the two entries' times may differ by (``None``: not compared).

    Returns:
        The asker's receipts of ``pairing.receipt``, by request id.
    """
    checks = pairing.checks
    sent = {r: v for r, v in by_request_id(asker, (pairing.sent,)).items() if v[1]["to"] == cb}
    got = {r: v for r, v in by_request_id(other, pairing.received).items() if v[1]["from"] == ca}
    receipts = by_request_id(asker, (pairing.receipt,))
    for rid, (i, s) in sorted(sent.items(), key=lambda kv: kv[1][0]):
        label = f"{ca}->{cb} {pairing.noun} {rid}"
        if rid not in got:
            receipt = receipts.get(rid, (0, None))[1]
            if receipt is not None and receipt["status"] == "unavailable":
                found = Finding(checks["delivery"], label, True, pairing.unavailable)
                report.findings.append(found)
            else:
                reason = f"{ca} entry {i} has no matching entry in {cb}'s log"
                report.findings.append(Finding(checks["unmatched"], label, False, reason))
            continue
        j, r = got.pop(rid)
        diffs = [f for f in pairing.compared if s[f] != r[f]]
        delta = (r.time - s.time).total_seconds()
        if diffs:
            reason = f"entries {ca}:{i} and {cb}:{j} differ in {', '.join(diffs)}"
            report.findings.append(Finding(checks["mismatch"], label, False, reason))
        elif skew is not None and not -skew <= delta <= skew:
            reason = f"{cb} logged it {delta:+.3f} s after {ca} (tolerance {skew} s)"
            report.findings.append(Finding(checks["skew"], label, False, reason))
        else:
            report.matched += 1
            report.findings.append(Finding(checks["matched"], label, True, r.kind))
    for rid, (j, _) in sorted(got.items(), key=lambda kv: kv[1][0]):
        reason = f"{cb} entry {j} has no matching {pairing.sent} in {ca}'s log"
        label = f"{ca}->{cb} {pairing.noun} {rid}"
        report.findings.append(Finding(checks["unmatched"], label, False, reason))
    return receipts
