"""Per-peer access policy from ``[policy]`` and ``[policy.peers.CC]``.

Defaults are conservative: every directory member may query, sees every category with
labels, at most :data:`DEFAULT_MAX_ITEMS_PER_REQUEST` items per call and
:data:`DEFAULT_ITEMS_PER_DAY` items per UTC day. An operator narrows a peer with an
override table; each field left out of the override falls back to ``[policy]``.

Example::

    [policy]
    items_per_day = 2000

    [policy.peers.FR]
    categories = ["stolen", "lost"]
    mode = "cardinality"
    items_per_day = 500

    [policy.peers.XX]
    allow = false
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from federation.responder import PeerGrant
from fedlookup.errors import ConfigError
from node.config_fields import as_bool, as_int, as_str_list, source_of

__all__ = [
    "DEFAULT_ITEMS_PER_DAY",
    "DEFAULT_MAX_ITEMS_PER_REQUEST",
    "DEFAULT_MIN_ITEMS_CARDINALITY",
    "MODES",
    "ConfigPolicy",
    "PeerPolicy",
    "parse_peer_policy",
]

#: Items one Evaluate call may carry unless configured (one serial is two items).
DEFAULT_MAX_ITEMS_PER_REQUEST = 1000
#: Items a peer may evaluate per UTC day unless configured: 1,000 firearms (docs/protocol.md,
#: "What enumeration costs", gives the reasoning).
DEFAULT_ITEMS_PER_DAY = 2_000
#: The fewest items a cardinality-only request may carry (10 firearms).
DEFAULT_MIN_ITEMS_CARDINALITY = 20
#: ``reveal``: hits with category and reference; ``cardinality``: counts only.
MODES = ("reveal", "cardinality")


@dataclass(frozen=True)
class PeerPolicy:
    """What one peer may ask, and how much.

    Attributes:
        allow: whether the peer may query at all.
        categories: record categories the peer may see; ``None`` means all.
        mode: ``reveal`` or ``cardinality`` (the peer learns only how many items hit).
        max_items_per_request: largest item count of one call.
        items_per_day: items per UTC day, counted across calls and restarts.
        purposes: accepted query purposes; ``None`` means any.
        min_items_cardinality: the fewest items one request may carry in cardinality mode.
    """

    allow: bool = True
    categories: frozenset[str] | None = None
    mode: str = "reveal"
    max_items_per_request: int = DEFAULT_MAX_ITEMS_PER_REQUEST
    items_per_day: int = DEFAULT_ITEMS_PER_DAY
    purposes: frozenset[str] | None = None
    min_items_cardinality: int = DEFAULT_MIN_ITEMS_CARDINALITY

    def grant(self) -> PeerGrant:
        """This policy in the responder's terms."""
        return PeerGrant(
            allowed=self.allow,
            categories=self.categories,
            reveal=self.mode == "reveal",
            max_items_per_request=self.max_items_per_request,
            items_per_day=self.items_per_day,
            purposes=self.purposes,
            min_items_per_request=self.min_items_cardinality,
        )


def _categories(value: object, name: str, source: str) -> frozenset[str] | None:
    items = as_str_list(value, name, source)
    if items == ("*",):
        return None
    return frozenset(c.strip().lower() for c in items)


def _mode(value: object, name: str, source: str) -> str:
    if value not in MODES:
        raise ConfigError(
            name, f"must be one of {', '.join(MODES)}, got {value!r}", source_of(value, source)
        )
    return str(value)


def _purposes(value: object, name: str, source: str) -> frozenset[str] | None:
    items = as_str_list(value, name, source)
    return None if items == ("*",) else frozenset(items)


_PARSERS: dict[str, Callable[[object, str, str], Any]] = {
    "allow": as_bool,
    "categories": _categories,
    "mode": _mode,
    "max_items_per_request": lambda v, n, s: as_int(v, n, s, lo=1, hi=1_000_000),
    "items_per_day": lambda v, n, s: as_int(v, n, s, lo=0),
    "purposes": _purposes,
    "min_items_cardinality": lambda v, n, s: as_int(v, n, s, lo=1, hi=1_000_000),
}


def parse_peer_policy(
    table: Mapping[str, Any], base: PeerPolicy, prefix: str, source: str
) -> PeerPolicy:
    """Overlay one policy table on ``base``.

    Args:
        table: the ``[policy]`` or ``[policy.peers.CC]`` table (without ``peers``).
        base: values for fields the table leaves out.
        prefix: dotted name of the table, for error messages.
        source: file name, for error messages.

    Returns:
        The combined policy.

    Raises:
        ConfigError: unknown field or bad value, named ``prefix.field``.
    """
    changes: dict[str, Any] = {}
    for key, value in table.items():
        parser = _PARSERS.get(key)
        if parser is None:
            raise ConfigError(f"{prefix}.{key}", "unknown field", source_of(value, source))
        changes[key] = parser(value, f"{prefix}.{key}", source)
    policy = replace(base, **changes)
    if policy.max_items_per_request > policy.items_per_day and policy.items_per_day > 0:
        # A call larger than a day's quota could never succeed; say so at start-up.
        raise ConfigError(
            f"{prefix}.max_items_per_request",
            f"{policy.max_items_per_request} exceeds items_per_day {policy.items_per_day}",
            source,
        )
    return policy


class ConfigPolicy:
    """The :class:`~federation.responder.AccessPolicy` of a node, from its configuration.

    Args:
        default: policy of peers without an override.
        peers: per-country overrides.
    """

    def __init__(self, default: PeerPolicy, peers: Mapping[str, PeerPolicy]) -> None:
        self._default = default
        self._peers = dict(peers)

    def grant(self, peer: str) -> PeerGrant:
        """What ``peer`` may do."""
        return self._peers.get(peer, self._default).grant()
