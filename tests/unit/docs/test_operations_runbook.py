"""Every ``fedlookup`` command the operations runbook shows exists, with the options it uses.

docs/operations.md is read as an operator would copy it: each command line in a code block
or inline code span (``$DC exec de fedlookup ...``, ``--entrypoint fedlookup de ...`` or a
bare ``fedlookup ...``) is resolved against the real CLI; an unknown command or option
fails here instead of on the day someone needs it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from node.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
RUNBOOK = ROOT / "docs" / "operations.md"
# Every user-facing document is held to the same rule as the runbook.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ROOT_COMMAND = typer.main.get_command(app)
# typer bundles its own click: tell groups from commands by their sub-command table.
Command = Any


def _subcommands(command: Command) -> dict[str, Command]:
    return dict(getattr(command, "commands", {}))


def _snippets(text: str) -> list[str]:
    """Command lines of fenced blocks (continuations joined) and inline code spans."""
    lines: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        lines += block.replace("\\\n", " ").splitlines()
    outside = re.sub(r"```.*?```", "", text, flags=re.S)
    lines += re.findall(r"`([^`\n]*fedlookup [^`\n]*)`", outside)
    return [line for line in lines if "fedlookup" in line]


def _invocations(line: str) -> list[list[str]]:
    """The argument lists following each ``fedlookup`` executable on ``line``."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        return []
    found = []
    top = set(_subcommands(ROOT_COMMAND))
    for i, token in enumerate(tokens):
        if token.rsplit("/", 1)[-1] != "fedlookup":
            continue
        rest = tokens[i + 1 :]
        if i > 0 and tokens[i - 1] == "--entrypoint":
            rest = rest[1:]  # the compose service the command runs in
        if rest and (rest[0] in top or rest[0].startswith("--")):
            found.append(rest)
    return found


def _resolve(args: list[str]) -> tuple[Command, list[str]]:
    command: Command = ROOT_COMMAND
    path = ["fedlookup"]
    while _subcommands(command) and args and not args[0].startswith("-"):
        sub = _subcommands(command).get(args[0])
        assert sub is not None, f"no command {' '.join([*path, args[0]])}"
        command, path, args = sub, [*path, args[0]], args[1:]
    return command, args


def _options(command: Command) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}


def _documented(paths: list[Path]) -> list[str]:
    return sorted(
        {
            " ".join(args)
            for p in paths
            for line in _snippets(p.read_text())
            for args in _invocations(line)
        }
    )


INVOCATIONS = _documented([RUNBOOK])
EVERYWHERE = _documented(DOCUMENTS)


def test_the_runbook_shows_commands_for_every_procedure() -> None:
    used = {" ".join(a.split()[:2]) for a in INVOCATIONS}
    for needed in (
        "registry import",
        "registry migrate",
        "node index",
        "node serve",
        "node status",
        "node rotate-key",
        "ca renew",
        "ca crl",
        "ca directory",
        "ca revoke",
        "audit export",
        "audit verify",
        "node csr",
        "ca sign-csr",
        "node install-cert",
    ):
        assert needed in used, f"the runbook no longer shows `fedlookup {needed}`"


@pytest.mark.parametrize("invocation", EVERYWHERE)
def test_each_command_and_option_exists(invocation: str) -> None:
    command, args = _resolve(shlex.split(invocation))
    known = _options(command)
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in known, f"`fedlookup {invocation}`: no option {arg}"
