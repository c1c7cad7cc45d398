"""NodeConfig: TOML reading, defaults, environment overrides, errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlookup.errors import ConfigError
from node.config import NodeConfig
from node.policy import DEFAULT_ITEMS_PER_DAY, DEFAULT_MAX_ITEMS_PER_REQUEST

MINIMAL = """
[node]
country = "DE"
listen = "127.0.0.1:0"
data_dir = "data"

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


def _write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "node.toml"
    path.write_text(MINIMAL + extra, encoding="utf-8")
    return path


def test_minimal_config_has_conservative_defaults(tmp_path: Path) -> None:
    cfg = NodeConfig.from_toml(_write(tmp_path), env={})
    assert cfg.node.country == "DE"
    assert cfg.node.data_dir == tmp_path / "data"
    assert cfg.tls.cert == tmp_path / "pki" / "node.pem"
    assert cfg.directory.authority == cfg.tls.ca
    assert cfg.metrics.listen is None
    peer = cfg.policy.for_peer("FR")
    assert peer.allow
    assert peer.max_items_per_request == DEFAULT_MAX_ITEMS_PER_REQUEST
    assert peer.items_per_day == DEFAULT_ITEMS_PER_DAY
    assert cfg.quota_db == tmp_path / "data" / "quotas.sqlite"


def test_peer_override_falls_back_to_defaults(tmp_path: Path) -> None:
    extra = """
[policy]
items_per_day = 5000

[policy.peers.FR]
categories = ["Stolen", "lost"]
mode = "cardinality"

[policy.peers.NL]
allow = false
"""
    cfg = NodeConfig.from_toml(_write(tmp_path, extra), env={})
    fr = cfg.policy.for_peer("FR")
    assert fr.categories == frozenset({"stolen", "lost"})
    assert fr.mode == "cardinality"
    assert fr.items_per_day == 5000
    assert not cfg.policy.for_peer("NL").allow
    assert cfg.policy.for_peer("IT").categories is None


def test_environment_overrides_file(tmp_path: Path) -> None:
    env = {
        "FEDLOOKUP_NODE_LISTEN": "127.0.0.1:7001",
        "FEDLOOKUP_POLICY_ITEMS_PER_DAY": "3000",
        "FEDLOOKUP_SERVER_MAX_WORKERS": "3",
        "FEDLOOKUP_NODE_LOG_FORMAT": "json",
        "FEDLOOKUP_TEST_POSTGRES_URL": "ignored: not a configuration section",
    }
    cfg = NodeConfig.from_toml(_write(tmp_path), env=env)
    assert cfg.node.listen == "127.0.0.1:7001"
    assert cfg.policy.default.items_per_day == 3000
    assert cfg.server.max_workers == 3
    assert cfg.node.log_format == "json"


@pytest.mark.parametrize(
    ("extra", "env", "field", "source"),
    [
        ("", {"FEDLOOKUP_NODE_COUNTRY": "de"}, "node.country", None),
        ("", {"FEDLOOKUP_SERVER_MAX_WORKERS": "many"}, "server.max_workers", "FEDLOOKUP_SERVER"),
        ("", {"FEDLOOKUP_NODE_LISTEN": "nowhere"}, "node.listen", "FEDLOOKUP_NODE_LISTEN"),
        ("", {"FEDLOOKUP_NODE_COLOUR": "blue"}, "node.colour", "FEDLOOKUP_NODE_COLOUR"),
        ("[server]\nmax_workers = 0\n", {}, "server.max_workers", "node.toml"),
        ("[server]\nmax_workers = true\n", {}, "server.max_workers", "node.toml"),
        ("[metrics]\nlisten = 'localhost'\n", {}, "metrics.listen", "node.toml"),
        ("[policy]\nmode = 'everything'\n", {}, "policy.mode", "node.toml"),
        ("[policy]\nitems_per_day = -1\n", {}, "policy.items_per_day", "node.toml"),
        ("[policy]\nitems_per_day = 10\n", {}, "policy.max_items_per_request", "node.toml"),
        ("[policy.peers.fr]\nallow = true\n", {}, "policy.peers.fr", "node.toml"),
        ("[policy.peers.FR]\nitems_per_dya = 5\n", {}, "policy.peers.FR.items_per_dya", None),
        ("[policy.peers.FR]\nallow = 'maybe'\n", {}, "policy.peers.FR.allow", None),
        ("[metrics]\nlisten = 5\n", {}, "metrics.listen", None),
        ("[frobnicate]\nx = 1\n", {}, "frobnicate", None),
        ("[ask]\nmax_items_per_request = 0\n", {}, "ask.max_items_per_request", "node.toml"),
        ("[ask]\nmax_items_per_request = 2.5\n", {}, "ask.max_items_per_request", "node.toml"),
        ("[ask]\nmax_items = 8\n", {}, "ask.max_items", "node.toml"),
        (
            "",
            {"FEDLOOKUP_ASK_MAX_ITEMS_PER_REQUEST": "lots"},
            "ask.max_items_per_request",
            "FEDLOOKUP_ASK_MAX_ITEMS_PER_REQUEST",
        ),
    ],
)
def test_bad_value_names_the_field(
    tmp_path: Path, extra: str, env: dict[str, str], field: str, source: str | None
) -> None:
    with pytest.raises(ConfigError) as info:
        NodeConfig.from_toml(_write(tmp_path, extra), env=env)
    assert info.value.field == field
    if source is not None:
        assert source in (info.value.source or "")


def test_missing_required_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(MINIMAL.replace('url = "sqlite:///registry.db"', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"registry\.url: is required"):
        NodeConfig.from_toml(path, env={})


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        NodeConfig.from_toml(tmp_path / "absent.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[node\ncountry = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        NodeConfig.from_toml(bad, env={})


def test_file_that_is_not_utf8_names_file_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.encode().replace(b'country = "DE"', b'country = "D\xc9"'))
    with pytest.raises(ConfigError, match=r"latin1\.toml") as caught:
        NodeConfig.from_toml(path, env={})
    message = str(caught.value)
    offset = path.read_bytes().index(b"\xc9")
    assert "not UTF-8" in message
    assert f"byte 0xc9 at line 3, column 13 (byte offset {offset})" in message
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


def test_compat_parameters_default_and_validated(tmp_path: Path) -> None:
    cfg = NodeConfig.from_toml(_write(tmp_path), env={})
    assert cfg.compat.fpr == 1e-9
    assert cfg.compat.num_client_inputs == DEFAULT_MAX_ITEMS_PER_REQUEST
    cfg = NodeConfig.from_toml(
        _write(tmp_path, "\n[compat]\nfpr = 1e-6\nnum_client_inputs = 50\n"), env={}
    )
    assert (cfg.compat.fpr, cfg.compat.num_client_inputs) == (1e-6, 50)
    for bad in ("fpr = 0.9", "fpr = 1e-20", "fpr = nan", "num_client_inputs = 0"):
        with pytest.raises(ConfigError, match=r"compat\."):
            NodeConfig.from_toml(_write(tmp_path, f"\n[compat]\n{bad}\n"), env={})
