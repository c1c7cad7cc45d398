"""``fedlookup desk user add|role`` and ``desk token add`` as an operator types them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from node.demo.network import fedlookup_command
from node.demo.setup import create_network
from node.desk import accounts
from node.desk.db import DeskDatabase
from node.desk.settings import DeskSettings

pytestmark = pytest.mark.integration


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fedlookup_command(), "desk", *args],
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_accounts_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    net = create_network(tmp_path / "net", ["DE", "FR"])
    config = net.nodes["DE"].config_path
    cfg = str(config)

    made = _run("user", "add", "ida", "--config", cfg, "--role", "investigator", "--totp")
    assert made.returncode == 0, made.stderr
    password, uri = made.stdout.splitlines()
    assert len(password) >= 20
    assert uri.startswith("otpauth://totp/fedlookup%20desk%3Aida?secret=")
    assert "account ida (investigator) created" in made.stderr

    chosen = _run("user", "add", "sam", "--config", cfg, "--role", "supervisor",
                  "--password-stdin", stdin="a passphrase of my own\n")  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout == ""  # nothing to print: the password came from standard input

    token = _run("token", "add", "cms", "--config", cfg, "--role", "investigator")
    assert token.returncode == 0, token.stderr
    as_json = _run("token", "add", "cms", "--config", cfg, "--role", "investigator", "--json")
    assert json.loads(as_json.stdout)["token"] != token.stdout.strip()

    bad = _run("user", "add", "eve", "--config", cfg, "--role", "wizard")
    assert bad.returncode == 2
    assert "unknown role 'wizard'" in bad.stderr
    taken = _run("user", "add", "ida", "--config", cfg, "--role", "auditor")
    assert taken.returncode == 2
    assert "account 'ida' exists" in taken.stderr
    role = _run("user", "role", "sam", "--config", cfg, "--role", "auditor")
    assert role.returncode == 0, role.stderr

    settings = DeskSettings.from_toml(config, net.nodes["DE"].config().node.data_dir, env={})
    db = DeskDatabase(settings.database)
    try:
        with db.session() as s:
            assert accounts.token_account(s, token.stdout.strip()).name == "cms"
            sam = accounts.authenticate(s, settings, "sam", "a passphrase of my own")
            assert sam.role == "auditor"
    finally:
        db.close()
