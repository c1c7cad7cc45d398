"""``fedlookup audit cross-check A B``: reconcile two nodes' logs query by query.

Every ``query_sent`` in one log addressed to the other node must appear in the other log as
``query_received`` or ``refusal`` with the same request id, parties, case, purpose, legal
basis, investigator, item count and commitment, within a clock-skew tolerance. Every receipt
one node holds from the other must point at that very entry in the other's export, under a
checkpoint consistent with it: a node cannot delete what a peer holds a receipt for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from audit.canonical import unb64
from audit.checkpoint import open_checkpoint
from audit.entries import LogEntry
from audit.followup_audit import reconcile_follow_ups
from audit.reconcile import Pairing, reconcile
from audit.statements import Receipt
from audit.verify import ExportView, Finding
from fedlookup.errors import FedlookupError, VerificationError

__all__ = ["CrossCheckReport", "cross_check", "log_country"]

_COMPARED = ("from", "to", "case", "purpose", "legal_basis", "investigator", "items", "commitment")


@dataclass
class CrossCheckReport:
    """Findings of one cross-check; ``matched`` counts reconciled queries."""

    a: str
    b: str
    matched: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is unmatched or inconsistent."""
        return all(f.valid for f in self.findings)


def log_country(view: ExportView) -> str:
    """The country a log belongs to: its policy's, else inferred from its entries."""
    if view.policy.country and view.policy.country != view.policy.origin:
        return view.policy.country
    votes: Counter[str] = Counter()
    for e in view.entries:
        if e is not None and e.kind in ("query_sent", "receipt", "followup_sent"):
            votes[e["from"]] += 1
        elif e is not None and e.kind in ("query_received", "refusal", "followup_received"):
            votes[e["to"]] += 1
    return votes.most_common(1)[0][0] if votes else view.policy.country


_QUERIES = Pairing(
    sent="query_sent",
    received=("query_received", "refusal"),
    receipt="receipt",
    compared=_COMPARED,
    noun="request",
    unavailable="peer unavailable",
    checks={k: k for k in ("delivery", "unmatched", "mismatch", "skew", "matched")},
)


def _direction(
    report: CrossCheckReport, asker: ExportView, answerer: ExportView, skew: float
) -> None:
    ca, cb = log_country(asker), log_country(answerer)
    outcome = reconcile(report, _QUERIES, asker, answerer, ca, cb, skew=skew)
    for rid, (i, e) in sorted(outcome.items(), key=lambda kv: kv[1][0]):
        if e["to"] == cb and e["receipt"]:
            _check_receipt(report, answerer, f"{ca} receipt {i} for {rid}", e)


def _check_receipt(report: CrossCheckReport, answerer: ExportView, label: str, e: LogEntry) -> None:
    try:
        # A node signs receipts with the key that signs its checkpoints.
        log_verifier = answerer.policy.log_verifier()
        receipt = Receipt.open(unb64(e["receipt"], "receipt"), log_verifier.public_key)
        if receipt.request_id != e["request_id"]:
            raise VerificationError(f"receipt is for request {receipt.request_id}")
        cp, _ = open_checkpoint(receipt.checkpoint, log_verifier)
        tree = answerer.tree
        if cp.size > tree.size:
            raise VerificationError(
                f"receipt holds a checkpoint of size {cp.size}; the export has only "
                f"{tree.size} entries: entries were deleted"
            )
        if cp.root != tree.root(cp.size):
            raise VerificationError(f"receipt's checkpoint of size {cp.size} is not this history")
        if answerer.raw_entries[receipt.log_index] != receipt.entry:
            raise VerificationError(f"entry {receipt.log_index} differs from the receipt")
        report.findings.append(Finding("receipts", label, True))
    except (FedlookupError, IndexError, ValueError) as exc:
        report.findings.append(Finding("receipts", label, False, str(exc)))


def cross_check(a: ExportView, b: ExportView, *, skew: float = 300.0) -> CrossCheckReport:
    """Reconcile two exports in both directions (A asked B, B asked A)."""
    report = CrossCheckReport(log_country(a), log_country(b))
    _direction(report, a, b, skew)
    _direction(report, b, a, skew)
    # Follow-up requests (audit.followup_audit), both ways too.
    reconcile_follow_ups(report, a, b, report.a, report.b)
    reconcile_follow_ups(report, b, a, report.b, report.a)
    return report
