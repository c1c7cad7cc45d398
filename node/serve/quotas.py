"""Per-peer item quotas per UTC day, in SQLite, exact to the item and durable.

A charge runs in one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock, taken before
reading) with ``synchronous=FULL``: two concurrent charges cannot both see the same
balance, and a charge that returned survives a crash or restart. A request that would pass
the quota is refused whole and charges nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from fedlookup.errors import QuotaExceededError, RegistryUnavailableError

__all__ = ["SqliteQuotaLedger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quota_usage (
    peer TEXT NOT NULL,
    day TEXT NOT NULL,
    items INTEGER NOT NULL CHECK (items >= 0),
    PRIMARY KEY (peer, day)
)
"""


def _utc_today() -> date:
    return datetime.now(UTC).date()


class SqliteQuotaLedger:
    """The :class:`~federation.responder.QuotaLedger` of a node.

    Args:
        path: the SQLite file (created with its directory if missing).
        today: clock returning the current UTC date (tests pass a fixed one).

    Raises:
        RegistryUnavailableError: the file cannot be opened or created.
    """

    def __init__(self, path: Path, *, today: Callable[[], date] = _utc_today) -> None:
        self._path = path
        self._today = today
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise RegistryUnavailableError(f"quota ledger {path}: {exc}") from exc

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()

    def used(self, peer: str, day: date | None = None) -> int:
        """Items charged to ``peer`` on ``day`` (default: today, UTC)."""
        key = (day or self._today()).isoformat()
        with self._lock:
            row = self._conn.execute(
                "SELECT items FROM quota_usage WHERE peer = ? AND day = ?", (peer, key)
            ).fetchone()
        return int(row[0]) if row else 0

    def remaining(self, peer: str, limit: int) -> int:
        """Items ``peer`` may still evaluate today under ``limit``."""
        return max(0, limit - self.used(peer))

    def usage_today(self) -> dict[str, int]:
        """Items charged today, per peer (for ``fedlookup node status``)."""
        key = self._today().isoformat()
        with self._lock:
            rows = self._conn.execute(
                "SELECT peer, items FROM quota_usage WHERE day = ? ORDER BY peer", (key,)
            ).fetchall()
        return {str(peer): int(items) for peer, items in rows}

    def charge(self, peer: str, items: int, limit: int) -> int:
        """Charge ``items`` to ``peer`` for today, all or nothing.

        Args:
            peer: the caller's country.
            items: items in the request (``>= 0``).
            limit: the peer's items-per-day quota.

        Returns:
            Items left today after the charge.

        Raises:
            QuotaExceededError: the charge would pass ``limit``; nothing was charged.
            RegistryUnavailableError: the ledger could not be written.
        """
        if items < 0:
            raise ValueError("items must be >= 0")
        key = self._today().isoformat()
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    row = self._conn.execute(
                        "SELECT items FROM quota_usage WHERE peer = ? AND day = ?", (peer, key)
                    ).fetchone()
                    used = int(row[0]) if row else 0
                    if used + items > limit:
                        self._conn.execute("ROLLBACK")
                        raise QuotaExceededError(
                            f"{items} items would exceed the daily quota of {limit} items "
                            f"({max(0, limit - used)} left today, UTC)"
                        )
                    self._conn.execute(
                        "INSERT INTO quota_usage (peer, day, items) VALUES (?, ?, ?) "
                        "ON CONFLICT (peer, day) DO UPDATE SET items = items + excluded.items",
                        (peer, key, items),
                    )
                    self._conn.execute("COMMIT")
                except sqlite3.Error:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise RegistryUnavailableError(f"quota ledger {self._path}: {exc}") from exc
        return limit - used - items
