"""How a hit check's result is shown: a table for people, CSV for spreadsheets.

JSON comes straight from :meth:`federation.hitcheck_types.CheckResult.to_json`.
"""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.table import Table

from federation.hitcheck_types import CheckResult, CountryAnswer, Outcome

__all__ = ["CSV_COLUMNS", "REASON_CHARS", "render_csv", "render_table"]

#: Columns of ``check --format csv``: one row per firearm per country.
CSV_COLUMNS = (
    "make",
    "serial",
    "country",
    "outcome",
    "categories",
    "references",
    "index_version",
    "latency_ms",
    "reason",
)

_STYLE = {
    Outcome.HIT: "bold red",
    Outcome.POSSIBLE: "bold yellow",
    Outcome.NO_HIT: "green",
    Outcome.UNAVAILABLE: "magenta",
    Outcome.REFUSED: "magenta",
    Outcome.NOT_CHECKED: "dim",
}


def _cells(answer: CountryAnswer) -> tuple[str, str]:
    categories = "; ".join(lb.category for lb in answer.labels)
    references = "; ".join(lb.reference for lb in answer.labels)
    return categories, references


def render_csv(result: CheckResult) -> str:
    """The result as CSV text with a header (:data:`CSV_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item, per in zip(result.items, result.answers, strict=True):
        for country, answer in sorted(per.items()):
            categories, references = _cells(answer)
            writer.writerow(
                [
                    item.make,
                    item.serial,
                    country,
                    answer.outcome.value,
                    categories,
                    references,
                    "" if answer.index_version is None else answer.index_version,
                    f"{answer.latency_ms:.1f}",
                    answer.reason,
                ]
            )
    return out.getvalue()


#: Longest reason the table shows unless ``--all`` (CSV and JSON always carry all of it).
REASON_CHARS = 160


def _reason(text: str, show_all: bool) -> str:
    if show_all or len(text) <= REASON_CHARS:
        return text
    return text[: REASON_CHARS - 1] + "…"


def _key_column(table: Table, name: str) -> None:
    # Never cut: in a terminal too narrow for the table a value folds onto the next line.
    table.add_column(name, overflow="fold", min_width=len(name))


def render_table(
    result: CheckResult, console: Console, *, show_all: bool, limit: int | None = None
) -> None:
    """Print the result for an investigator.

    The make, serial, country, result and reference columns are never cut (in a narrow
    terminal a long value folds onto the next line). Reasons (a peer's error, often long)
    are listed under the tables, not in them, shortened to :data:`REASON_CHARS` unless
    ``show_all``.

    Args:
        result: the check's result.
        console: where to print.
        show_all: list every firearm (otherwise only firearms with a hit or possible match:
            a batch of thousands is mostly no-hits, after a per-country summary) and show
            reasons in full.
        limit: list at most this many rows (the rest are counted).
    """
    countries = sorted(result.peers)
    summary = Table(title="Countries asked", title_justify="left")
    for col in ("country", "status", "hit", "possible", "no-hit", "index version", "latency"):
        _key_column(summary, col)
    for c in countries:
        peer = result.peers[c]
        counts = {o: 0 for o in Outcome}
        for per in result.answers:
            counts[per[c].outcome] += 1
        summary.add_row(
            c,
            peer.status,
            str(counts[Outcome.HIT]),
            str(counts[Outcome.POSSIBLE]),
            str(counts[Outcome.NO_HIT]),
            "" if peer.index_version is None else str(peer.index_version),
            f"{peer.latency_ms:.0f} ms",
        )
    console.print(summary)
    reasons = {c: result.peers[c].reason for c in countries if result.peers[c].reason}

    rows = Table(title="Results" if show_all else "Hits and possible matches", title_justify="left")
    for col in ("make", "serial", "country", "result"):
        _key_column(rows, col)
    rows.add_column("category", overflow="fold")
    _key_column(rows, "reference")
    shown = 0
    for item, per in zip(result.items, result.answers, strict=True):
        for c in countries:
            answer = per[c]
            if not show_all and answer.outcome not in (Outcome.HIT, Outcome.POSSIBLE):
                continue
            shown += 1
            if limit is not None and shown > limit:
                continue
            categories, references = _cells(answer)
            style = _STYLE[answer.outcome]
            rows.add_row(
                item.make,
                item.serial,
                c,
                f"[{style}]{answer.outcome.value}[/]",
                categories,
                references,
            )
            if answer.reason and c not in reasons:
                reasons[c] = answer.reason
    if shown:
        console.print(rows)
        if limit is not None and shown > limit:
            console.print(f"... and {shown - limit} more rows (use --format csv for all)")
    else:
        console.print("No hits and no possible matches.")
    for c, why in reasons.items():
        console.print(f"{c}: {_reason(why, show_all)}", highlight=False, markup=False)
    places = f"{len(countries)} countr{'y' if len(countries) == 1 else 'ies'}"
    refused = sum(1 for item in result.items if item.refusal)
    console.print(
        f"{len(result.items)} firearm(s), {places}"
        f", {result.count(Outcome.HIT)} hit(s), {result.count(Outcome.POSSIBLE)} possible,"
        + (f" {refused} not checked (see warnings)," if refused else "")
        + f" {result.elapsed_ms:.0f} ms"
        + ("" if result.complete else " — INCOMPLETE: see above"),
        highlight=False,
    )
