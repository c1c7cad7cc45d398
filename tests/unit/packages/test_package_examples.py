"""Each package's ``__init__`` docstring carries a runnable example: run it."""

from __future__ import annotations

import doctest
import importlib

import pytest

PACKAGES = ["fedlookup", "registry_adapter", "federation", "certs", "audit"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_docstring_example_runs(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, verbose=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no runnable example in its docstring"


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports_resolve(name: str) -> None:
    module = importlib.import_module(name)
    for export in module.__all__:
        assert getattr(module, export) is not None
