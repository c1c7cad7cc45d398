"""The rules of scripts/lint_docker.py that hadolint and the compose schema cannot express."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lint_docker", ROOT / "scripts" / "lint_docker.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lint_docker", module)
    spec.loader.exec_module(module)
    return module


lint = _load()

GOOD = """\
ARG BASE=python:3.11-slim-bookworm@sha256:{digest}
FROM ${{BASE}} AS build
RUN echo build
FROM ${{BASE}}
COPY --from=build /opt/app /opt/app
USER 10001:10001
HEALTHCHECK CMD ["python", "/opt/app/healthcheck.py"]
""".format(digest="0" * 64)


def test_the_project_dockerfile_keeps_every_image_rule() -> None:
    assert lint.image_rules((ROOT / "docker" / "Dockerfile").read_text()) == []


def test_a_dockerfile_keeping_the_rules_has_no_finding() -> None:
    assert lint.image_rules(GOOD) == []


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (
            ("ARG BASE=python:3.11-slim-bookworm@sha256:" + "0" * 64, "ARG BASE=python:3.11"),
            "not pinned by digest",
        ),
        (("USER 10001:10001", "USER root"), "final USER is root"),
        (("USER 10001:10001\n", ""), "no USER instruction"),
        (("HEALTHCHECK CMD", "CMD"), "no HEALTHCHECK"),
        (
            ("COPY --from=build /opt/app /opt/app", "COPY secrets/node.key /etc/node.key"),
            "looks like key material",
        ),
        (
            ("COPY --from=build /opt/app /opt/app", "COPY \\\n  ca.pem /etc/"),
            "looks like key material",
        ),
    ],
)
def test_each_broken_rule_is_reported(change: tuple[str, str], finding: str) -> None:
    old, new = change
    text = GOOD.replace(old, new)
    assert text != GOOD
    findings = lint.image_rules(text)
    assert findings
    assert all(finding in f for f in findings), findings


def _compose() -> dict[str, Any]:
    return {
        "services": {
            "db": {"image": "postgres"},
            "node": {
                "image": "fedlookup",
                "depends_on": {"db": {"condition": "service_healthy"}},
                "volumes": [
                    "state:/var/lib/x",
                    "./local:/y",
                    {"type": "volume", "source": "keys", "target": "/k"},
                ],
                "networks": ["net"],
                "secrets": [{"source": "key", "target": "node.key"}],
                "configs": ["conf"],
            },
        },
        "volumes": {"state": {}, "keys": {}},
        "networks": {"net": {}},
        "secrets": {"key": {"file": "./pki/node.key"}},
        "configs": {"conf": {"file": "./conf.toml"}},
    }


def test_a_consistent_compose_file_has_no_finding(tmp_path: Path) -> None:
    (tmp_path / "conf.toml").write_text("")
    assert lint.compose_references(_compose(), tmp_path) == []


@pytest.mark.parametrize(
    ("path", "value", "finding"),
    [
        (("services", "node", "depends_on"), {"cache": {}}, "no service 'cache'"),
        (("services", "node", "volumes"), ["index:/i"], "volume 'index' not declared"),
        (("services", "node", "networks"), ["other"], "network 'other' not declared"),
        (("services", "node", "secrets"), ["tls"], "'tls' not declared"),
        (("services", "node", "configs"), [{"source": "x"}], "'x' not declared"),
        (("configs", "conf"), {"file": "./missing.toml"}, "does not exist"),
    ],
)
def test_each_dangling_reference_is_reported(
    tmp_path: Path, path: tuple[str, ...], value: object, finding: str
) -> None:
    (tmp_path / "conf.toml").write_text("")
    doc = _compose()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    findings = lint.compose_references(doc, tmp_path)
    assert len(findings) == 1
    assert finding in findings[0]


def test_the_project_compose_file_has_no_dangling_reference() -> None:
    from ruamel.yaml import YAML

    compose = ROOT / "docker" / "compose.yml"
    doc = YAML(typ="safe").load(compose.read_text())
    assert lint.compose_references(doc, compose.parent) == []


def test_every_runtime_dependency_is_pinned_for_the_image() -> None:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert lint.unpinned(deps, (ROOT / "docker" / "constraints.txt").read_text()) == []


def test_an_unpinned_dependency_is_reported() -> None:
    constraints = "# header\nopenmined_psi==2.0.6\npsycopg==3.3.9\n# typer==0.29.2\n"
    deps = ["openmined-psi==2.0.6", "psycopg[binary]>=3.1", "typer>=0.12", "Rich >= 13"]
    assert lint.unpinned(deps, constraints) == ["typer", "rich"]
