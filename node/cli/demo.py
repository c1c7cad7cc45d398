"""``fedlookup demo``: a three-country federation on this machine, from nothing (README).

Exit code 0 when every planted overlap was found and every audit log verified, 1 when
something did not hold (the output says what), 2 when the demo could not run.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import typer

from node.cli.common import EXIT_FINDINGS, EXIT_OK, console


def demo(
    records: int = typer.Option(
        20_000, "--records", min=100, help="Firearms in each generated registry."
    ),
    keep: Path | None = typer.Option(
        None, "--keep", help="Leave the whole network in this (new) folder, with rerun commands."
    ),
    countries: str = typer.Option(
        "DE,FR,NL", "--countries", help="Member countries, comma-separated; the first one asks."
    ),
    overlap: int = typer.Option(
        40, "--overlap", min=0, help="Firearms of the asking country planted in each peer."
    ),
    batch: int = typer.Option(1000, "--batch", min=1, help="Firearms in the batch check."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes for indexing (default: every core)."
    ),
) -> None:
    """Run a whole federation on 127.0.0.1: CA, registries, nodes, checks, audit."""
    from fedlookup.errors import InputError
    from node.demo.run import DemoOptions, run_demo

    codes = tuple(c.strip().upper() for c in countries.split(",") if c.strip())
    if len(codes) < 2 or len(set(codes)) != len(codes):
        raise InputError("give at least two distinct country codes", field="--countries")
    options = DemoOptions(
        records=records,
        countries=codes,
        overlap=overlap,
        batch=batch,
        keep=keep,
        workers=workers,
    )
    # SIGTERM (a closed terminal, a CI timeout) unwinds like Ctrl-C: the nodes are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    report = run_demo(options, console)
    ok = report.audit_ok and report.recall is not None and report.recall.complete
    raise typer.Exit(EXIT_OK if ok else EXIT_FINDINGS)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root application."""
    app.command("demo")(demo)
