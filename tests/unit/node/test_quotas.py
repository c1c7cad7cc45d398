"""SqliteQuotaLedger: exact to the item, whole-or-nothing, durable across restarts."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from fedlookup.errors import QuotaExceededError
from node.serve.quotas import SqliteQuotaLedger

DAY = date(2026, 11, 22)


def _ledger(path: Path, day: date = DAY) -> SqliteQuotaLedger:
    return SqliteQuotaLedger(path, today=lambda: day)


def test_charges_exactly_up_to_the_limit(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "q.sqlite")
    assert ledger.charge("FR", 6, 10) == 4
    assert ledger.charge("FR", 4, 10) == 0
    with pytest.raises(QuotaExceededError, match="1 items would exceed the daily quota of 10"):
        ledger.charge("FR", 1, 10)
    assert ledger.used("FR") == 10


def test_refused_request_charges_nothing(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "q.sqlite")
    ledger.charge("FR", 7, 10)
    with pytest.raises(QuotaExceededError, match="3 left today"):
        ledger.charge("FR", 4, 10)
    assert ledger.used("FR") == 7
    assert ledger.charge("FR", 3, 10) == 0


def test_peers_and_days_are_separate(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    _ledger(path).charge("FR", 10, 10)
    assert _ledger(path).remaining("NL", 10) == 10
    tomorrow = _ledger(path, date(2026, 11, 23))
    assert tomorrow.remaining("FR", 10) == 10
    assert tomorrow.charge("FR", 10, 10) == 0


def test_usage_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    first = _ledger(path)
    first.charge("FR", 9, 10)
    first.close()
    second = _ledger(path)
    assert second.usage_today() == {"FR": 9}
    with pytest.raises(QuotaExceededError):
        second.charge("FR", 2, 10)


def test_concurrent_charges_never_pass_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    ledgers = [_ledger(path) for _ in range(2)]  # two connections, as two processes would
    granted: list[int] = []
    lock = threading.Lock()

    def worker(ledger: SqliteQuotaLedger) -> None:
        for _ in range(30):
            try:
                ledger.charge("FR", 1, 25)
            except QuotaExceededError:
                continue
            with lock:
                granted.append(1)

    threads = [threading.Thread(target=worker, args=(lg,)) for lg in ledgers for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 25
    assert ledgers[0].used("FR") == 25
