"""Group commit: several entries (or openings) made durable with one fsync, all or none."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import make_statement
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog, LogEntry, OpeningStore
from audit.records import read_records
from fedlookup.errors import AuditError, LogWriteError


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_append_many_is_one_fsync_and_same_tree_as_single_appends(
    open_log: Callable[..., AuditLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    batched, single = open_log("FR"), open_log("DE")
    entries = [LogEntry.query_sent(make_statement(to=c)) for c in ("DE", "IT", "NL", "PL")]
    first = LogEntry.heartbeat()
    single.append(first)
    batched.append(first)
    fsyncs = _count_fsyncs(monkeypatch)
    assert batched.append_many(entries) == [1, 2, 3, 4]
    assert len(fsyncs) == 1
    for entry in entries:
        single.append(entry)
    assert batched.root() == single.root()
    assert [batched.entry(i) for i in range(5)] == [single.entry(i) for i in range(5)]
    assert batched.append_many([]) == []
    assert batched.append(LogEntry.heartbeat()) == 5


def test_append_many_survives_reopen(tmp_path: Path, keys: dict[str, Ed25519PrivateKey]) -> None:
    entries = [LogEntry.query_sent(make_statement(to=c)) for c in ("DE", "IT", "NL")]
    with AuditLog.open(tmp_path / "log", "fedlookup.test/FR", keys["FR"]) as log:
        log.append_many(entries)
        log.checkpoint()
        root = log.root()
    with AuditLog.open(tmp_path / "log", "fedlookup.test/FR", keys["FR"]) as log:
        assert log.size == 3
        assert log.root() == root
        assert log.entry(2) == entries[2].canonical()


def test_failed_fsync_appends_none_of_the_batch(
    tmp_path: Path, keys: dict[str, Ed25519PrivateKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [LogEntry.query_sent(make_statement(to=c)) for c in ("DE", "IT", "NL")]
    with AuditLog.open(tmp_path / "log", "fedlookup.test/FR", keys["FR"]) as log:
        log.append(LogEntry.heartbeat())
        root = log.root()
        real = os.fsync
        failures = iter([True])

        def failing(fd: int) -> None:
            if next(failures, False):
                raise OSError(5, "Input/output error")
            real(fd)

        monkeypatch.setattr(os, "fsync", failing)
        with pytest.raises(LogWriteError):
            log.append_many(entries)
        assert log.size == 1
        assert log.root() == root
        assert len(read_records(tmp_path / "log" / "entries.rec")) == 1
        assert log.append_many(entries[:1]) == [1]
    with AuditLog.open(tmp_path / "log", "fedlookup.test/FR", keys["FR"]) as log:
        assert log.size == 2


def test_torn_batch_tail_is_cut_on_open(tmp_path: Path, keys: dict[str, Ed25519PrivateKey]) -> None:
    entries = [LogEntry.query_sent(make_statement(to=c)) for c in ("DE", "IT", "NL")]
    with AuditLog.open(tmp_path / "log", "fedlookup.test/FR", keys["FR"]) as log:
        log.append(LogEntry.heartbeat())
        log.checkpoint()
        log.append_many(entries)
    path = tmp_path / "log" / "entries.rec"
    os.truncate(path, path.stat().st_size - 7)  # a crash before the batch's fsync returned
    with AuditLog.open(tmp_path / "log", "fedlookup.test/FR", keys["FR"]) as log:
        assert log.recovered_bytes > 0
        assert log.size == 3  # the signed entry and the complete records of the batch
        assert log.append(LogEntry.heartbeat()) == 3


def test_openings_create_many_is_atomic(tmp_path: Path) -> None:
    with OpeningStore(tmp_path / "openings.sqlite3") as store:
        commitments = store.create_many([("r1", [b"a", b"b"]), ("r2", [b"c", b"d"])])
        store.get("r1").check(commitments[0])
        store.get("r2").check(commitments[1])
        with pytest.raises(AuditError, match="r3"):
            store.create_many([("r3", [b"e"]), ("r1", [b"f"])])  # r1 exists: nothing stored
        with pytest.raises(AuditError):
            store.get("r3")
        assert store.create_many([("r3", [b"e"])])
