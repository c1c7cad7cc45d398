"""``fedlookup audit report`` for people: rich tables over the report's JSON document.

The JSON form (``--json``) is :meth:`audit.report.AuditSummary.to_json` itself; this view
shows the same content: a heading, queries per direction, peer, purpose and day, refusals,
quota exhaustions, outcomes of outgoing queries, and the flags an auditor should read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["report_tables"]


def _table(title: str, columns: list[str], rows: list[list[str]], right: int = 0) -> Table:
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        numeric = i >= len(columns) - right
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def report_tables(doc: Mapping[str, Any], summary: Any, verdict: str) -> list[RenderableType]:
    """What ``audit report`` prints, in order.

    Args:
        doc: the report document (``AuditSummary.to_json()``).
        summary: the summary (origin, country, entries, first, last).
        verdict: ``verifies`` or why the export does not.

    Returns:
        Renderables for a rich console.
    """
    out: list[RenderableType] = [
        Text(f"Audit report for {summary.origin} ({summary.country})", style="bold"),
        Text(f"{summary.entries} entries from {summary.first} to {summary.last}; {verdict}"),
    ]
    kinds = sorted(doc["kinds"].items())
    out.append(_table("Entries by kind", ["kind", "entries"], [[k, str(n)] for k, n in kinds], 1))
    queries = [
        [r["direction"], r["peer"], r["purpose"], r["day"], str(r["queries"]), str(r["items"])]
        for r in doc["queries"]
    ]
    out.append(
        _table("Queries", ["direction", "peer", "purpose", "day", "queries", "items"], queries, 2)
        if queries
        else Text("No queries.")
    )
    if doc["refusals"]:
        rows = [[r["peer"], r["reason"], str(r["count"])] for r in doc["refusals"]]
        out.append(_table("Refusals", ["peer", "reason", "count"], rows, 1))
    if doc["quota_exhausted"]:
        rows = [[str(k), str(v)] for k, v in sorted(doc["quota_exhausted"].items())]
        out.append(_table("Quota exhausted", ["peer / day", "times"], rows, 1))
    if doc["outcomes"]:
        rows = [[str(k), str(v)] for k, v in sorted(doc["outcomes"].items())]
        out.append(_table("Outcomes of outgoing queries", ["outcome", "count"], rows, 1))
    follow_ups = doc.get("follow_ups") or {}
    counted = [
        [what, str(k), str(v)]
        for what in ("requests", "decisions", "answers")
        for k, v in sorted(follow_ups.get(what, {}).items())
    ]
    if counted or follow_ups.get("purged"):
        counted.append(["purged", "", str(follow_ups.get("purged", 0))])
        counted.append(["overdue", "", str(len(follow_ups.get("overdue", [])))])
        out.append(_table("Follow-ups", ["what", "peer / decision", "count"], counted, 1))
    flags = doc["flags"]
    out.append(Text("Flags: none" if not flags else "Flags:", style="" if not flags else "bold"))
    out += [Text(f"  - {flag}", style="yellow") for flag in flags]
    return out
