"""One contract, every backend: embedded store and mapped foreign table, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_harness import Harness, MappedHarness, StoreHarness, record

from fedlookup.errors import WatermarkError
from registry_adapter import Category, Change

BACKENDS = [
    pytest.param("store-sqlite", id="store-sqlite"),
    pytest.param("mapped-sqlite", id="mapped-sqlite"),
    pytest.param("store-postgres", id="store-postgres", marks=pytest.mark.postgres),
    pytest.param("mapped-postgres", id="mapped-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    kind, _, db = request.param.partition("-")
    url = (
        request.getfixturevalue("postgres_schema")
        if db == "postgres"
        else f"sqlite:///{tmp_path / 'registry.db'}"
    )
    h: StoreHarness | MappedHarness
    h = StoreHarness(url) if kind == "store" else MappedHarness(url, tmp_path / "snapshot.db")
    try:
        yield h
    finally:
        h.source.close()
        if isinstance(h, MappedHarness):
            h.close()


def by_id(changes: Iterator[Change]) -> dict[str, Change]:
    out: dict[str, Change] = {}
    for c in changes:
        assert c.record_id not in out, "a record appears twice in one feed read"
        out[c.record_id] = c
    return out


def test_empty_registry(harness: Harness) -> None:
    assert harness.source.count() == 0
    assert list(harness.source.iter_records()) == []
    assert list(harness.source.changes_since(None)) == []


def test_records_round_trip_in_id_order(harness: Harness) -> None:
    recs = [
        record(3, "ABC123", Category.STOLEN, notes="left in car"),
        record(1, "DHB-1234", make="S&W", model="686", caliber=".357 Magnum"),
        record(2, "BER123456", Category.EXPORTED, make="Beretta"),
    ]
    harness.put(recs)
    assert harness.source.count() == 3
    got = list(harness.source.iter_records())
    assert [r.record_id for r in got] == ["1", "2", "3"]
    assert got == sorted(recs, key=lambda r: r.record_id)
    assert by_id(harness.source.changes_since(None)).keys() == {"1", "2", "3"}


def test_change_feed_reports_adds_updates_and_removals(harness: Harness) -> None:
    harness.put([record(1, "AAA111"), record(2, "AAA222"), record(3, "AAA333")])
    mark = harness.source.watermark()
    harness.put([record(2, "AAA222", Category.STOLEN), record(4, "AAA444")])
    harness.remove(["3"])
    changes = by_id(harness.source.changes_since(mark))
    assert changes.keys() == {"2", "3", "4"}
    assert changes["2"].record is not None
    assert changes["2"].record.category is Category.STOLEN
    assert changes["4"].record == record(4, "AAA444")
    assert changes["3"].record is None
    assert harness.source.count() == 3
    # From the newer watermark, nothing is left to see.
    assert list(harness.source.changes_since(harness.source.watermark())) == []


def test_rewriting_identical_content_is_not_a_change(harness: Harness) -> None:
    recs = [record(1, "AAA111"), record(2, "AAA222")]
    harness.put(recs)
    mark = harness.source.watermark()
    harness.put(recs)
    assert list(harness.source.changes_since(mark)) == []
    assert harness.source.watermark() == mark


def test_removed_then_restored_record_comes_back(harness: Harness) -> None:
    harness.put([record(1, "AAA111")])
    harness.remove(["1"])
    mark = harness.source.watermark()
    assert harness.source.count() == 0
    harness.put([record(1, "AAA111", Category.FOUND)])
    (change,) = harness.source.changes_since(mark)
    assert change.record == record(1, "AAA111", Category.FOUND)


def test_malformed_watermarks_are_refused(harness: Harness) -> None:
    for bad in ["", "nonsense", "abc:", "abc:-1", "abc:1.5"]:
        with pytest.raises(WatermarkError):
            list(harness.source.changes_since(bad))


def test_watermark_of_another_feed_or_from_the_future_is_refused(harness: Harness) -> None:
    harness.put([record(1, "AAA111")])
    mark = harness.source.watermark()
    feed, _, seq = mark.rpartition(":")
    with pytest.raises(WatermarkError, match="another"):
        list(harness.source.changes_since(f"00000000-0000-0000-0000-000000000000:{seq}"))
    with pytest.raises(WatermarkError, match="ahead"):
        list(harness.source.changes_since(f"{feed}:{int(seq) + 1000}"))


def test_feed_identity_across_reopen(harness: Harness) -> None:
    harness.put([record(1, "AAA111")])
    mark = harness.source.watermark()
    with harness.other_source() as other:
        if isinstance(harness, StoreHarness):
            assert other.watermark() == mark  # the store's feed lives in its database
            assert list(other.changes_since(mark)) == []
        else:
            with pytest.raises(WatermarkError):  # a new snapshot is a new feed
                list(other.changes_since(mark))
