"""``fedlookup audit report``: what a log says happened, summarised for an auditor's file.

Counts queries and items per peer, purpose and day (both directions), refusals per peer and
reason, quota exhaustions, and flags what should stand out: a peer that ran into its quota
(the signature of an enumeration attempt), refusals, days on which a peer asked for far
more items than it usually does, and days on which a peer sent many small requests.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from audit.crosscheck import log_country
from audit.followup_audit import follow_up_summary
from audit.statements import now
from audit.verify import ExportView

__all__ = ["AuditSummary", "summarise"]

#: A day is unusual when a peer's items exceed this multiple of its median day ...
SPIKE_FACTOR = 3
#: ... and at least this many items.
SPIKE_MIN_ITEMS = 100
#: A request of at most this many items is small (10 firearms, the cardinality minimum) ...
SMALL_REQUEST_ITEMS = 20
#: ... and a peer sending this many small requests in a day is flagged: the pattern of a
#: cardinality-only peer probing a few items at a time (docs/protocol.md, threat model).
SMALL_REQUESTS_PER_DAY = 50


@dataclass
class AuditSummary:
    """Aggregates of one log (JSON-ready through :meth:`to_json`)."""

    origin: str
    country: str
    entries: int
    first: str | None = None
    last: str | None = None
    kinds: Counter[str] = field(default_factory=Counter)
    queries: dict[tuple[str, str, str, str], list[int]] = field(default_factory=dict)
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    quota: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    flags: list[str] = field(default_factory=list)
    follow_ups: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "origin": self.origin,
            "country": self.country,
            "entries": self.entries,
            "first": self.first,
            "last": self.last,
            "kinds": dict(self.kinds),
            "queries": [
                {"direction": d, "peer": p, "purpose": u, "day": day, "queries": q, "items": n}
                for (d, p, u, day), (q, n) in sorted(self.queries.items())
            ],
            "refusals": [
                {"peer": p, "reason": r, "count": c} for (p, r), c in sorted(self.refusals.items())
            ],
            "quota_exhausted": dict(self.quota),
            "outcomes": dict(self.outcomes),
            "flags": self.flags,
            "follow_ups": self.follow_ups,
        }


def summarise(view: ExportView) -> AuditSummary:
    """Aggregate one export's entries."""
    summary = AuditSummary(view.policy.origin, log_country(view), len(view.entries))
    daily: dict[str, Counter[str]] = defaultdict(Counter)
    small: Counter[tuple[str, str]] = Counter()
    for e in view.entries:
        if e is None:
            continue
        day = e.time.date().isoformat()
        summary.kinds[e.kind] += 1
        stamp = e.time.isoformat()
        summary.first = summary.first or stamp
        summary.last = stamp
        if e.kind in ("query_sent", "query_received"):
            incoming = e.kind == "query_received"
            peer = e["from"] if incoming else e["to"]
            key = ("in" if incoming else "out", peer, e["purpose"], day)
            q, n = summary.queries.get(key, [0, 0])
            summary.queries[key] = [q + 1, n + e["items"]]
            if incoming:
                daily[peer][day] += e["items"]
                if e["items"] <= SMALL_REQUEST_ITEMS:
                    small[(peer, day)] += 1
        elif e.kind == "refusal":
            summary.refusals[(e["from"], e["reason"])] += 1
        elif e.kind == "refused_request":  # unauthenticated: the certificate's country
            summary.refusals[(e["peer"], e["reason"])] += 1
        elif e.kind == "refusals_aggregated":
            for part in str(e["reasons"]).split(","):
                reason, _, count = part.partition("=")
                summary.refusals[(e["peer"], reason)] += int(count) if count.isdigit() else 0
        elif e.kind == "quota_exhausted":
            summary.quota[e["peer"]] += 1
        elif e.kind == "receipt":
            summary.outcomes[e["status"]] += 1
    summary.follow_ups = follow_up_summary(view, now())
    for rid in summary.follow_ups["overdue"]:
        summary.flags.append(f"follow-up {rid} decided after its deadline, or not yet")
    for peer, n in sorted(summary.quota.items()):
        summary.flags.append(f"{peer} ran into its quota {n} time(s): possible enumeration")
    for (peer, reason), n in sorted(summary.refusals.items()):
        summary.flags.append(f"{n} request(s) from {peer} refused ({reason})")
    for (peer, day), n in sorted(small.items()):
        if n >= SMALL_REQUESTS_PER_DAY:
            summary.flags.append(
                f"{peer} sent {n} requests of at most {SMALL_REQUEST_ITEMS} items on {day}: "
                "few items at a time (a cardinality-only peer can read which items matched)"
            )
    for peer, days in sorted(daily.items()):
        median = statistics.median(days.values())
        for day, items in sorted(days.items()):
            if items >= SPIKE_MIN_ITEMS and items > SPIKE_FACTOR * median:
                summary.flags.append(
                    f"{peer} asked for {items} items on {day}, {items / median:.0f}x its median day"
                )
    return summary
