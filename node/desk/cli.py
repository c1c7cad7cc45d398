"""``fedlookup desk``: run the investigators' desk and manage its accounts.

``desk serve`` runs it; ``desk user add`` and ``desk user role`` manage people (a one-time
password is printed, or read with ``--password-stdin``); ``desk token add`` prints a bearer
token for a case-management system (alone on standard output, or ``{"token": ...}`` with
``--json``). Every account change is recorded in the desk's audit trail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="The investigators' desk: web console and HTTP API.")
user_app = typer.Typer(no_args_is_help=True, help="People's accounts.")
token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for systems.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

_CONFIG = typer.Option(..., "--config", help="The node's node.toml.", exists=True)
_ROLE = typer.Option(..., "--role", help="investigator, supervisor, liaison, operator or auditor.")


def _database(config: Path):  # type: ignore[no-untyped-def]
    from node.desk.asking import load_node_config
    from node.desk.db import DeskDatabase
    from node.desk.settings import DeskSettings

    node = load_node_config(config)
    return DeskDatabase(DeskSettings.from_toml(config, node.node.data_dir).database)


@app.command()
def serve(
    config: Path = _CONFIG,
    port_file: Path | None = typer.Option(
        None, "--port-file", help="Write the bound port to this file once listening."
    ),
) -> None:
    """Serve the web console and HTTP API until SIGTERM or Ctrl-C."""
    from node.desk.server import serve_desk

    serve_desk(config, port_file=port_file)


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="Account name: the pseudonym in signed statements."),
    config: Path = _CONFIG,
    role: str = _ROLE,
    team: str = typer.Option("", "--team", help="Team (a supervisor sees the team's cases)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    totp: bool = typer.Option(False, "--totp", help="Require a TOTP code at login."),
) -> None:
    """Create an account; print its one-time password (and TOTP URI with --totp)."""
    from node.desk.accounts import add_user
    from node.desk.security import totp_uri

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    db = _database(config)
    try:
        with db.session() as s:
            account, chosen, secret = add_user(
                s, name, role, password=password, team=team, totp=totp
            )
    finally:
        db.close()
    typer.echo(f"account {account.name} ({account.role}) created", err=True)
    if password is None:
        typer.echo(chosen)
    if secret is not None:
        typer.echo(totp_uri(secret, account.name, "fedlookup desk"))


@user_app.command("role")
def user_role(
    name: str = typer.Argument(..., help="Account name."),
    config: Path = _CONFIG,
    role: str = _ROLE,
) -> None:
    """Give an account another role (recorded)."""
    from node.desk.accounts import change_role

    db = _database(config)
    try:
        with db.session() as s:
            account = change_role(s, name, role, actor="cli")
    finally:
        db.close()
    typer.echo(f"account {account.name} is now {account.role}", err=True)


@token_app.command("add")
def token_add(
    name: str = typer.Argument(..., help="Account name (created without password if new)."),
    config: Path = _CONFIG,
    role: str = _ROLE,
    as_json: bool = typer.Option(False, "--json", help='Print {"token": ...}.'),
) -> None:
    """Create a bearer token and print it (shown once; only its hash is kept)."""
    from node.desk.accounts import add_token

    db = _database(config)
    try:
        with db.session() as s:
            token = add_token(s, name, role)
    finally:
        db.close()
    typer.echo(json.dumps({"token": token}) if as_json else token)


@app.command("purge-follow-ups")
def purge_follow_ups(config: Path = _CONFIG) -> None:
    """Delete released follow-up data older than [followup] retention_days (logged).

    A running desk does this itself every hour; this is for a node whose desk is stopped.
    """
    from node.desk.asking import Asker, load_node_config, refuse_if_desk_running
    from node.desk.follow_up_keeper import purge_once

    node = load_node_config(config)
    refuse_if_desk_running(node)
    db = _database(config)
    asker = Asker(node)
    try:
        if asker.follow_ups is None:
            raise typer.BadParameter("this node has no outgoing log to record purges in")
        purged = purge_once(db, asker.follow_ups, node.followup.retention_days)
    finally:
        asker.close()
        db.close()
    typer.echo(f"purged released data of {purged} follow-up(s)", err=True)
