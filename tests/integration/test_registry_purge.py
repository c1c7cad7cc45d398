"""``fedlookup registry purge-deleted``: tombstones go, never past what the index has read.

A node folder from ``node init``, its embedded registry on SQLite or PostgreSQL, and the
real ``node index``; the refusal is checked through the ``fedlookup`` process (exit code 2
and the reason on stderr).
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli.main import app
from node.demo.network import fedlookup_command
from node.ops.registry_purge import parse_before
from registry_adapter import Category, Record, RegistryStore

pytestmark = pytest.mark.integration

runner = CliRunner()
RECORDED = datetime(2024, 3, 1, tzinfo=UTC)


def _invoke(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def _records(n: int) -> list[Record]:
    return [
        Record(f"R{i}", "Glock", "17", "9mm", f"PUR{i:04d}X", Category.STOLEN, RECORDED)
        for i in range(n)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def node_folder(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A node folder whose registry holds six records, indexed once."""
    folder = tmp_path / "node"
    result = runner.invoke(app, ["node", "init", "--country", "PU", "--dir", str(folder)])
    assert result.exit_code == 0, result.stdout
    config = folder / "node.toml"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_schema")
        text = re.sub(r'^url = ".*"$', f'url = "{url}"', config.read_text(), flags=re.M)
        config.write_text(text)
    else:
        url = str(folder / "data" / "registry.db")
    with RegistryStore(url) as store:
        store.upsert(_records(6))
    _invoke("node", "index", "--config", str(config), "--workers", "1")
    return config, url


def _purge(config: Path, *args: str) -> dict[str, object]:
    return _invoke("registry", "purge-deleted", "--config", str(config), *args)


def test_purge_waits_for_the_index_then_drops_what_it_has_read(
    node_folder: tuple[Path, str],
) -> None:
    config, url = node_folder
    with RegistryStore(url) as store:
        assert store.delete(["R1", "R2"]) == 2
    # The index has not read these two removals yet: refused, through the real process.
    refused = subprocess.run(
        [*fedlookup_command(), "registry", "purge-deleted", "--config", str(config),
         "--before", "0d"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "has read the feed only up to" in refused.stderr
    assert "Run `fedlookup node index` first" in refused.stderr
    with RegistryStore(url) as store:
        assert store.removed_count() == 2  # nothing was dropped

    _invoke("node", "index", "--config", str(config), "--workers", "1")
    assert _purge(config, "--before", "30d")["tombstones"] == 0  # removed just now
    dry = _purge(config, "--before", "0d", "--dry-run")
    assert (dry["tombstones"], dry["dry_run"]) == (2, True)
    with RegistryStore(url) as store:
        assert store.removed_count() == 2
    done = _purge(config, "--before", "0d")
    assert (done["tombstones"], done["dry_run"]) == (2, False)
    with RegistryStore(url) as store:
        assert store.removed_count() == 0
        assert store.count() == 4
    # The index resumes from its own watermark: no complete re-read after the purge.
    report = _invoke("node", "index", "--config", str(config), "--workers", "1")
    assert report["full"] is False
    assert _purge(config, "--before", "0d")["tombstones"] == 0


def test_purge_refuses_a_node_whose_index_never_read_the_registry(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    runner.invoke(app, ["node", "init", "--country", "PU", "--dir", str(folder)])
    with RegistryStore(str(folder / "data" / "registry.db")) as store:
        store.upsert(_records(2))
        store.delete(["R0"])
    result = runner.invoke(
        app, ["registry", "purge-deleted", "--config", str(folder / "node.toml"), "--before", "0d"]
    )
    assert result.exit_code != 0
    assert "has not read this registry yet" in str(result.exception)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", "2026-11-06T12:00:00+00:00"),
        ("0d", "2026-12-06T12:00:00+00:00"),
        ("2026-11-01", "2026-11-01T00:00:00+00:00"),
        ("2026-11-01T12:30:00+01:00", "2026-11-01T11:30:00+00:00"),
        ("2026-11-01T12:30:00", "2026-11-01T12:30:00+00:00"),
    ],
)
def test_before_accepts_days_and_iso_dates(text: str, expected: str) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert parse_before(text, now).isoformat() == expected


@pytest.mark.parametrize("text", ["yesterday", "30", "-3d", "2026-13-01", ""])
def test_a_bad_before_names_the_option(text: str) -> None:
    from fedlookup.errors import InputError

    with pytest.raises(InputError) as info:
        parse_before(text)
    assert info.value.field == "--before"
