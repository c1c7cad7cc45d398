"""``run_index``: registry change feed to encrypted index, incrementally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from psi_helpers import make_index, query, synced

from fedlookup.errors import WatermarkError
from node.ops.indexing import run_index
from registry_adapter.canonical_v2 import identify
from registry_adapter.identifier_versions import IdentifierRules
from registry_adapter.identifiers import record_identifiers
from registry_adapter.models import Category, Change, Record
from registry_adapter.source import RegistrySource

KEY = b"k" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FeedSource(RegistrySource):
    """An in-memory registry with a change log (the watermark is the log length)."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.log: list[str] = []
        self.forget_before = 0

    def put(self, rid: str, make: str, serial: str, category: Category = Category.STOLEN) -> None:
        self.records[rid] = Record(rid, make, "", "", serial, category, NOW)
        self.log.append(rid)

    def remove(self, rid: str) -> None:
        del self.records[rid]
        self.log.append(rid)

    def count(self) -> int:
        return len(self.records)

    def iter_records(self) -> Iterator[Record]:
        return iter(list(self.records.values()))

    def watermark(self) -> str:
        return str(len(self.log))

    def changes_since(self, watermark: str | None) -> Iterator[Change]:
        start = int(watermark) if watermark is not None else 0
        if watermark is not None and start < self.forget_before:
            raise WatermarkError("feed no longer holds that position")
        rids = dict.fromkeys(self.log[start:]) if watermark is not None else self.records
        for rid in list(rids):
            yield Change(rid, self.records.get(rid))

    def close(self) -> None:
        pass


def test_first_run_then_incremental(tmp_path: Path) -> None:
    source = FeedSource()
    for i in range(10):
        source.put(f"r{i}", "Glock", f"AB{i}123")
    source.put("bad", "Glock", "unknown")
    index, key, _ = make_index(tmp_path)
    report = run_index(source, index, reference_key=KEY, country="DE")
    assert report.full
    assert report.changes == 11
    assert report.evaluated == 20
    assert [r.record_id for r in report.rejected] == ["bad"]
    assert index.watermark == "11"

    source.put("r3", "Glock", "AB3123", Category.FOUND)  # label only
    source.remove("r4")
    source.put("r11", "S&W", "XY-999")
    report = run_index(source, index, reference_key=KEY, country="DE")
    assert not report.full
    assert report.changes == 3
    assert report.evaluated == 2
    assert report.resealed == 2
    assert report.removed == 2
    gone = identify("Glock", "AB4123").items()[0]
    found = identify("GLOCK", "ab3123").items()[0]
    sw = identify("Smith and Wesson", "XY999").items()[0]
    got = query(key, synced(index), [gone, found, sw])
    assert got[0] == []
    assert [lab.category for lab in got[1]] == ["found"]
    assert index.resolve_reference(got[2][0].reference) == "r11"


def test_lost_watermark_falls_back_to_full(tmp_path: Path) -> None:
    source = FeedSource()
    source.put("r1", "Glock", "AB1123")
    index, _, _ = make_index(tmp_path)
    run_index(source, index, reference_key=KEY, country="DE")
    source.put("r2", "Glock", "AB2123")
    source.forget_before = 2
    report = run_index(source, index, reference_key=KEY, country="DE")
    assert report.full
    assert index.size == 4


def test_rejected_record_loses_its_old_entries(tmp_path: Path) -> None:
    source = FeedSource()
    source.put("r1", "Glock", "AB1123")
    index, _, _ = make_index(tmp_path)
    run_index(source, index, reference_key=KEY, country="DE")
    source.put("r1", "Glock", "N/A")
    report = run_index(source, index, reference_key=KEY, country="DE")
    assert [r.record_id for r in report.rejected] == ["r1"]
    assert index.size == 0


def test_a_migration_serves_v1_and_v2_then_costs_nothing_more(tmp_path: Path) -> None:
    source = FeedSource()
    source.put("r1", "Glock Ges.m.b.H.", "No. 0AB1123")
    source.put("r2", "?", "CD4567")  # v1 refuses the make; v2 indexes it serial-only
    index, key, _ = make_index(tmp_path)
    v1 = run_index(source, index, reference_key=KEY, country="DE", rules=IdentifierRules(("v1",)))
    assert [r.record_id for r in v1.rejected] == ["r2"]
    both = IdentifierRules(("v1", "v2"))
    report = run_index(source, index, reference_key=KEY, country="DE", reread=True, rules=both)
    # Records whose items changed are evaluated again, once: 2 v1 + 3 v2 items, 1 for r2.
    assert (report.evaluated, report.size) == (6, 6)
    again = run_index(source, index, reference_key=KEY, country="DE", reread=True, rules=both)
    assert again.evaluated == 0
    old = record_identifiers("Glock Ges.m.b.H.", "No. 0AB1123").make_serial
    ms, _, variant = identify("GLOCK", "0AB1123").items()
    got = query(key, synced(index), [old, ms, variant, b"v2|S|CD4567"])
    assert [len(g) for g in got] == [1, 1, 1, 1]
