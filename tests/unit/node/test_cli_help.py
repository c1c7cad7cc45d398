"""Every command's ``--help`` speaks command-line words, never Python type names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from node.cli import build_command

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
