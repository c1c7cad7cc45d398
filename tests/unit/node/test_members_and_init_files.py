"""The files operators write or get written: members files are strict, node.toml is valid TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fedlookup.errors import InputError
from node.config import NodeConfig
from node.demo.setup import Network, create_network
from node.ops.bootstrap import init_node, render_config
from node.ops.ca_members import read_members


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Network:
    return create_network(tmp_path_factory.mktemp("net"), ["DE", "FR"])


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('country = "FR"', 'country = "FR"\npinn = false', "members[1].pinn"),
        ('country = "DE"', 'country = "DE"\nendpiont = "x:1"', "members[0].endpiont"),
        ("items_per_day = 100000000", "items_per_dya = 5", "defaults.limits.items_per_dya"),
        ("[defaults.limits]", "[defaults]\nlimit = 3\n[defaults.limits]", "defaults.limit"),
        ('federation = "', 'federaton = "x"\nfederation = "', "federaton"),
        (
            'country = "FR"',
            'country = "FR"\nlimits = { max_items_per_request = 1, items_per_day = 2, burst = 3 }',
            "members[1].limits.burst",
        ),
    ],
)
def test_a_typo_in_the_members_file_is_an_error_naming_it(
    network: Network, tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = network.members_file.read_text(encoding="utf-8")
    assert old in text
    bad = network.members_file.with_name("members-typo.toml")
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_members(bad)
    assert caught.value.field == field
    assert caught.value.file == str(bad)
    assert "unknown field" in str(caught.value)


def test_the_members_file_as_written_still_reads(network: Network) -> None:
    name, members = read_members(network.members_file)
    assert [m.country for m in members] == ["DE", "FR"]
    assert name


@pytest.mark.parametrize(
    "url",
    [
        'sqlite:///data/we"ird.db',
        "sqlite:///C:\\registry\\de.db",
        "postgresql+psycopg://user:p%40ss@127.0.0.1:5432/reg?options=-c search_path='x'",
    ],
)
def test_node_init_writes_valid_toml_whatever_the_registry_url(tmp_path: Path, url: str) -> None:
    assert (
        tomllib.loads(render_config("DE", listen="127.0.0.1:7443", registry_url=url))["registry"][
            "url"
        ]
        == url
    )
    init_node("DE", tmp_path / "de", registry_url=url, listen="127.0.0.1:7001")
    cfg = NodeConfig.from_toml(tmp_path / "de" / "node.toml", env={})
    assert cfg.node.listen == "127.0.0.1:7001"
    if url.startswith("postgresql"):
        assert cfg.registry.url == url
    else:
        assert cfg.registry.url.endswith(url.rsplit("/", 1)[-1])
