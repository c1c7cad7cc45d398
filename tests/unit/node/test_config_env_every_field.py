"""Every field docs/node.md documents can be overridden from the environment, as promised.

The fields are read from the documentation's tables, so a field documented without an
override that works (or a section the override helper forgets) fails here.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from fedlookup.errors import ConfigError
from node.config import NodeConfig
from node.policy import PeerPolicy

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "node.md").read_text(encoding="utf-8")

MINIMAL = """
[node]
country = "DE"
[registry]
url = "sqlite:///registry.db"
[tls]
ca = "pki/ca.pem"
cert = "pki/node.pem"
key = "pki/node.key"
crl = "pki/crl.pem"
[directory]
path = "directory.json"
[audit]
key = "keys/audit.key"
"""

# field -> (environment value, the parsed value expected; paths relative to the config folder)
OVERRIDES: dict[str, tuple[str, Any]] = {
    "node.country": ("FR", "FR"),
    "node.listen": ("127.0.0.1:7001", "127.0.0.1:7001"),
    "node.data_dir": ("state", Path("state")),
    "node.log_format": ("json", "json"),
    "node.log_level": ("debug", "debug"),
    "server.max_workers": ("3", 3),
    "server.max_message_bytes": ("8388608", 8388608),
    "server.chunk_bytes": ("65536", 65536),
    "server.keepalive_s": ("7.5", 7.5),
    "server.shutdown_grace_s": ("2", 2.0),
    "server.max_concurrent_rpcs": ("9", 9),
    "registry.url": ("postgresql+psycopg://u@127.0.0.1/r", "postgresql+psycopg://u@127.0.0.1/r"),
    "registry.aliases": ("aliases.csv", Path("aliases.csv")),
    "registry.identifiers": ("v1+v2", ("v1", "v2")),
    "tls.ca": ("other/ca.pem", Path("other/ca.pem")),
    "tls.cert": ("other/node.pem", Path("other/node.pem")),
    "tls.key": ("other/node.key", Path("other/node.key")),
    "tls.crl": ("other/crl.pem", Path("other/crl.pem")),
    "directory.path": ("other/directory.json", Path("other/directory.json")),
    "directory.authority": ("other/authority.pem", Path("other/authority.pem")),
    "audit.key": ("other/audit.key", Path("other/audit.key")),
    "audit.checkpoint_interval_s": ("5", 5.0),
    "audit.heartbeat_interval_s": ("6", 6.0),
    "audit.cosign_interval_s": ("0", 0.0),
    "audit.cosign_timeout_s": ("3", 3.0),
    "metrics.listen": ("127.0.0.1:9464", "127.0.0.1:9464"),
    "metrics.peer_probe_interval_s": ("15", 15.0),
    "metrics.tls_cert": ("mon/metrics.pem", Path("mon/metrics.pem")),
    "metrics.tls_key": ("mon/metrics.key", Path("mon/metrics.key")),
    "metrics.client_ca": ("mon/scrapers-ca.pem", Path("mon/scrapers-ca.pem")),
    "compat.fpr": ("1e-6", 1e-6),
    "compat.num_client_inputs": ("250", 250),
    "followup.deadline_hours": ("12", 12.0),
    "followup.contact": ("SIRENE DE", "SIRENE DE"),
    "followup.retention_days": ("7", 7.0),
    "ask.max_items_per_request": ("50", 50),
    "policy.allow": ("false", False),
    "policy.categories": ("stolen, lost", frozenset({"stolen", "lost"})),
    "policy.mode": ("cardinality", "cardinality"),
    "policy.max_items_per_request": ("20", 20),
    "policy.items_per_day": ("5000", 5000),
    "policy.purposes": ("trafficking,theft", frozenset({"trafficking", "theft"})),
    "policy.min_items_cardinality": ("40", 40),
}
#: Fields valid only with others set (a certificate needs its key): set alongside.
_PAIR = {"FEDLOOKUP_METRICS_TLS_CERT": "a.pem", "FEDLOOKUP_METRICS_TLS_KEY": "a.key"}
COMPANIONS: dict[str, dict[str, str]] = {
    "metrics.tls_cert": {"FEDLOOKUP_METRICS_TLS_KEY": "a.key"},
    "metrics.tls_key": {"FEDLOOKUP_METRICS_TLS_CERT": "a.pem"},
    "metrics.client_ca": _PAIR,
}
#: Documented fields that are tables, so file-only (docs/node.md says so).
TABLES = {"registry.mapping", "followup.peers", "followup.smtp"}


def _documented() -> set[str]:
    """Fields named in the first column of docs/node.md's configuration and policy tables."""
    config = DOC.split("## Configuration", 1)[1]
    fields: set[str] = set()
    section = config.split("### Policy", 1)
    for cell in re.findall(r"^\| (`[^|]+) \|", section[0], flags=re.M):
        fields |= set(re.findall(r"`([a-z_]+\.[a-z_]+)`", cell))
    policy = section[1].split("\n## ", 1)[0]
    for cell in re.findall(r"^\| `([a-z_]+)` \|", policy, flags=re.M):
        fields.add(f"policy.{cell}")
    return fields


def _value(cfg: NodeConfig, field: str) -> Any:
    section, key = field.split(".")
    if section == "policy":
        return getattr(cfg.policy.default, key)
    return getattr(getattr(cfg, section), key)


def test_the_walk_covers_every_documented_field_and_every_dataclass_field() -> None:
    documented = _documented()
    assert len(documented) > 30, documented  # the tables were found
    assert documented - TABLES == set(OVERRIDES)
    hints = typing.get_type_hints(NodeConfig)
    in_code = {
        f"{section.name}.{f.name}"
        for section in dataclasses.fields(NodeConfig)
        if dataclasses.is_dataclass(hints[section.name]) and section.name != "policy"
        for f in dataclasses.fields(hints[section.name])
    }
    in_code |= {f"policy.{f.name}" for f in dataclasses.fields(PeerPolicy)}
    assert in_code == documented, "docs/node.md and the configuration classes disagree"


@pytest.mark.parametrize("field", sorted(OVERRIDES))
def test_each_documented_field_is_overridden_from_the_environment(
    tmp_path: Path, field: str
) -> None:
    path = tmp_path / "node.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    raw, expected = OVERRIDES[field]
    section, key = field.split(".")
    variable = f"FEDLOOKUP_{section.upper()}_{key.upper()}"
    before = _value(NodeConfig.from_toml(path, env={}), field)
    cfg = NodeConfig.from_toml(path, env={**COMPANIONS.get(field, {}), variable: raw})
    if isinstance(expected, Path):
        expected = (tmp_path / expected).resolve()
    assert _value(cfg, field) == expected
    assert before != expected, f"{field}: pick an override that differs from the default"


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("FEDLOOKUP_COMPAT_FPR", "0.9", "compat.fpr"),
        ("FEDLOOKUP_COMPAT_NUM_CLIENT_INPUTS", "many", "compat.num_client_inputs"),
        ("FEDLOOKUP_COMPAT_FRP", "1e-6", "compat.frp"),
    ],
)
def test_a_bad_override_names_the_field(
    tmp_path: Path, variable: str, value: str, field: str
) -> None:
    path = tmp_path / "node.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        NodeConfig.from_toml(path, env={variable: value})
    assert caught.value.field == field
