"""The package dependency map of docs/architecture.md holds in the code.

Read with ``ast`` (no imports executed): every module's imports, including those inside
functions and under ``TYPE_CHECKING``, are checked against the allowed edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = {"fedlookup", "registry_adapter", "federation", "certs", "audit", "protos", "node"}
ALLOWED = {
    "fedlookup": set(),
    "registry_adapter": {"fedlookup"},
    "federation": {"fedlookup", "protos"},
    "certs": {"fedlookup"},
    "audit": {"fedlookup"},
    "node": PACKAGES - {"node"},
}
# Foreign modules only one place may import.
EXCLUSIVE = {
    "private_set_intersection": {"federation/psi.py"},
    "sqlmodel": {"registry_adapter", "node/desk"},
    # The desk's web stack stays in the desk.
    "fastapi": {"node/desk"},
    "starlette": {"node/desk"},
    "uvicorn": {"node/desk"},
    "jinja2": {"node/desk"},
    "argon2": {"node/desk"},
    "openpyxl": {"node/desk"},
    "alembic": {"registry_adapter"},
    # The gRPC client lives in one federation module; the server API only in node.
    "protos": {"federation/grpc_transport.py", "node"},
    "grpc": {"federation/grpc_transport.py", "node"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules() -> list[Path]:
    return sorted(
        p
        for pkg in ALLOWED
        for p in (ROOT / pkg).rglob("*.py")
        if "_pb2" not in p.name and pkg != "protos"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_dependency_map(path: Path) -> None:
    rel = path.relative_to(ROOT)
    package = rel.parts[0]
    for name in _imports(path):
        if name in PACKAGES and name != package:
            assert name in ALLOWED[package], f"{rel} imports {name}"
        owners = EXCLUSIVE.get(name)
        if owners is not None:
            assert any(str(rel).startswith(o) for o in owners), f"{rel} imports {name}"


def test_the_map_sees_every_package() -> None:
    seen = {p.relative_to(ROOT).parts[0] for p in _modules()}
    assert seen == set(ALLOWED) - {"protos"}
