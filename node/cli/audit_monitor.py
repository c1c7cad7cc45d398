"""``fedlookup audit monitor``: follow every member's logs over time (docs/audit.md).

Each run reads fresh exports of the logs (``fedlookup audit export``, taken by each member
on a schedule and published to the auditor), checks each against the trusted policy the
signed federation directory implies (the log's key, every other member as cosigner), and
against the checkpoint it accepted last time (``audit.monitor``). It alerts three ways:

* the exit status: 0 every log consistent and cosigned, 1 an alert, 2 the monitor could
  not run;
* a log line per alert on standard error (``event=fork|rollback|invalid|missing_cosignature``);
* with ``--metrics-file``, a Prometheus text file (for node_exporter's textfile collector):
  ``fedlookup_monitor_alerts{origin,kind}``, ``fedlookup_monitor_checkpoint_size{origin}``,
  ``fedlookup_monitor_cosignatures{origin}``, ``fedlookup_monitor_last_run_timestamp_seconds``.

``--every SECONDS`` repeats the run until interrupted (the exports are read again each
time); without it the command runs once, for cron.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import typer
from rich.table import Table

from audit.monitor import ALERT_KINDS, LogMonitor, Observation
from node.cli.common import EXIT_FINDINGS, console, print_json

__all__ = ["metrics_text", "register"]

_log = logging.getLogger("fedlookup.audit.monitor")


def metrics_text(observations: list[Observation], now: float) -> str:
    """The Prometheus text exposition of one monitor run."""
    lines = [
        "# HELP fedlookup_monitor_alerts Alerts of the last run, by log and kind.",
        "# TYPE fedlookup_monitor_alerts gauge",
    ]
    for o in observations:
        for kind in ALERT_KINDS:
            n = sum(1 for a in o.alerts if a.kind == kind)
            lines.append(f'fedlookup_monitor_alerts{{origin="{o.origin}",kind="{kind}"}} {n}')
    lines += [
        "# HELP fedlookup_monitor_checkpoint_size Tree size of the latest checkpoint seen.",
        "# TYPE fedlookup_monitor_checkpoint_size gauge",
    ]
    lines += [
        f'fedlookup_monitor_checkpoint_size{{origin="{o.origin}"}} {o.size}' for o in observations
    ]
    lines += [
        "# HELP fedlookup_monitor_cosignatures Valid trusted cosignatures on that checkpoint.",
        "# TYPE fedlookup_monitor_cosignatures gauge",
    ]
    lines += [
        f'fedlookup_monitor_cosignatures{{origin="{o.origin}"}} {o.cosignatures}'
        for o in observations
    ]
    lines += [
        "# HELP fedlookup_monitor_last_run_timestamp_seconds When the monitor last ran.",
        "# TYPE fedlookup_monitor_last_run_timestamp_seconds gauge",
        f"fedlookup_monitor_last_run_timestamp_seconds {now:.3f}",
    ]
    return "\n".join(lines) + "\n"


def _run_once(monitor: LogMonitor, exports: list[Path]) -> list[Observation]:
    observations = [monitor.observe(export) for export in exports]
    for o in observations:
        for alert in o.alerts:
            _log.warning(
                "%s: %s", alert.kind, alert.detail,
                extra={"event": alert.kind, "origin": alert.origin, "export": str(o.export)},
            )  # fmt: skip
    return observations


def _show(observations: list[Observation]) -> None:
    table = Table("log", "export", "size", "cosigned", "status", title="Audit monitor")
    for o in observations:
        before = "new" if o.previous_size is None else str(o.previous_size)
        status = ", ".join(f"[red]{a.kind}[/]: {a.detail}" for a in o.alerts) or "[green]ok[/]"
        table.add_row(o.origin, str(o.export), f"{before} -> {o.size}", str(o.cosignatures), status)
    console.print(table)


def monitor(
    exports: list[Path] = typer.Argument(..., help="Fresh exports of the logs to follow."),
    directory: Path = typer.Option(..., "--directory", help="The signed federation directory."),
    authority: Path = typer.Option(
        ..., "--authority", help="Certificate of the directory's signer (the federation CA)."
    ),
    state: Path = typer.Option(
        ..., "--state", help="Folder of the monitor's witness state (one file per log)."
    ),
    quorum: int | None = typer.Option(
        None, "--quorum", min=0, help="Cosignatures required (default: every other member)."
    ),
    metrics_file: Path | None = typer.Option(
        None, "--metrics-file", help="Write Prometheus metrics here after each run."
    ),
    every: float = typer.Option(
        0.0, "--every", min=0.0, help="Run again every this many seconds (0: once)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Follow members' logs: alert on a fork, a rollback or a missing cosignature."""
    from federation.directory import load_directory
    from fedlookup.files import write_atomic
    from node.logs import configure_logging
    from node.serve.cosigning import trusted_policy

    configure_logging("text", "warning")
    signed = load_directory(directory, authority)
    policies = [
        trusted_policy(signed, country, outgoing=outgoing, quorum=quorum)
        for country in signed.countries
        for outgoing in (False, True)
    ]
    follower = LogMonitor(state, policies)
    alerted = False
    while True:
        observations = _run_once(follower, exports)
        alerted |= any(o.alerts for o in observations)
        if metrics_file is not None:
            write_atomic(metrics_file, metrics_text(observations, time.time()).encode())
        if as_json:
            print_json(
                [
                    {
                        "origin": o.origin,
                        "export": str(o.export),
                        "previous_size": o.previous_size,
                        "size": o.size,
                        "cosignatures": o.cosignatures,
                        "alerts": [{"kind": a.kind, "detail": a.detail} for a in o.alerts],
                    }
                    for o in observations
                ]
            )
        else:
            _show(observations)
        if not every:
            break
        time.sleep(every)
    if alerted:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the ``audit`` command group."""
    app.command("monitor")(monitor)
