"""Registry statistics: counts by category and identifier collisions.

Collisions are counted by streaming every record's identifiers into a temporary SQLite
file and grouping there, so Python memory stays constant whatever the registry size.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fedlookup.errors import InputError
from registry_adapter.identifiers import MakeAliases, record_identifiers
from registry_adapter.models import Category
from registry_adapter.source import RegistrySource

__all__ = ["RegistryStats", "compute_stats"]


@dataclass(frozen=True)
class RegistryStats:
    """A registry at a glance.

    Attributes:
        records: live records.
        by_category: live records per category (every category present, zeros included).
        unusable: records whose identifiers cannot be derived.
        make_serial_collisions: identifiers shared by two or more records (same make and
            serial after canonicalisation: the same firearm registered twice, or a typo).
        records_in_make_serial_collisions: records involved in those.
        serial_only_collisions: serial-only identifiers shared by two or more records
            (includes the make+serial ones; the rest are the same serial under other makes).
        removed: tombstones the change feed still holds (embedded store only).
        last_change_at: when content last changed (embedded store only).
        watermark: the change-feed position when the statistics were taken.
    """

    records: int
    by_category: dict[str, int]
    unusable: int
    make_serial_collisions: int
    records_in_make_serial_collisions: int
    serial_only_collisions: int
    watermark: str
    removed: int | None = None
    last_change_at: datetime | None = None


def _key(identifier: bytes) -> bytes:
    # 12-byte digests keep the temporary file small; a chance collision among 10^9
    # identifiers is about 10^-11.
    return hashlib.blake2b(identifier, digest_size=12).digest()


def compute_stats(source: RegistrySource, aliases: MakeAliases | None = None) -> RegistryStats:
    """Compute :class:`RegistryStats` in one streaming pass over ``source``.

    Raises:
        RegistryUnavailableError: the registry cannot be read.
    """
    watermark = source.watermark()
    counts: Counter[str] = Counter()
    unusable = 0
    with tempfile.TemporaryDirectory(prefix="fedlookup-stats-") as tmp:
        db = sqlite3.connect(str(Path(tmp) / "ids.db"))
        try:
            db.execute("CREATE TABLE ids (ms BLOB, s BLOB)")
            it = iter(source.iter_records())
            while batch := list(itertools.islice(it, 5000)):
                rows = []
                for rec in batch:
                    counts[rec.category.value] += 1
                    try:
                        ids = record_identifiers(rec.make, rec.serial, aliases)
                    except InputError:
                        unusable += 1
                        continue
                    rows.append((_key(ids.make_serial), _key(ids.serial_only)))
                db.executemany("INSERT INTO ids VALUES (?, ?)", rows)
            ms_groups, ms_records = db.execute(
                "SELECT count(*), coalesce(sum(n), 0) FROM "
                "(SELECT count(*) AS n FROM ids GROUP BY ms HAVING count(*) > 1)"
            ).fetchone()
            (s_groups,) = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM ids GROUP BY s HAVING count(*) > 1)"
            ).fetchone()
        finally:
            db.close()
    return RegistryStats(
        records=sum(counts.values()),
        by_category={c.value: counts.get(c.value, 0) for c in Category},
        unusable=unusable,
        make_serial_collisions=int(ms_groups),
        records_in_make_serial_collisions=int(ms_records),
        serial_only_collisions=int(s_groups),
        watermark=watermark,
    )
