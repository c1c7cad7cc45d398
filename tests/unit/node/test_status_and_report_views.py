"""``node status`` and ``audit report`` as tables: every field shown, nothing as a Python dict."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from node.cli.audit_report_view import report_tables
from node.cli.status_view import status_table


def _render(*renderables: object, width: int = 100) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width)
    for r in renderables:
        console.print(r)
    return out.getvalue()


def test_status_shows_nested_fields_as_lines_not_dicts() -> None:
    doc = {
        "country": "FR",
        "listen": "127.0.0.1:7442",
        "index": {"version": 3, "size": 4002, "epoch": "20261206T180305Z-1a3a714a"},
        "quotas_today": {"DE": 6, "NL": 40},
        "audit": {"entries": 3, "last_checkpoint_size": 3},
        "health": "SERVING",
    }
    text = _render(status_table(doc), width=60)
    assert "{" not in text
    assert "'" not in text
    for piece in ("version: 3", "epoch: 20261206T180305Z-1a3a714a", "DE: 6 items", "NL: 40 items",
                  "last_checkpoint_size: 3", "SERVING", "127.0.0.1:7442"):  # fmt: skip
        assert piece in text, piece


def test_status_of_an_index_that_cannot_be_read_says_why() -> None:
    text = _render(
        status_table({"country": "DE", "index": "unavailable: damaged", "quotas_today": {}})
    )
    assert "unavailable: damaged" in text
    assert "none" in text


def test_the_audit_report_lists_queries_refusals_and_flags() -> None:
    doc = {
        "kinds": {"query_received": 2, "refusal": 1},
        "queries": [
            {
                "direction": "in",
                "peer": "DE",
                "purpose": "seized firearm",
                "day": "2026-12-06",
                "queries": 2,
                "items": 4,
            },
        ],
        "refusals": [{"peer": "NL", "reason": "QuotaExceededError", "count": 1}],
        "quota_exhausted": {"NL": 1},
        "outcomes": {},
        "flags": ["NL exhausted its quota on 2026-12-06"],
    }
    summary = SimpleNamespace(origin="fedlookup/FR", country="FR", entries=3, first="a", last="b")
    text = _render(*report_tables(doc, summary, "verifies"))
    for piece in ("Audit report for fedlookup/FR (FR)", "3 entries from a to b; verifies",
                  "seized firearm", "QuotaExceededError", "NL exhausted its quota"):  # fmt: skip
        assert piece in text, piece
    assert "Flags: none" not in text
