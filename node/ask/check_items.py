"""Turn what an investigator typed into :class:`~federation.hitcheck_types.CheckItem` s.

The same validation as ``registry import`` (identifier rules v2,
:func:`registry_adapter.canonical_v2.identify`): a placeholder or junk serial is refused
with the same reason, an unknown make is checked by serial only, and the same warnings are
given. For a node speaking two versions during a migration, each item carries its older
form as a fallback for peers not yet on the newer one.
"""

from __future__ import annotations

from federation.hitcheck_types import CheckItem
from fedlookup.identifiers import Identifiers
from registry_adapter.identifier_versions import IdentifierRules

__all__ = ["check_item", "refused_item"]


def check_item(make: str, serial: str, rules: IdentifierRules | None = None) -> CheckItem:
    """The items of one firearm under every version ``rules`` speaks, newest first.

    Raises:
        InputError: (field ``make`` or ``serial``) the input cannot identify a firearm.
    """
    rules = rules if rules is not None else IdentifierRules()
    item: CheckItem | None = None
    for version in rules.versions:  # oldest first: each newer form falls back to the last
        ids = rules.firearm(make, serial, version)
        item = CheckItem(
            make,
            serial,
            Identifiers(ids.make_serial or b"", ids.serial_only, ids.variants),
            ids.warnings,
            version=version,
            fallback=item,
        )
    assert item is not None  # rules.versions is never empty
    return item


def refused_item(make: str, serial: str, reason: str) -> CheckItem:
    """A firearm this node will not send, with the reason every country's answer shows."""
    return CheckItem(make, serial, Identifiers(b"", b""), refusal=reason)
