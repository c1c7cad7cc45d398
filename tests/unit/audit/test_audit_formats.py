"""Canonical encodings: entries, statements, openings; strict parsing; the package example."""

from __future__ import annotations

import doctest
from datetime import timedelta
from pathlib import Path

import pytest
from audit_helpers import make_statement

import audit
from audit import LogEntry, Opening, OpeningStore, QueryStatement, commit
from audit.canonical import canonical_bytes
from fedlookup.errors import AuditError, VerificationError


def test_package_example_runs() -> None:
    result = doctest.testmod(audit, raise_on_error=False)
    assert result.attempted > 10
    assert result.failed == 0


@pytest.mark.parametrize(
    "entry",
    [
        LogEntry.query_sent(make_statement()),
        LogEntry.query_received(make_statement(), b"\x01" * 64),
        LogEntry.receipt("r1", "FR", "DE", status="answered", hits=1, no_hits=1, receipt=b"x"),
        LogEntry.refusal(make_statement(), "quota"),
        LogEntry.quota_exhausted("r2", "FR", items=4, used=1000, quota=1000),
        LogEntry.compat_setup("FR", epoch_id="e-1", version=3, inputs=1000, fpr=1e-9),
        LogEntry.key_rotation("epoch", "e-2"),
        LogEntry.directory_change(7, "ab" * 32),
        LogEntry.heartbeat(),
    ],
    ids=lambda e: e.kind,
)
def test_every_kind_round_trips_through_its_canonical_bytes(entry: LogEntry) -> None:
    data = entry.canonical()
    assert LogEntry.parse(data) == entry
    assert data.startswith(b'{"')
    assert b" " not in data.replace(b"art. 3", b"")
    assert b'"v":1' in data


@pytest.mark.parametrize(
    "data",
    [
        b'{"kind":"heartbeat","time":"2026-01-01T00:00:00.000Z","v":1} ',  # whitespace
        b'{"time":"2026-01-01T00:00:00.000Z","kind":"heartbeat","v":1}',  # key order
        b'{"kind":"heartbeat","time":"2026-01-01T00:00:00Z","v":1}',  # time form
        b'{"kind":"heartbeat","time":"2026-01-01T00:00:00.000Z","v":2}',  # version
        b'{"kind":"heartbeat","time":"2026-01-01T00:00:00.000Z","v":1,"x":1}',  # extra field
        b'{"kind":"nope","time":"2026-01-01T00:00:00.000Z","v":1}',  # kind
        b'{"kind":"heartbeat","time":"2026-01-01T00:00:00.000Z","v":1.0}',  # float
        b"\xff",
    ],
)
def test_non_canonical_or_unknown_entries_are_refused(data: bytes) -> None:
    with pytest.raises(VerificationError):
        LogEntry.parse(data)


def test_entries_never_hold_identifiers() -> None:
    ids = [b"v1|GLOCK|ABC123", b"v1|ABC123"]
    st = make_statement()
    st = QueryStatement(**{**st.__dict__, "commitment": commit(bytes(range(32)), ids)})
    data = LogEntry.query_sent(st).canonical() + LogEntry.query_received(st, b"s").canonical()
    assert b"ABC123" not in data


def test_statement_round_trip_and_strictness() -> None:
    st = make_statement()
    assert QueryStatement.parse(st.canonical()) == st
    obj = st.to_json() | {"items": -1}
    with pytest.raises(VerificationError):
        QueryStatement.parse(canonical_bytes(obj))


def test_commitment_binds_order_count_and_nonce() -> None:
    nonce = bytes(32)
    base = commit(nonce, [b"a", b"b"])
    assert base != commit(nonce, [b"b", b"a"])
    assert base != commit(nonce, [b"ab"])
    assert base != commit(b"\x01" * 32, [b"a", b"b"])


def test_opening_store_reveal_and_purge(tmp_path: Path) -> None:
    with OpeningStore(tmp_path / "openings.db") as store:
        c = store.create("r1", [b"v1|GLOCK|1", b"v1|1"])
        opening = Opening.parse(store.get("r1").to_bytes())
        opening.check(c)
        with pytest.raises(VerificationError):
            Opening(opening.request_id, opening.nonce, (b"v1|GLOCK|2",), opening.created_at).check(
                c
            )
        assert store.purge(timedelta(days=730)) == 0
        assert store.purge(timedelta(seconds=-1)) == 1
        with pytest.raises(AuditError, match="purged"):
            store.get("r1")
    assert (tmp_path / "openings.db").stat().st_mode & 0o777 == 0o600
