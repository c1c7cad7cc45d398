"""Drop old tombstones from the embedded registry store: ``fedlookup registry purge-deleted``.

A removed record stays in the store as a tombstone (its id, the removed flag, its change
sequence, no content) because the change feed reports a removal only through it: the node's
index learns that a firearm left the registry by reading that tombstone. Purging moves the
feed's horizon, and a consumer whose watermark falls behind it can no longer resume.

So a purge never goes past what the node's index has already read: a horizon newer than
the index's watermark is refused with the reason, and the operator runs ``fedlookup node
index`` first. Were it allowed, the index would no longer see those removals in the feed and
its next update would have to read the whole registry again to find them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from federation.index_store import IndexStore
from fedlookup.errors import ConfigError, InputError, WatermarkError
from node.config import NodeConfig
from registry_adapter import RegistryStore
from registry_adapter.watermark import parse_watermark

__all__ = ["PurgeReport", "parse_before", "purge_deleted"]

_DAYS = re.compile(r"^(\d{1,5})d$")


@dataclass(frozen=True)
class PurgeReport:
    """What a purge did (or, on a dry run, would do).

    Attributes:
        before: removals older than this were purged.
        tombstones: tombstones at or below ``horizon`` (dropped unless ``dry_run``).
        dry_run: nothing was changed.
        horizon: the change-feed position purged up to (the feed's new horizon).
        index_watermark: the position the node's index has read up to.
    """

    before: datetime
    tombstones: int
    dry_run: bool
    horizon: str
    index_watermark: str


def parse_before(text: str, now: datetime | None = None) -> datetime:
    """The ``--before`` horizon: ``Nd`` (N days ago), an ISO date or an ISO date and time.

    Args:
        text: ``30d``, ``2026-11-01`` (midnight UTC) or ``2026-11-01T12:00:00+01:00``
            (a time without offset is UTC).
        now: the current time (default: now).

    Returns:
        An aware UTC time.

    Raises:
        InputError: anything else (field ``--before``).
    """
    now = now or datetime.now(UTC)
    value = text.strip()
    days = _DAYS.match(value)
    if days:
        return now - timedelta(days=int(days.group(1)))
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{text!r} is neither Nd (days ago) nor an ISO date such as 2026-11-01",
            field="--before",
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _index_watermark(cfg: NodeConfig) -> str:
    """The change-feed position the node's index has read up to.

    Raises:
        WatermarkError: there is no index, or it has never read this registry.
    """
    path = cfg.layout.index / "index.sqlite3"
    if path.exists():
        store = IndexStore(path)
        try:
            with store.read() as db:
                mark = IndexStore.get_meta(db).get("watermark", "")
        finally:
            store.close()
        if mark:
            return mark
    raise WatermarkError(
        f"the node's index ({path}) has not read this registry yet, so it has not seen any "
        "removal: run `fedlookup node index` first"
    )


def purge_deleted(cfg: NodeConfig, before: datetime, *, dry_run: bool = False) -> PurgeReport:
    """Drop the tombstones of records removed before ``before``, up to what the index read.

    Args:
        cfg: the node configuration (its embedded registry store and its index).
        before: purge removals older than this.
        dry_run: count only.

    Returns:
        What was (or would be) purged.

    Raises:
        ConfigError: the node reads a mapped registry (no tombstones of ours to purge).
        WatermarkError: the horizon is newer than what the index has read, the index has
            not read this registry, or it read another registry's feed.
        RegistryError: the store cannot be read or written.
    """
    if cfg.registry.mapping is not None:
        raise ConfigError(
            "registry.mapping",
            "this node reads an existing table in place: it keeps no tombstones to purge",
        )
    indexed = _index_watermark(cfg)
    with RegistryStore(cfg.registry.url) as store:
        horizon, count = store.tombstones_before(before)
        feed, seq = parse_watermark(horizon)
        index_feed, index_seq = parse_watermark(indexed)
        if index_feed != feed:
            raise WatermarkError(
                "the node's index was built from another registry feed (a replaced or "
                "restored registry): run `fedlookup node index` first, so that it reads this one"
            )
        if seq > index_seq:
            when = before.isoformat(timespec="seconds")
            raise WatermarkError(
                f"removals up to feed position {seq} are older than {when}, but "
                f"the node's index has read the feed only up to {index_seq}: the index learns "
                "of a removal from its tombstone, so purging ones it has not read would hide "
                "those removals from it. Run `fedlookup node index` first, or choose an "
                "earlier --before"
            )
        if not dry_run and count:
            count = store.purge_tombstones(horizon)
    return PurgeReport(
        before=before, tombstones=count, dry_run=dry_run, horizon=horizon, index_watermark=indexed
    )
