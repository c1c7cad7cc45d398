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
    "federation": {"fedlookup", "protos", "audit"},
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


# node/ has rooms by audience; ``node`` itself holds what every room shares (config,
# layout, policy, logging). A room may import the shared top and the rooms listed here.
NODE_ROOMS: dict[str, set[str]] = {
    "": set(),  # node/config.py, layout.py, policy.py, logs.py, config_fields.py
    "serve": set(),  # the serving process
    "ask": set(),  # the investigator's check
    "ops": {"serve"},  # operator tools (read the quota ledger, build the index)
    "demo": {"serve", "ask", "ops", "desk"},  # the demo shows the desk too
    "desk": {"ask"},  # the investigators' web desk, beside the node
    "cli": {"serve", "ask", "ops", "demo", "desk"},  # the top: nothing imports it
}


def _full_imports(path: Path) -> set[str]:
    """Dotted names of every absolute import (``from a.b import c`` gives a.b and a.b.c)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _full_imports(path)}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in NODE_ROOMS else ""


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


def test_the_federation_simulator_needs_no_node() -> None:
    """Hit-check tests run on ``federation`` and ``audit`` alone (no node, no gRPC)."""
    found = _imports(ROOT / "tests" / "federation_sim.py")
    assert not found & {"node", "grpc", "protos"}, found


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


# Cycles that predate the rule, in a package another branch is reworking; the rule keeps
# every other file acyclic, and this list may only shrink.
KNOWN_CYCLES = [["certs.ca", "certs.crl"]]


def _graph() -> dict[str, set[str]]:
    """Module -> project modules it imports (function-level and TYPE_CHECKING imports too).

    ``from package import submodule`` is an edge to the submodule only.
    """
    paths = _modules()
    names = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        me = _module_name(path)
        found = _full_imports(path)
        edges = {n for n in found if n in names and n != me}
        # A package is an edge only when something other than its submodules is imported.
        for pkg in [n for n in edges if any(o.startswith(n + ".") for o in found)]:
            rest = [
                o for o in found if o.startswith(pkg + ".") and o.count(".") == pkg.count(".") + 1
            ]
            if rest and all(o in names for o in rest):
                edges.discard(pkg)
        graph[me] = edges
    return graph


@pytest.mark.parametrize(
    "path", [p for p in _modules() if p.relative_to(ROOT).parts[0] == "node"],
    ids=lambda p: str(p.relative_to(ROOT)),
)  # fmt: skip
def test_node_rooms_follow_their_map(path: Path) -> None:
    me = _module_name(path)
    room = _room(me)
    for name in _full_imports(path):
        if not name.startswith("node.") or name.count(".") < 1:
            continue
        other = _room(name)
        if other and other != room:
            assert other in NODE_ROOMS[room], f"{me} (node/{room or '.'}) imports {name}"


def test_no_module_cycles() -> None:
    """No file imports itself through others, late imports included (Tarjan's SCCs)."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert sorted(cycles) == KNOWN_CYCLES


def test_the_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    """The graph reader finds a late import (what hid the service/cosigning cycle)."""
    late = tmp_path / "late.py"
    late.write_text("def f():\n    from node.serve.service import NodeService\n")
    assert "node.serve.service" in _full_imports(late)
