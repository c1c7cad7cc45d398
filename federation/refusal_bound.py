"""A bound on how fast one peer can grow another node's audit log with refusals.

Every answered query costs its asker quota; a refusal costs it nothing. Without a bound, a
member could send refused requests forever and the answering node would log each one. The
node therefore logs at most ``per_interval`` refusals of a peer in each interval of
``interval`` seconds one by one, counts the rest, and writes the count as one
``refusals_aggregated`` entry (peer, count, reasons, start of the interval) when the peer's
next refusal falls in a later interval or when the node flushes (at shutdown).

Example::

    bound = RefusalBound(per_interval=20, interval=60.0)
    if bound.admit("NL", "CountryMismatchError", now):
        log.append(entry)
    for entry in bound.due(now):
        log.append(entry)
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from audit.entries import LogEntry

__all__ = ["RefusalBound"]


@dataclass
class _Window:
    start: datetime
    logged: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)


class RefusalBound:
    """Per-peer, per-interval bound on individually logged refusals.

    Args:
        per_interval: refusals of one peer logged one by one in an interval (>= 1).
        interval: length of an interval, seconds (> 0).

    Raises:
        ValueError: a bound out of range.
    """

    def __init__(self, *, per_interval: int = 20, interval: float = 60.0) -> None:
        if per_interval < 1 or interval <= 0:
            raise ValueError("per_interval must be >= 1 and interval > 0")
        self._per = per_interval
        self._interval = timedelta(seconds=interval)
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def admit(self, peer: str, reason: str, now: datetime) -> bool:
        """Whether this refusal of ``peer`` is logged on its own (else it is counted).

        Call :meth:`due` first: an ended window's count is written before a new one opens.
        """
        with self._lock:
            w = self._windows.get(peer)
            if w is None or (now - w.start >= self._interval and not w.suppressed):
                w = self._windows[peer] = _Window(start=now)
            if w.logged < self._per:
                w.logged += 1
                return True
            w.suppressed[reason] += 1
            return False

    def due(self, now: datetime, *, flush: bool = False) -> list[LogEntry]:
        """``refusals_aggregated`` entries of windows that ended (all of them with ``flush``);
        each is handed out once."""
        out = []
        with self._lock:
            for peer, w in sorted(self._windows.items()):
                if not w.suppressed or not (flush or now - w.start >= self._interval):
                    continue
                reasons = ",".join(f"{r}={n}" for r, n in sorted(w.suppressed.items()))
                out.append(
                    LogEntry.refusals_aggregated(
                        peer, sum(w.suppressed.values()), reasons, w.start, time=now
                    )
                )
                self._windows[peer] = _Window(start=now, logged=0)
        return out
