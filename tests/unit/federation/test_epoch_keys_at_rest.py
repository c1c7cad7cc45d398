"""Epoch keys at rest: sealed under a passphrase, fail closed without it; old epochs pruned
after a grace period, from the library and from ``fedlookup node prune``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from federation.key_sealing import PASSPHRASE_ENV, PASSPHRASE_FILE_ENV
from federation.keys import EpochKeyStore
from fedlookup.errors import KeyFileError
from node.cli.main import app
from node.config import NodeConfig
from node.ops.bootstrap import init_node


@pytest.fixture(autouse=True)
def _no_env_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv(PASSPHRASE_FILE_ENV, raising=False)


def test_a_sealed_key_holds_no_plaintext_and_opens_only_with_the_passphrase(
    tmp_path: Path,
) -> None:
    key = EpochKeyStore(tmp_path, passphrase=b"correct horse").current()
    raw = (tmp_path / f"epoch-{key.epoch_id}.json").read_text()
    assert key.secret.hex() not in raw
    assert "secret" not in json.loads(raw)
    assert oct(os.stat(tmp_path / f"epoch-{key.epoch_id}.json").st_mode & 0o777) == "0o600"
    assert EpochKeyStore(tmp_path, passphrase=b"correct horse").current() == key
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        EpochKeyStore(tmp_path, passphrase=b"wrong").current()
    with pytest.raises(KeyFileError, match=PASSPHRASE_ENV):
        EpochKeyStore(tmp_path).current()


def test_the_passphrase_comes_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "passphrase"
    secret_file.write_text("from a file\n")
    monkeypatch.setenv(PASSPHRASE_FILE_ENV, str(secret_file))
    key = EpochKeyStore(tmp_path / "keys").current()
    assert EpochKeyStore(tmp_path / "keys", passphrase=b"from a file").current() == key
    monkeypatch.delenv(PASSPHRASE_FILE_ENV)
    monkeypatch.setenv(PASSPHRASE_ENV, "from a file")
    assert EpochKeyStore(tmp_path / "keys").current() == key


def test_a_sealed_secret_cannot_be_moved_to_another_epoch(tmp_path: Path) -> None:
    store = EpochKeyStore(tmp_path, passphrase=b"p")
    first, second = store.current(), store.rotate()
    a, b = (tmp_path / f"epoch-{e.epoch_id}.json" for e in (first, second))
    doc = json.loads(b.read_text())
    doc["sealed"] = json.loads(a.read_text())["sealed"]
    b.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="wrong passphrase, or the file was altered"):
        store.load(second.epoch_id)


def _rewind(directory: Path, epoch_id: str, days: float) -> None:
    path = directory / f"epoch-{epoch_id}.json"
    doc = json.loads(path.read_text())
    doc["superseded_at"] = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    path.write_text(json.dumps(doc))


def test_old_epochs_are_pruned_only_after_the_grace_period(tmp_path: Path) -> None:
    store = EpochKeyStore(tmp_path)
    e1 = store.current().epoch_id
    e2 = store.rotate().epoch_id
    e3 = store.rotate().epoch_id
    # e1 was superseded 10 days ago, e2 2 days ago; e3 is current.
    _rewind(tmp_path, e1, 10)
    _rewind(tmp_path, e2, 2)
    assert store.prune_superseded(timedelta(days=7)) == [e1]
    assert set(store.epochs()) == {e2, e3}
    assert store.prune_superseded(timedelta(days=1)) == [e2]
    assert store.prune_superseded(timedelta(0)) == []
    assert store.current().epoch_id == e3


def test_node_rotate_and_prune_from_the_command_line(tmp_path: Path) -> None:
    init_node("DE", tmp_path / "de", ca_dir=None, listen="127.0.0.1:0")
    config = tmp_path / "de" / "node.toml"
    runner = CliRunner()
    migrated = runner.invoke(app, ["registry", "migrate", "--config", str(config)])
    assert migrated.exit_code == 0, migrated.output
    rotated = runner.invoke(app, ["node", "rotate", "--config", str(config), "--json"])
    assert rotated.exit_code == 0, rotated.output
    summary = json.loads(rotated.output)
    keys = EpochKeyStore(NodeConfig.from_toml(config).epoch_key_dir)
    assert keys.current().epoch_id != summary["previous_epoch"]
    assert summary["previous_epoch"] in keys.epochs()
    kept = runner.invoke(app, ["node", "prune", "--config", str(config), "--json"])
    assert json.loads(kept.output)["pruned"] == []  # within the 7-day grace period
    pruned = runner.invoke(
        app, ["node", "prune", "--config", str(config), "--grace-days", "0", "--json"]
    )
    assert json.loads(pruned.output)["pruned"] == [summary["previous_epoch"]]
