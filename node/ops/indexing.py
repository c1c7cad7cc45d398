"""Keep the node's encrypted index in step with its registry: :func:`run_index`.

The glue behind ``fedlookup node index``: read the registry's change feed since the index's
stored watermark, turn each record into identifiers (``registry_adapter``) and a label
(category, follow-up reference), and apply them to the :class:`~federation.index.NodeIndex`
in one transaction. Only records that changed cost elliptic-curve work.

A full read happens when asked (``full=True``: the index is built anew beside the store and
swapped in), on the first run, after an epoch key rotation (the index is stale), or when the
registry can no longer resume from the stored watermark (a complete update in place: only
records that differ cost work).

Records whose make or serial cannot be canonicalised are not indexed (a placeholder serial
would match every other unmarked firearm); each is counted and listed in the report, and any
earlier entry of theirs is removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from federation.index import IndexInput, NodeIndex
from federation.labels import Label, make_reference
from fedlookup.errors import InputError, WatermarkError
from registry_adapter.aliases import MakeAliases
from registry_adapter.identifier_versions import IdentifierRules
from registry_adapter.models import Change
from registry_adapter.source import RegistrySource

__all__ = ["IndexReport", "Rejected", "run_index"]


@dataclass(frozen=True)
class Rejected:
    """A record left out of the index, and why (never includes the serial itself)."""

    record_id: str
    field: str
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """What one indexing run did.

    Attributes:
        version: index version after the run.
        epoch_id: epoch the index is derived under.
        size: entries in the index (identifier occurrences).
        full: whether the whole registry was read.
        changes: change-feed entries read.
        evaluated: identifiers that cost EC work.
        added: entries written.
        removed: entries deleted.
        resealed: entries whose label changed (no EC work).
        rejected: records not indexed, with the reason.
        watermark: change-feed position stored with this version.
        seconds: wall time of the run.
    """

    version: int
    epoch_id: str
    size: int
    full: bool
    changes: int
    evaluated: int
    added: int
    removed: int
    resealed: int
    rejected: tuple[Rejected, ...]
    watermark: str
    seconds: float


def _inputs(
    changes: Iterator[Change],
    *,
    reference_key: bytes,
    country: str,
    rules: IdentifierRules,
    rejected: list[Rejected],
    counter: list[int],
) -> Iterator[IndexInput]:
    for change in changes:
        counter[0] += 1
        record = change.record
        if record is None:
            yield IndexInput(change.record_id, None)
            continue
        try:
            ids = rules.record_items(record.make, record.serial)
        except InputError as exc:
            rejected.append(Rejected(change.record_id, exc.field or "serial", exc.reason))
            yield IndexInput(change.record_id, None)
            continue
        reference = make_reference(reference_key, country, change.record_id)
        yield IndexInput(change.record_id, ids, Label(str(record.category), reference))


def run_index(
    source: RegistrySource,
    index: NodeIndex,
    *,
    reference_key: bytes,
    country: str,
    aliases: MakeAliases | None = None,
    workers: int | None = None,
    full: bool = False,
    reread: bool = False,
    rules: IdentifierRules | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Bring ``index`` up to date with ``source``.

    Args:
        source: the registry (its change feed).
        index: the node's encrypted index.
        reference_key: the node's reference key
            (:func:`federation.keys.load_or_create_reference_key`).
        country: the node's country code.
        aliases: unused (kept for callers of v1); the tables come from ``rules``.
        workers: worker processes for the EC work (default: every core).
        full: build the whole index anew (:meth:`NodeIndex.rebuild`), even if a watermark
            is stored; the store is swapped only once the new one is complete.
        reread: read the whole registry again and diff it against the index (what a change
            of identifier rules needs): every record is re-derived, but only records whose
            items changed cost EC work, and mirrors keep taking deltas.
        progress: called with ``(done, total)`` identifiers evaluated.
        rules: the identifier versions to index under (default: v2 with packaged tables).

    Returns:
        What was done, including every record left out and why.

    Raises:
        RegistryUnavailableError: the registry cannot be read.
    """
    started = time.monotonic()
    # Taken before reading: a change made while we read is seen again next run, never lost.
    watermark = source.watermark()
    since = None if full or reread or index.stale else index.watermark
    try:
        changes = source.changes_since(since)
        first = next(changes, None)
    except WatermarkError:
        since = None
        changes = source.changes_since(None)
        first = next(changes, None)
    rejected: list[Rejected] = []
    counter = [0]

    def feed() -> Iterator[Change]:
        if first is not None:
            yield first
            yield from changes

    inputs = _inputs(
        feed(),
        reference_key=reference_key,
        country=country,
        rules=rules if rules is not None else IdentifierRules(),
        rejected=rejected,
        counter=counter,
    )
    if full:  # built anew beside the store, whatever state the store is in
        index.rebuild(inputs, workers=workers, progress=progress, watermark=watermark)
    else:
        index.update(
            inputs, workers=workers, progress=progress, watermark=watermark,
            complete=since is None,
        )  # fmt: skip
    stats = index.last_update
    assert stats is not None
    return IndexReport(
        version=stats.version,
        epoch_id=index.epoch_id,
        size=index.size,
        full=since is None,
        changes=counter[0],
        evaluated=stats.evaluated,
        added=stats.added,
        removed=stats.removed,
        resealed=stats.resealed,
        rejected=tuple(rejected),
        watermark=watermark,
        seconds=time.monotonic() - started,
    )
