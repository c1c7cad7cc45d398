"""The runnable examples in the registry adapter's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "registry_adapter",
        "registry_adapter.identifiers",
        "registry_adapter.aliases",
        "registry_adapter.store",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_identifier_doc_example() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "identifiers.md"
    result = doctest.testfile(str(doc), module_relative=False)
    assert result.attempted > 0
    assert result.failed == 0
