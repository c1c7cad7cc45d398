"""Concurrent investigators against a running federation, with the audit reconciliation.

:func:`run_load` spreads ``investigators`` over the member countries; each country's
investigators run in one driver process of their own (so the drivers do not share one
interpreter lock), as threads sharing that node's :func:`~node.ask.asker.open_hit_check`
(one outgoing log, one mirror store, one channel per peer). Each investigator runs
``checks`` hit checks of one firearm (alternately a record of another country and a
serial nobody holds) against every other node.

Afterwards it counts, per node, the queries it answered (``query_received`` entries in its
log) and, per asker, the queries it saw answered (``receipt`` entries with status
``answered`` in its outgoing log), and compares both with the answers the investigators
received.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relnet import RelNet, audit_kinds

from audit.entries import LogEntry
from audit.records import read_records
from federation.hitcheck_types import CheckContext, CheckItem, Outcome
from node.ask.asker import open_hit_check
from node.config import NodeConfig
from registry_adapter.identifiers import record_identifiers

__all__ = ["LoadResult", "run_load"]


@dataclass
class LoadResult:
    """What a load run measured."""

    investigators: int
    checks: int
    nodes: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    answered_queries: int = 0
    logged_received: int = 0
    logged_answered_receipts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def percentile(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) of a whole check, in milliseconds."""
        data = sorted(self.latencies_ms)
        if not data:
            return 0.0
        k = min(len(data) - 1, max(0, round(q / 100 * len(data) + 0.5) - 1))
        return data[k]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "investigators": self.investigators,
            "checks_per_investigator": self.checks,
            "nodes": self.nodes,
            "checks": len(self.latencies_ms),
            "seconds": round(self.seconds, 1),
            "checks_per_second": round(len(self.latencies_ms) / self.seconds, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p99_ms": round(self.percentile(99), 1),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 1) if self.latencies_ms else 0,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "answered_queries": self.answered_queries,
            "audit_query_received": self.logged_received,
            "audit_answered_receipts": self.logged_answered_receipts,
            "outcomes": dict(self.outcomes),
        }


def _driver(
    config_path: str, investigators: int, checks: int, targets: list[tuple[str, str]], seed: int
) -> dict[str, Any]:
    """One country's investigators (runs in its own process)."""
    config = NodeConfig.from_toml(Path(config_path), env={})
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    answered = 0
    lock = threading.Lock()
    with open_hit_check(config, timeout=30.0) as hc:

        def investigator(i: int) -> None:
            nonlocal answered
            rng = random.Random(seed * 1000 + i)
            context = CheckContext(f"LOAD-{seed}-{i}", "load test", "", f"inv-{seed}-{i}")
            for n in range(checks):
                if n % 2 == 0:
                    make, serial = rng.choice(targets)
                else:
                    make, serial = "Glock", f"NOBODY{rng.randrange(10**9):09d}"
                ids = record_identifiers(make, serial)
                item = CheckItem(make, serial, ids)
                started = time.monotonic()
                result = hc.run([item], context)
                took = (time.monotonic() - started) * 1000
                with lock:
                    latencies.append(took)
                    for country, report in result.peers.items():
                        if report.status == "answered":
                            answered += len(report.request_ids)
                        else:
                            errors[f"{country}: {report.status}: {report.reason}"[:160]] += 1
                    for answer in result.answers[0].values():
                        outcomes[answer.outcome.value] += 1

        threads = [threading.Thread(target=investigator, args=(i,)) for i in range(investigators)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"latencies": latencies, "errors": errors, "answered": answered, "outcomes": outcomes}


def _received(net: RelNet) -> int:
    return sum(audit_kinds(net.audit_dir(c)).count("query_received") for c in net.ports)


def _answered_receipts(net: RelNet) -> int:
    total = 0
    for country in net.ports:
        path = net.outgoing_dir(country) / "entries.rec"
        for raw in read_records(path):
            entry = LogEntry.parse(raw)
            if entry.kind == "receipt" and entry["status"] == "answered":
                total += 1
    return total


def run_load(net: RelNet, investigators: int, checks: int) -> LoadResult:
    """Run ``investigators`` x ``checks`` hit checks against ``net`` (see the module doc)."""
    countries = sorted(net.ports)
    share = {c: investigators // len(countries) for c in countries}
    for c in countries[: investigators % len(countries)]:
        share[c] += 1
    before_received, before_receipts = _received(net), _answered_receipts(net)
    result = LoadResult(investigators, checks, len(countries), 0.0)
    started = time.monotonic()
    # spawn, not fork: the drivers start their own grpc threads from a clean interpreter.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(countries), mp_context=spawn) as pool:
        futures = []
        for seed, country in enumerate(countries):
            if not share[country]:
                continue
            targets = [
                (make, serial)
                for other in countries
                if other != country
                for _, make, serial, _ in net.records[other]
            ]
            config = str(net.network.nodes[country].config_path)
            futures.append(pool.submit(_driver, config, share[country], checks, targets, seed + 1))
        for f in futures:
            part = f.result()
            result.latencies_ms += part["latencies"]
            result.errors.update(part["errors"])
            result.outcomes.update(part["outcomes"])
            result.answered_queries += part["answered"]
    result.seconds = time.monotonic() - started
    result.logged_received = _received(net) - before_received
    result.logged_answered_receipts = _answered_receipts(net) - before_receipts
    return result


#: Outcomes that mean a peer did not answer.
FAILED_OUTCOMES = (Outcome.UNAVAILABLE.value, Outcome.REFUSED.value)
