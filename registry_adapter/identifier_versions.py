"""Which identifier rules a node speaks, and the items a firearm yields under them.

During a migration a node's index serves two versions at once (``identifiers = "v1+v2"`` in
``[registry]``): every record is indexed under both, so askers still on v1 and askers on v2
both find it. ``NodeInfo.identifier_version`` tells peers which versions the node speaks
(the same string), and an asker sends each peer the items of the newest version both speak.
A record that v2 refuses (a placeholder serial) is not indexed under any version: v2 is the
stricter policy and it fails closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedlookup.errors import ConfigError, InputError
from registry_adapter.aliases import MakeAliases
from registry_adapter.canonical_v2 import FirearmIdentifiers, identify
from registry_adapter.identifiers import record_identifiers
from registry_adapter.maker_table import MakerTable

__all__ = [
    "CURRENT_VERSION",
    "SUPPORTED_VERSIONS",
    "IdentifierRules",
    "common_version",
    "parse_versions",
]

#: The rules new nodes speak.
CURRENT_VERSION = "v2"
#: Every version this code can derive, oldest first.
SUPPORTED_VERSIONS = ("v1", "v2")


def parse_versions(text: str, *, source: str = "node.toml") -> tuple[str, ...]:
    """Parse ``"v2"``, ``"v1+v2"`` (or ``"v1,v2"``) into versions, oldest first.

    Raises:
        ConfigError: (field ``registry.identifiers``) an unknown or empty version list.
    """
    parts = [p.strip() for p in text.replace(",", "+").split("+") if p.strip()]
    unknown = [p for p in parts if p not in SUPPORTED_VERSIONS]
    if not parts or unknown:
        raise ConfigError(
            "registry.identifiers",
            f"expected versions among {', '.join(SUPPORTED_VERSIONS)} joined by '+', got {text!r}",
            source,
        )
    return tuple(v for v in SUPPORTED_VERSIONS if v in parts)


def common_version(ours: Sequence[str], theirs: str) -> str | None:
    """The newest version in ``ours`` that a peer advertising ``theirs`` also speaks."""
    peer = set(theirs.replace(",", "+").split("+")) if theirs else {"v1"}
    both = [v for v in ours if v in peer]
    return both[-1] if both else None


@dataclass(frozen=True)
class IdentifierRules:
    """The versions a node speaks, with its maker tables.

    Args:
        versions: versions, oldest first (see :func:`parse_versions`).
        aliases: the node's extra ``aliases.csv`` (used by both versions' tables).
    """

    versions: tuple[str, ...] = (CURRENT_VERSION,)
    aliases: Path | None = None

    def __post_init__(self) -> None:
        v1 = MakeAliases.with_extra(self.aliases) if self.aliases else MakeAliases.default()
        v2 = MakerTable.with_extra(self.aliases) if self.aliases else MakerTable.default()
        object.__setattr__(self, "_v1", v1)
        object.__setattr__(self, "_v2", v2)

    @property
    def label(self) -> str:
        """The versions as advertised to peers (``"v1+v2"``)."""
        return "+".join(self.versions)

    def firearm(self, make: str, serial: str, version: str) -> FirearmIdentifiers:
        """A firearm's items under one version (v2 validation applies to both).

        Raises:
            InputError: the make or serial is refused (field and reason, never the value).
        """
        ids = identify(make, serial, self._v2)  # type: ignore[attr-defined]
        if version == "v2":
            return ids
        old = record_identifiers(make, serial, self._v1)  # type: ignore[attr-defined]
        return FirearmIdentifiers(old.make_serial, old.serial_only, (), ids.warnings)

    def record_items(self, make: str, serial: str) -> tuple[bytes, ...]:
        """Everything a record is indexed under: the union over this node's versions.

        Raises:
            InputError: v2 refuses the record (it is then not indexed at all).
        """
        items: list[bytes] = []
        for version in self.versions:
            try:
                items.extend(self.firearm(make, serial, version).items())
            except InputError:
                if version == "v2" or len(self.versions) == 1:
                    raise
        return tuple(dict.fromkeys(items))
