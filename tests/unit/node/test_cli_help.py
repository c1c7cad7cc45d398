"""Every command's ``--help`` speaks command-line words, never Python type names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from node.cli.main import build_command

ROOT = build_command()


def _paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subs = getattr(command, "commands", {})
    out = [path]
    for name, sub in subs.items():
        out += _paths(sub, (*path, name))
    return out


@pytest.mark.parametrize("path", _paths(ROOT), ids=lambda p: " ".join(p) or "fedlookup")
def test_help_has_no_python_type_names(path: tuple[str, ...], capsys: Any) -> None:
    ROOT.main(args=[*path, "--help"], prog_name="fedlookup", standalone_mode=False)
    text = capsys.readouterr().out
    assert "Usage: fedlookup" in text
    leaked = re.findall(r"<(?:bool|str|int|float|path|Path|list\[[^\]]*\])>", text)
    assert not leaked, f"fedlookup {' '.join(path)} --help shows {leaked}"


def test_fedlookup_config_names_the_configuration(tmp_path: Any, monkeypatch: Any) -> None:
    """``$FEDLOOKUP_CONFIG`` (set in the container image) stands in for ``--config``."""
    from fedlookup.errors import ConfigError

    config = tmp_path / "elsewhere.toml"
    config.write_text('[node]\ncountry = "DE"\nbogus = 1\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEDLOOKUP_CONFIG", str(config))
    for args in (["node", "status"], ["node", "index"], ["check", "--make", "G", "--serial",
                 "AB12345", "--case", "C", "--purpose", "p"]):  # fmt: skip
        with pytest.raises(ConfigError) as caught:
            ROOT.main(args=args, prog_name="fedlookup", standalone_mode=False)
        assert caught.value.source == str(config), args


def _fedlookup(*args: str, cwd: Any) -> Any:
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("fedlookup")
    return subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_quiet_keeps_errors_and_requested_output_only(tmp_path: Any) -> None:
    loud = _fedlookup("registry", "generate", "--country", "DE", "--records", "100",
                      "--out", "a.csv", cwd=tmp_path)  # fmt: skip
    assert loud.returncode == 0
    assert "100 records" in loud.stdout
    quiet = _fedlookup("--quiet", "registry", "generate", "--country", "DE", "--records", "100",
                       "--out", "b.csv", cwd=tmp_path)  # fmt: skip
    assert quiet.returncode == 0
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "a.csv").read_text()
    as_json = _fedlookup("-q", "registry", "generate", "--country", "DE", "--records", "100",
                         "--out", "c.csv", "--json", cwd=tmp_path)  # fmt: skip
    assert '"records": 100' in as_json.stdout
    failed = _fedlookup("-q", "registry", "import", "missing.csv", "--db", "sqlite:///r.db",
                        cwd=tmp_path)  # fmt: skip
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert "missing.csv" in failed.stderr


def test_piped_output_is_not_cut_at_80_columns(monkeypatch: Any) -> None:
    from node.cli.common import PIPE_WIDTH, _console

    monkeypatch.delenv("COLUMNS", raising=False)
    assert _console().width == PIPE_WIDTH  # pytest's stdout is not a terminal
    monkeypatch.setenv("COLUMNS", "90")
    assert _console().width == 90  # an explicit width wins
