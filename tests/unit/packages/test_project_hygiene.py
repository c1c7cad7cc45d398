"""The project ships a licence, pins the tools that judge it, and marks every package typed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_licence_is_apache_2_as_declared() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert PYPROJECT["project"]["license"] == {"text": "Apache-2.0"}


@pytest.mark.parametrize("tool", ["ruff", "mypy", "types-grpcio", "types-protobuf"])
def test_linters_and_type_stubs_are_pinned_exactly(tool: str) -> None:
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    [spec] = [d for d in dev if re.split(r"[=<>~!\[ ]", d, maxsplit=1)[0] == tool]
    assert re.fullmatch(rf"{re.escape(tool)}==[0-9][0-9.]*", spec), spec


@pytest.mark.parametrize(
    "package", ["fedlookup", "node", "registry_adapter", "federation", "certs", "audit", "protos"]
)
def test_every_package_is_marked_typed(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert f"{package}*" in include
