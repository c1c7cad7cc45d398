"""The ``fedlookup`` command line: one sub-command group per user.

``registry`` (operators: load and inspect a registry), ``node`` (operators: run a node),
``ca`` (the federation authority), ``check`` (investigators), ``desk`` (the investigators'
web console and HTTP API), ``audit`` (auditors) and
``demo`` (everyone's first run). Each group lives in its own module; library code raises
:class:`fedlookup.errors.FedlookupError` and only this layer turns it into an exit code.
"""

from __future__ import annotations

import sys

import typer

import fedlookup
from fedlookup.errors import FedlookupError
from node import cli_audit, cli_ca, cli_check, cli_demo, cli_node, cli_registry
from node.cli_common import EXIT_ERROR, console_err
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
) -> None:
    """Privacy-preserving federated hit/no-hit lookups between national firearm registries."""


app.add_typer(cli_registry.app, name="registry", help="Load, inspect and generate registries.")
app.add_typer(cli_node.app, name="node", help="Initialise, index and run a country's node.")
app.add_typer(cli_ca.app, name="ca", help="The federation PKI: root CA, node certificates.")
app.add_typer(cli_audit.app, name="audit", help="Export and verify signed query logs.")
app.add_typer(desk_cli.app, name="desk", help="The investigators' desk: web console, HTTP API.")
cli_check.register(app)
cli_demo.register(app)


def main() -> None:
    """Entry point of the ``fedlookup`` console script."""
    try:
        app()
    except FedlookupError as exc:
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
