"""``fedlookup registry``: load, inspect and generate registries.

Exit codes: 0 success; 1 ``import`` finished but rejected rows (listed in the rejects file
beside the input); 2 the command could not run (bad input, ``--strict`` refusal, database
unreachable), with nothing written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fedlookup.errors import ConfigError
from node.cli.common import CONFIG_ENV, EXIT_FINDINGS, console, console_err, print_json
from node.config import NodeConfig, RegistryConfig
from registry_adapter import (
    ImportSummary,
    MakeAliases,
    RegistryStore,
    compute_stats,
    generate_registry,
    open_registry,
)
from registry_adapter.parse import FileFormat

app = typer.Typer(no_args_is_help=True)

#: Record count from which ``registry generate`` shows that it is working (about 2 s).
_SHOW_PROGRESS_FROM = 200_000

_DB_HELP = "Registry database: SQLAlchemy URL or SQLite file path."
_DB_ENV = "FEDLOOKUP_REGISTRY_URL"
_DEFAULT_DB = "sqlite:///registry.db"


def _db_option() -> Any:
    return typer.Option(None, "--db", envvar=_DB_ENV, help=f"{_DB_HELP} [default: {_DEFAULT_DB}]")


def _config_option() -> Any:
    return typer.Option(
        None, "--config", "-c", help="Take the registry from this node configuration file."
    )


def _node_registry(config: Path | None) -> RegistryConfig | None:
    return NodeConfig.from_toml(config).registry if config is not None else None


def _store_url(db: str | None, reg: RegistryConfig | None) -> str:
    """The embedded store's URL: --config, else --db / $FEDLOOKUP_REGISTRY_URL, else default."""
    if reg is None:
        return db or _DEFAULT_DB
    if reg.mapping is not None:
        raise ConfigError(
            "registry.mapping",
            "this node reads an existing table (read-only); only the embedded store is written",
        )
    return reg.url


