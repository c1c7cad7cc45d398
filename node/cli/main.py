"""The ``fedlookup`` command line: one sub-command group per user.

``registry`` (operators: load and inspect a registry), ``node`` (operators: run a node),
``ca`` (the federation authority), ``check`` (investigators), ``desk`` (the investigators'
web console and HTTP API), ``audit`` (auditors) and
``demo`` (everyone's first run). Each group lives in its own module; library code raises
:class:`fedlookup.errors.FedlookupError` and only this layer turns it into an exit code.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
import typer.main
from rich.console import Console

import fedlookup
from fedlookup.errors import FedlookupError
from node.cli import audit as cli_audit
from node.cli import audit_monitor as cli_audit_monitor
from node.cli import ca as cli_ca
from node.cli import check as cli_check
from node.cli import demo as cli_demo
from node.cli import node as cli_node
from node.cli import registry as cli_registry
from node.cli.common import EXIT_ERROR, console, console_err
from node.cli.help import plain_metavars
from node.desk import cli as desk_cli

app = typer.Typer(
    name="fedlookup",
    help="Privacy-preserving federated hit/no-hit lookups between national firearm registries.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fedlookup {fedlookup.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No tables, messages or progress bars: only errors, the exit status, and the"
        " output asked for with --json or --format csv.",
    ),
) -> None:
    """Privacy-preserving federated hit/no-hit lookups between national firearm registries."""
    if quiet:
        console.quiet = True
        console_err.quiet = True


app.add_typer(cli_registry.app, name="registry", help="Load, inspect and generate registries.")
app.add_typer(cli_node.app, name="node", help="Initialise, index and run a country's node.")
app.add_typer(cli_ca.app, name="ca", help="The federation PKI: root CA, node certificates.")
app.add_typer(cli_audit.app, name="audit", help="Export and verify signed query logs.")
cli_audit_monitor.register(cli_audit.app)
app.add_typer(desk_cli.app, name="desk", help="The investigators' desk: web console, HTTP API.")
cli_check.register(app)
cli_demo.register(app)


def build_command() -> Any:
    """The click command behind :data:`app`, with help labels a user reads (no Python types)."""
    return plain_metavars(typer.main.get_command(app))


def main() -> None:
    """Entry point of the ``fedlookup`` console script."""
    try:
        build_command()(prog_name="fedlookup")
    except FedlookupError as exc:
        # Errors are shown even with --quiet (which silences console_err).
        errors = Console(stderr=True, width=console_err.width)
        errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
