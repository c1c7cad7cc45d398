"""``fedlookup check``: an investigator's hit check against every other member country.

One firearm (``--make`` and ``--serial``) or a CSV list (``--file``, columns ``make`` and
``serial``); the answer per firearm per country is ``hit``, ``possible``, ``no-hit``,
``unavailable`` or ``refused``. Output is a table for people, or CSV / JSON for scripts
(schema and exit codes in ``docs/investigators.md``):

* exit 0: every country answered every firearm (hits or not);
* exit 1: some country was unavailable or refused (its answers say why), or some firearm
  of the file was not checked (``not-checked``: a placeholder serial, say; stderr says why);
* exit 2: the check could not run (bad input, bad configuration).
"""

from __future__ import annotations

import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from federation.hitcheck_types import CheckContext, CheckItem, CheckResult
from node.ask.check_render import render_csv, render_table
from node.cli.common import CONFIG_ENV, EXIT_FINDINGS, EXIT_OK, console, console_err, print_json

if TYPE_CHECKING:
    from federation.hitcheck import HitCheck
    from registry_adapter.identifier_versions import IdentifierRules

__all__ = ["OutputFormat", "read_items", "register"]


class OutputFormat(StrEnum):
    """How ``check`` prints its result."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def read_items(
    path: Path | None,
    make: str | None,
    serial: str | None,
    rules: IdentifierRules | None = None,
    warnings: list[str] | None = None,
) -> list[CheckItem]:
    """The firearms to check, from the options or a CSV file, validated as import does.

    A single firearm that cannot be identified is an error. In a file, such a row is kept
    as refused (every country answers ``not-checked`` with the reason) and the rest of the
    file is checked (a file where no row can be checked is an error); an empty or unknown
    make (``?``, ``-``) is checked by serial only.

    Args:
        path: CSV file with columns ``make`` and ``serial``, or ``None``.
        make: the make of a single firearm.
        serial: the serial of a single firearm.
        rules: identifier versions and maker tables (v2 with packaged tables by default).
        warnings: receives what looked suspicious, by line (never a serial).

    Raises:
        InputError: neither or both sources given, a missing column, no firearm in the
            file, or (single firearm) a make or serial refused, naming file, line and field.
    """
    from fedlookup.errors import InputError
    from node.ask.check_items import check_item, refused_item
    from registry_adapter.row_warnings import RowWarnings

    sink = warnings if warnings is not None else []
    if path is None:
        if make is None or not serial:
            raise InputError("give --make and --serial, or --file FILE.csv")
        item = check_item(make, serial, rules)
        sink.extend(f"{w}" for w in item.warnings)
        return [item]
    if make or serial:
        raise InputError("give either --make/--serial or --file, not both")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", file=str(path)) from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
    for needed in ("make", "serial"):
        if needed not in columns:
            raise InputError("missing column", file=str(path), line=1, field=needed)
    items: list[CheckItem] = []
    first: InputError | None = None
    found = RowWarnings(str(path))
    for row in reader:
        line = reader.line_num
        row_make = (row.get(columns["make"]) or "").strip()
        row_serial = (row.get(columns["serial"]) or "").strip()
        if not row_make and not row_serial:
            continue  # a blank line, not a firearm
        try:
            if not row_serial:
                raise InputError("missing", field="serial")
            item = check_item(row_make, row_serial, rules)
        except InputError as exc:
            reason = f"line {line}: {exc.field or 'serial'}: {exc.reason}"
            if first is None:
                first = InputError(exc.reason, file=str(path), line=line, field=exc.field)
            found.add(line, "", f"not checked: {exc.field or 'serial'}: {exc.reason}")
            items.append(refused_item(row_make, row_serial, reason))
            continue
        for message in item.warnings:
            found.add(line, "", message)
        items.append(item)
    sink.extend(found.summary())
    if not items:
        raise InputError("no firearms in the file", file=str(path))
    if first is not None and all(item.refusal for item in items):
        raise InputError(f"no firearm can be checked; first: {first.reason}", file=first.file,
                         line=first.line, field=first.field)  # fmt: skip
    return items


def _run_with_progress(
    check: HitCheck, items: list[CheckItem], context: CheckContext
) -> CheckResult:
    total = len(items) * max(1, len(check.peers))
    done: dict[str, int] = {}
    with Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    ) as bar:
        task = bar.add_task("check", total=total)

        def progress(country: str, items_done: int) -> None:
            step = items_done - done.get(country, 0)
            done[country] = items_done
            bar.advance(task, step)

        return check.run(items, context, progress=progress)


def check(
    config: Path = typer.Option(
        Path("node.toml"),
        "--config",
        envvar=CONFIG_ENV,
        help=f"This node's node.toml (or ${CONFIG_ENV}).",
        exists=True,
    ),
    make: str | None = typer.Option(None, "--make", help="Make (manufacturer) of the firearm."),
    serial: str | None = typer.Option(None, "--serial", help="Serial number as marked."),
    file: Path | None = typer.Option(
        None, "--file", help="CSV of firearms to check (columns make, serial).", exists=True
    ),
    case: str = typer.Option(..., "--case", help="Case reference (logged at both ends)."),
    purpose: str = typer.Option(..., "--purpose", help="Purpose of the check (logged)."),
    legal_basis: str = typer.Option("", "--legal-basis", help="Legal basis (logged)."),
    investigator: str = typer.Option(
        "", "--investigator", help="Your pseudonym in the logs (never your name)."
    ),
    peers: list[str] = typer.Option(
        [], "--peer", help="Ask only this country (repeatable); default: every member."
    ),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.1, help="Seconds each country gets per request."
    ),
    sync_timeout: float = typer.Option(
        120.0, "--sync-timeout", min=0.1, help="Seconds allowed to download a country's index."
    ),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    show_all: bool = typer.Option(
        False, "--all", help="Table output: list every firearm, not only hits and possibles."
    ),
) -> None:
    """Check firearms against every other member country (hit / possible / no-hit)."""
    from node.ask.asker import open_hit_check
    from node.config import NodeConfig
    from node.logs import quiet_native_log

    quiet_native_log()

    fmt = OutputFormat.JSON if as_json else output
    node_config = NodeConfig.from_toml(config)
    # A running desk is the single writer of the outgoing-query log: refuse, naming it.
    from node.desk.asking import refuse_if_desk_running

    refuse_if_desk_running(node_config)
    warnings: list[str] = []
    items = read_items(file, make, serial, node_config.identifier_rules(), warnings)
    for warning in warnings:
        console_err.print(f"warning: {warning}", highlight=False, soft_wrap=True)
    context = CheckContext(case, purpose, legal_basis, investigator)
    with open_hit_check(
        node_config, peers=peers or None, timeout=timeout, sync_timeout=sync_timeout
    ) as hit_check:
        if file is not None and sys.stderr.isatty():
            result = _run_with_progress(hit_check, items, context)
        else:
            result = hit_check.run(items, context)
    if fmt is OutputFormat.JSON:
        print_json(result.to_json())
    elif fmt is OutputFormat.CSV:
        sys.stdout.write(render_csv(result))
    else:
        render_table(result, console, show_all=show_all or file is None)
    checked_all = not any(item.refusal for item in items)
    raise typer.Exit(EXIT_OK if result.complete and checked_all else EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to the root application."""
    app.command("check")(check)
