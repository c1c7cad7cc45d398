"""ConfigPolicy: grants follow the configuration, overrides fall back to defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlookup.errors import ConfigError
from node.policy import ConfigPolicy, PeerPolicy, parse_peer_policy


def test_default_grant_is_reveal_all_categories() -> None:
    grant = ConfigPolicy(PeerPolicy(), {}).grant("FR")
    assert grant.allowed
    assert grant.reveal
    assert grant.categories is None
    assert grant.max_items_per_request == 1000
    assert grant.items_per_day == 2_000


def test_override_table_narrows_one_peer() -> None:
    default = PeerPolicy(items_per_day=4000)
    fr = parse_peer_policy(
        {"mode": "cardinality", "categories": ["stolen"], "purposes": ["investigation"]},
        default,
        "policy.peers.FR",
        "node.toml",
    )
    policy = ConfigPolicy(default, {"FR": fr})
    grant = policy.grant("FR")
    assert not grant.reveal
    assert grant.categories == frozenset({"stolen"})
    assert grant.purposes == frozenset({"investigation"})
    assert grant.items_per_day == 4000
    assert policy.grant("NL").reveal


def test_star_means_every_category() -> None:
    policy = parse_peer_policy({"categories": ["*"]}, PeerPolicy(), "policy", "node.toml")
    assert policy.categories is None


def test_unknown_field_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_peer_policy({"quota": 5}, PeerPolicy(), "policy.peers.FR", "node.toml")
    assert info.value.field == "policy.peers.FR.quota"