def _summary_dict(s: ImportSummary) -> dict[str, Any]:
    out = dataclasses.asdict(s)
    out["first_rejects"] = [dataclasses.asdict(r) for r in s.first_rejects]
    out["rows_per_second"] = round(s.rows_per_second)
    out["seconds"] = round(s.seconds, 3)
    return out


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV or JSON Lines (.jsonl) registry file."),
    db: str | None = _db_option(),
    config: Path | None = _config_option(),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse the whole file, writing nothing, if any row is rejected."
    ),
    replace: bool = typer.Option(
        False,
        "--replace",
        help="The file is the whole registry: remove records it does not hold (implies --strict).",
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="csv or jsonl (default: from the file name)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import a registry file: upsert by record_id; bad rows go to FILE.rejects.csv."""
    if fmt not in (None, "csv", "jsonl"):
        raise typer.BadParameter("must be csv or jsonl", param_hint="--format")
    kind = cast(FileFormat | None, fmt)
    with RegistryStore(_store_url(db, _node_registry(config))) as store:
        if as_json:
            summary = store.import_file(file, strict=strict, fmt=kind, replace=replace)
        else:
            with Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                TimeElapsedColumn(),
                console=console_err,
                transient=True,
            ) as bar:
                task = bar.add_task(f"importing {file.name}", total=None)

                def tick(n: int) -> None:
                    bar.update(task, description=f"importing {file.name}: {n:,} rows")

                summary = store.import_file(
                    file, strict=strict, progress=tick, fmt=kind, replace=replace
                )
    for w in summary.warnings:
        console_err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(_summary_dict(summary))
    else:
        console.print(
            f"{summary.path}: {summary.rows:,} rows in {summary.seconds:.1f} s "
            f"({summary.rows_per_second:,.0f}/s): {summary.inserted:,} inserted, "
            f"{summary.updated:,} updated, {summary.unchanged:,} unchanged, "
            f"{summary.removed:,} removed, "
            f"{summary.rejected:,} rejected",
            highlight=False,
            soft_wrap=True,
        )
        for r in summary.first_rejects:
            console_err.print(
                f"  {summary.path}:{r.line}: {r.field}: {r.reason}", highlight=False, soft_wrap=True
            )
        if summary.rejects_path is not None:
            console_err.print(
                f"all rejects: {summary.rejects_path}", highlight=False, soft_wrap=True
            )
    if summary.rejected:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def stats(
    db: str | None = _db_option(),
    config: Path | None = _config_option(),
    aliases: Path | None = typer.Option(
        None, "--aliases", help="Extra manufacturer alias CSV (canonical,alias)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Counts by category, last change, identifier collisions."""
    reg = _node_registry(config)
    extra = aliases or (reg.aliases if reg is not None else None)
    table_aliases = MakeAliases.with_extra(extra) if extra else None
    if reg is not None and reg.mapping is not None:
        with open_registry(reg.url, reg.mapping) as source:
            st = compute_stats(source, table_aliases)
    else:
        with RegistryStore(_store_url(db, reg)) as store:
            st = store.stats(table_aliases)
    if as_json:
        print_json(dataclasses.asdict(st))
        return
    table = Table(title="registry")
    table.add_column("category")
    table.add_column("records", justify="right")
    for name, n in st.by_category.items():
        table.add_row(name, f"{n:,}")
    table.add_row("[bold]total[/]", f"[bold]{st.records:,}[/]")
    console.print(table)
    last = st.last_change_at.isoformat() if st.last_change_at else "unknown"
    removed = f"{st.removed:,}" if st.removed is not None else "unknown"
    console.print(
        f"last change: {last}; removed (tombstones): {removed}; watermark: {st.watermark}\n"
        f"identifier collisions: {st.make_serial_collisions:,} make+serial "
        f"({st.records_in_make_serial_collisions:,} records), "
        f"{st.serial_only_collisions:,} serial-only; unusable: {st.unusable:,}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def generate(
    country: str = typer.Option(..., "--country", help="Two-letter country code."),
    records: int = typer.Option(..., "--records", min=0, help="Number of records."),
    out: Path = typer.Option(..., "--out", help="Output file (.csv or .jsonl)."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same file."),
    overlap_with: Path | None = typer.Option(
        None, "--overlap-with", help="Another registry to plant firearms from."
    ),
    overlap: int = typer.Option(0, "--overlap", min=0, help="How many firearms to plant."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write a realistic synthetic registry (planted overlaps listed in OUT.overlap.csv)."""
    from contextlib import nullcontext

    # About 100,000 records a second: a big file gets a live line on the terminal.
    busy = console_err.is_terminal and not as_json and records >= _SHOW_PROGRESS_FROM
    status = console_err.status(f"writing {records:,} records to {out}") if busy else nullcontext()
    with status:
        summary = generate_registry(
            out,
            country=country,
            records=records,
            seed=seed,
            overlap_with=overlap_with,
            overlap=overlap,
        )
    if as_json:
        print_json(dataclasses.asdict(summary))
        return
    rate = summary.records / summary.seconds if summary.seconds else 0.0
    planted = (
        f"; {summary.planted:,} planted, listed in {summary.overlap_path}"
        if summary.planted
        else ""
    )
    console.print(
        f"{summary.out}: {summary.records:,} records in {summary.seconds:.1f} s "
        f"({rate:,.0f}/s){planted}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def migrate(
    db: str | None = _db_option(),
    config: Path | None = _config_option(),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Create or upgrade the registry schema (back the database up first)."""
    with RegistryStore(_store_url(db, _node_registry(config))) as store:
        revision = store.migrate()
    if as_json:
        print_json({"revision": revision})
    else:
        console.print(f"registry schema at revision {revision}", highlight=False, soft_wrap=True)


@app.command("purge-deleted")
def purge_deleted(
    before: str = typer.Option(
        ..., "--before", help="Removals older than this: Nd (days ago) or an ISO date."
    ),
    config: Path = typer.Option(
        Path("node.toml"),
        "--config",
        "-c",
        envvar=CONFIG_ENV,
        help=f"The node's configuration file (or ${CONFIG_ENV}).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count the tombstones; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Drop tombstones of old removals, never past what the node's index has read."""
    from node.ops.registry_purge import parse_before
    from node.ops.registry_purge import purge_deleted as purge

    report = purge(NodeConfig.from_toml(config), parse_before(before), dry_run=dry_run)
    if as_json:
        print_json({**dataclasses.asdict(report), "before": report.before.isoformat()})
        return
    verb = "would purge" if report.dry_run else "purged"
    when = report.before.isoformat(timespec="seconds")
    console.print(
        f"{verb} {report.tombstones:,} tombstones of records removed before {when} "
        f"(feed horizon {report.horizon}; the index has read up to {report.index_watermark})",
        highlight=False,
        soft_wrap=True,
    )
