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


@pytest.mark.parametrize(
    ("ports", "found"),
    [
        (["127.0.0.1:8443:8443"], False),
        (["[::1]:8443:8443"], False),
        ([{"target": 8443, "published": 8443, "host_ip": "127.0.0.1"}], False),
        (["8443:8443"], True),
        (["8443"], True),
        (["0.0.0.0:8443:8443"], True),
        ([{"target": 8443, "published": 8443}], True),
    ],
)
def test_a_port_published_beyond_loopback_is_reported(
    tmp_path: Path, ports: list[object], found: bool
) -> None:
    (tmp_path / "conf.toml").write_text("")
    doc = _compose()
    doc["services"]["node"]["ports"] = ports
    findings = lint.compose_references(doc, tmp_path)
    assert bool(findings) is found, findings
    assert all("beyond the host's loopback" in f for f in findings)


_NODE_TOML = """\
[tls]
key = "/run/secrets/node.key"
[desk]
tls_key = "/run/secrets/desk.key"
"""


def _with_node_toml(tmp_path: Path, *, desk: bool, secrets: list[str]) -> list[str]:
    (tmp_path / "node.toml").write_text(_NODE_TOML)
    (tmp_path / "conf.toml").write_text("")
    doc = _compose()
    doc["configs"]["node_toml"] = {"file": "./node.toml"}
    doc["secrets"] |= {name: {"file": f"./pki/{name}"} for name in ("k1", "k2")}
    svc = doc["services"]["node"]
    svc["configs"] = [{"source": "node_toml", "target": "/etc/fedlookup/node.toml"}]
    svc["secrets"] = [{"source": f"k{i}", "target": t} for i, t in enumerate(secrets, start=1)]
    if desk:
        svc["command"] = ["desk", "serve", "--config", "/etc/fedlookup/node.toml"]
    return lint.compose_references(doc, tmp_path)


@pytest.mark.parametrize(
    ("desk", "secrets", "missing"),
    [
        (False, ["node.key"], []),  # a node does not read [desk]
        (False, [], ["[tls] key"]),
        (True, ["node.key", "desk.key"], []),
        (True, ["node.key"], ["[desk] tls_key"]),
        (True, ["desk.key"], ["[tls] key"]),
    ],
)
def test_a_secret_the_configuration_names_must_be_mounted(
    tmp_path: Path, desk: bool, secrets: list[str], missing: list[str]
) -> None:
    findings = _with_node_toml(tmp_path, desk=desk, secrets=secrets)
    assert len(findings) == len(missing), findings
    for finding, what in zip(findings, missing, strict=True):
        assert what in finding
        assert "is not mounted" in finding


def test_the_project_desk_without_its_https_key_is_reported() -> None:
    from ruamel.yaml import YAML

    compose = ROOT / "docker" / "compose.yml"
    doc = YAML(typ="safe").load(compose.read_text())
    desk = doc["services"]["de-desk"]
    desk["secrets"] = [s for s in desk["secrets"] if s["target"] != "desk.key"]
    findings = lint.compose_references(doc, compose.parent)
    assert findings == [
        "services.de-desk.secrets: ./config/de.toml [desk] tls_key needs /run/secrets/desk.key,"
        " which is not mounted"
    ]


def test_the_project_desk_configuration_is_validated_as_the_desk_reads_it(tmp_path: Path) -> None:
    from fedlookup.errors import ConfigError
    from node.config import NodeConfig
    from node.desk.settings import DeskSettings

    text = (ROOT / "docker" / "config" / "de.toml").read_text()
    assert 'listen = "0.0.0.0:8443"' in text
    config = NodeConfig.from_toml(ROOT / "docker" / "config" / "de.toml", env={})
    settings = DeskSettings.from_toml(
        ROOT / "docker" / "config" / "de.toml", config.node.data_dir, env={}
    )
    assert settings.https
    # The same file without its certificate would serve plain HTTP off loopback: refused.
    bare = tmp_path / "de.toml"
    bare.write_text(
        text.replace('tls_cert = "/run/secrets/desk.pem"\n', "").replace(
            'tls_key = "/run/secrets/desk.key"\n', ""
        )
    )
    with pytest.raises(ConfigError, match=r"desk\.listen"):
        DeskSettings.from_toml(bare, config.node.data_dir, env={})
