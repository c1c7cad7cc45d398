"""Registry records, their categories and change-feed entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

__all__ = ["Category", "Change", "Record", "parse_category"]


class Category(StrEnum):
    """What a registry knows about a firearm; the label a hit reveals."""

    REGISTERED = "registered"
    STOLEN = "stolen"
    LOST = "lost"
    SEIZED = "seized"
    FOUND = "found"
    EXPORTED = "exported"
    DEACTIVATED = "deactivated"
    DESTROYED = "destroyed"


_BY_VALUE = {c.value: c for c in Category}


def parse_category(text: str) -> Category:
    """Parse a category name, ignoring case and surrounding space.

    Raises:
        ValueError: for an unknown name (callers turn it into an error naming the field).
    """
    try:
        return _BY_VALUE[text.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown category {text.strip()!r}") from None


@dataclass(frozen=True, slots=True)
class Record:
    """One firearm as a registry holds it.

    Attributes:
        record_id: the registry's own key, unique within the registry.
        make: manufacturer as entered (canonicalised only when identifiers are derived).
        model: model as entered; may be empty.
        caliber: caliber as entered; may be empty.
        serial: serial number as entered.
        category: what the registry knows about the firearm.
        recorded_at: when the registry recorded it (timezone-aware, UTC).
        notes: free text for the operator; never leaves the node.
    """

    record_id: str
    make: str
    model: str
    caliber: str
    serial: str
    category: Category
    recorded_at: datetime
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.record_id:
            raise ValueError("record_id must not be empty")
        if self.recorded_at.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")
        if self.recorded_at.utcoffset() != timedelta(0) or self.recorded_at.tzinfo is not UTC:
            object.__setattr__(self, "recorded_at", self.recorded_at.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a change feed.

    Attributes:
        record_id: the record that changed.
        record: its current content, or ``None`` when it was removed.
    """

    record_id: str
    record: Record | None
