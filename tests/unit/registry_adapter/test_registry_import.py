"""Import into the embedded store: rejects with reasons, strict mode, idempotence, formats."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedlookup.errors import ImportRejectedError, InputError
from registry_adapter import Category, RegistryStore
from registry_adapter.importer import rejects_path_for

HEADER = "record_id,make,model,caliber,serial,category,recorded_at"
GOOD = [
    "A1,Glock,17,9x19mm,ABC123,registered,2020-01-01",
    "A2,S&W,686,.357 Magnum,DHB-1234,Stolen,2021-05-04T10:00:00+02:00",
    "A3,Beretta,92FS,9x19mm,BER123456,seized,2019-12-31T23:59:59Z",
]


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def read_rejects(path: Path) -> list[dict[str, str]]:
    with rejects_path_for(path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RegistryStore]:
    s = RegistryStore(str(tmp_path / "registry.db"))
    yield s
    s.close()


def test_import_stores_records_normalised(store: RegistryStore, tmp_path: Path) -> None:
    summary = store.import_file(write(tmp_path / "r.csv", GOOD))
    assert (summary.rows, summary.inserted, summary.rejected) == (3, 3, 0)
    assert summary.rejects_path is None
    assert not rejects_path_for(tmp_path / "r.csv").exists()
    recs = {r.record_id: r for r in store.iter_records()}
    assert store.count() == 3
    assert recs["A2"].category is Category.STOLEN
    assert recs["A2"].recorded_at.isoformat() == "2021-05-04T08:00:00+00:00"
    assert recs["A1"].recorded_at.tzinfo is not None
    assert recs["A2"].serial == "DHB-1234"  # stored as entered; identifiers canonicalise


BAD_ROWS = [
    ("B1,Glock,m,c,sans numéro,registered,2020-01-01", "serial", "missing or unreadable"),
    ("B2,Glock,m,c,,registered,2020-01-01", "serial", "missing"),
    ("B3,Glock,m,c,N/A,registered,2020-01-01", "serial", "placeholder"),
    ("B4,Glock,m,c,UNKNOWN,registered,2020-01-01", "serial", "placeholder"),
    ("B5,Glock,m,c,XYZ125,borrowed,2020-01-01", "category", "unknown category"),
    ("B6,Glock,m,c,XYZ126,lost,01/02/2020", "recorded_at", "ISO 8601"),
    ("B7,Glock,m,c,XYZ127,lost,", "recorded_at", "missing"),
    (",Glock,m,c,XYZ128,lost,2020-01-01", "record_id", "missing"),
    ("B9,Glock,m,c,XYZ129,lost,2020-01-01,extra", "-", "more values"),
    ("B10,Glock,m,c,XYZ130", "category", "missing"),
    ("B11,Glock,m,c,123456,lost,2020-01-01", "serial", "plain ascending"),
    ("B13,Glock,m,c,1-2,lost,2020-01-01", "serial", "too little information"),
    ("B12,Glock,m\x00,c,XYZ132,lost,2020-01-01", "model", "NUL"),
]


@pytest.mark.parametrize(("line", "field", "reason"), BAD_ROWS)
def test_each_bad_row_is_rejected_with_line_field_reason(
    store: RegistryStore, tmp_path: Path, line: str, field: str, reason: str
) -> None:
    path = write(tmp_path / "r.csv", [GOOD[0], line, GOOD[1]])
    summary = store.import_file(path)
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert summary.rejects_path == rejects_path_for(path)
    (reject,) = read_rejects(path)
    assert reject["line"] == "3"
    assert reject["field"] == field
    assert reason in reject["reason"]
    assert store.count() == 2


def test_undecodable_bytes_are_rejected_naming_the_field(
    store: RegistryStore, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        (HEADER + "\n" + GOOD[0] + "\n").encode()
        + b"C1,Gl\xf6ck,17,9mm,ABC999,registered,2020-01-01\n"
        + (GOOD[1] + "\n").encode()
    )
    summary = store.import_file(path)
    assert (summary.inserted, summary.rejected) == (2, 1)
    (reject,) = read_rejects(path)
    assert (reject["line"], reject["field"], reject["record_id"]) == ("3", "make", "C1")
    assert "UTF-8" in reject["reason"]


def test_duplicate_ids_within_the_file_are_all_rejected(
    store: RegistryStore, tmp_path: Path
) -> None:
    rows = [GOOD[0], "D1,Glock,17,9mm,AAA111,registered,2020-01-01", GOOD[1],
            "D1,Glock,17,9mm,AAA112,stolen,2020-01-01"]  # fmt: skip
    path = write(tmp_path / "r.csv", rows)
    summary = store.import_file(path)
    assert (summary.inserted, summary.rejected) == (2, 2)
    rejects = read_rejects(path)
    assert [(r["line"], r["field"], r["record_id"]) for r in rejects] == [
        ("3", "record_id", "D1"),
        ("5", "record_id", "D1"),
    ]
    assert all("first at line 3" in r["reason"] for r in rejects)
    assert "D1" not in {r.record_id for r in store.iter_records()}


def test_strict_import_writes_nothing_when_any_row_is_rejected(
    store: RegistryStore, tmp_path: Path
) -> None:
    store.import_file(write(tmp_path / "base.csv", [GOOD[0]]))
    before = (store.watermark(), list(store.iter_records()))
    path = write(tmp_path / "r.csv", [GOOD[1], "B5,Glock,m,c,XYZ125,borrowed,2020-01-01", GOOD[2]])
    with pytest.raises(ImportRejectedError) as err:
        store.import_file(path, strict=True)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 3, "category")
    assert "nothing written" in str(err.value)
    assert (store.watermark(), list(store.iter_records())) == before
    assert len(read_rejects(path)) == 1  # the report is still there to fix the file


def test_strict_import_of_a_clean_file_writes_it(store: RegistryStore, tmp_path: Path) -> None:
    summary = store.import_file(write(tmp_path / "r.csv", GOOD), strict=True)
    assert summary.inserted == 3
    assert store.count() == 3


def test_broken_quoting_fails_the_whole_file_naming_the_line(
    store: RegistryStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "r.csv", [GOOD[0], 'Q1,"Glock,17,9mm,ABC1,registered,2020-01-01'])
    with pytest.raises(InputError) as err:
        store.import_file(path)
    assert err.value.file == str(path)
    assert err.value.line == 3
    assert store.count() == 0


def test_missing_header_column_is_an_input_error(store: RegistryStore, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", ["A1,Glock,ABC123,registered,2020-01-01"],
                 header="record_id,make,serial,category,recorded_at")  # fmt: skip
    with pytest.raises(InputError) as err:
        store.import_file(path)
    assert (err.value.line, err.value.field) == (1, "model")


def test_missing_file_is_an_input_error(store: RegistryStore, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        store.import_file(tmp_path / "absent.csv")


def test_extra_columns_are_ignored_with_a_warning(store: RegistryStore, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [GOOD[0] + ",black,,x"], header=HEADER + ",colour,notes,z")
    summary = store.import_file(path)
    assert summary.inserted == 1
    assert len(summary.warnings) == 1
    assert "colour" in summary.warnings[0]
    assert "z" in summary.warnings[0]
    assert "notes" not in summary.warnings[0]


def test_notes_column_is_kept(store: RegistryStore, tmp_path: Path) -> None:
    store.import_file(
        write(tmp_path / "r.csv", [GOOD[0] + ",case 2024/17"], header=HEADER + ",notes")
    )
    (rec,) = store.iter_records()
    assert rec.notes == "case 2024/17"


def test_reimporting_the_same_file_changes_nothing(store: RegistryStore, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", GOOD)
    store.import_file(path)
    mark = store.watermark()
    again = store.import_file(path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert store.watermark() == mark
    assert list(store.changes_since(mark)) == []


def test_reimport_with_one_changed_row_updates_only_that_row(
    store: RegistryStore, tmp_path: Path
) -> None:
    store.import_file(write(tmp_path / "r.csv", GOOD))
    mark = store.watermark()
    changed = [GOOD[0], GOOD[1].replace("Stolen", "found"), GOOD[2]]
    summary = store.import_file(write(tmp_path / "r2.csv", changed))
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 2)
    (change,) = store.changes_since(mark)
    assert change.record is not None
    assert change.record.category is Category.FOUND


def test_stale_rejects_file_is_removed_by_a_clean_run(store: RegistryStore, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [GOOD[0], "B5,Glock,m,c,XYZ125,borrowed,2020-01-01"])
    store.import_file(path)
    assert rejects_path_for(path).exists()
    store.import_file(write(path, GOOD))
    assert not rejects_path_for(path).exists()


def test_json_lines_import_with_rejects(store: RegistryStore, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = {"record_id": 7, "make": "Glock", "model": "17", "caliber": "9mm", "serial": "ABC123",
            "category": "lost", "recorded_at": "2020-01-01", "x": 1}  # fmt: skip
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({**good, "record_id": "8", "serial": 123}),
        json.dumps({**good, "record_id": "9", "category": "gone"}),
        "",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = store.import_file(path)
    assert (summary.format, summary.inserted, summary.rejected) == ("jsonl", 1, 4)
    got = [(r["line"], r["field"]) for r in read_rejects(path)]
    assert got == [("2", "-"), ("3", "-"), ("4", "serial"), ("5", "category")]
    assert summary.warnings
    assert "'x'" in summary.warnings[0]
    (rec,) = store.iter_records()
    assert rec.record_id == "7"


def test_bom_and_crlf_are_accepted(store: RegistryStore, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + "\r\n".join(GOOD) + "\r\n").encode())
    assert store.import_file(path).inserted == 3


def test_progress_is_reported(store: RegistryStore, tmp_path: Path) -> None:
    seen: list[int] = []
    store.import_file(write(tmp_path / "r.csv", GOOD), progress=seen.append)
    assert seen
    assert seen[-1] == 3


field_text = st.one_of(
    st.text(alphabet="AB01 -,\"'\nxé", max_size=8),
    st.sampled_from(["registered", "stolen", "2020-01-01", "Glock", "ABC123", "A1"]),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(field_text, min_size=5, max_size=8), max_size=12))
def test_every_row_is_either_stored_or_rejected(tmp_path: Path, table: list[list[str]]) -> None:
    """No row is ever silently dropped: stored + rejected = rows read."""
    path = tmp_path / "prop.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER.split(","))
        w.writerows(table)
    with RegistryStore(f"sqlite:///{tmp_path / 'prop.db'}") as store:
        summary = store.import_file(path)
        stored = summary.inserted + summary.updated + summary.unchanged
        assert stored + summary.rejected == summary.rows
        assert summary.rows == len(table)
        if summary.rejected:
            assert len(read_rejects(path)) == summary.rejected
    path.unlink()
    (tmp_path / "prop.db").unlink()
    for extra in tmp_path.glob("prop.*"):
        extra.unlink()


def test_replace_removes_records_the_file_no_longer_holds(
    store: RegistryStore, tmp_path: Path
) -> None:
    store.import_file(write(tmp_path / "r.csv", GOOD))
    mark = store.watermark()
    snapshot = [GOOD[0], GOOD[1].replace("Stolen", "found")]  # A3 gone, A2 changed
    summary = store.import_file(write(tmp_path / "r2.csv", snapshot), replace=True)
    assert (summary.updated, summary.unchanged, summary.removed) == (1, 1, 1)
    changes = {c.record_id: c.record for c in store.changes_since(mark)}
    assert set(changes) == {"A2", "A3"}
    assert changes["A3"] is None
    assert store.count() == 2
    again = store.import_file(tmp_path / "r2.csv", replace=True)
    assert (again.updated, again.removed) == (0, 0)


def test_replace_with_a_bad_row_removes_nothing(store: RegistryStore, tmp_path: Path) -> None:
    store.import_file(write(tmp_path / "r.csv", GOOD))
    mark = store.watermark()
    # A2's row is malformed: a replace must not read that as "A2 was removed".
    bad = write(tmp_path / "r2.csv", [GOOD[0], GOOD[1].replace("Stolen", "gone")])
    with pytest.raises(ImportRejectedError):
        store.import_file(bad, replace=True)
    assert store.watermark() == mark
    assert store.count() == 3


def test_replace_with_an_empty_file_is_refused(store: RegistryStore, tmp_path: Path) -> None:
    store.import_file(write(tmp_path / "r.csv", GOOD))
    with pytest.raises(InputError, match="every record"):
        store.import_file(write(tmp_path / "empty.csv", []), replace=True)
    assert store.count() == 3


@pytest.mark.parametrize("make", ["", "?", "---", "Unknown", "inconnu"])
def test_an_unknown_make_is_imported_with_a_warning(
    store: RegistryStore, tmp_path: Path, make: str
) -> None:
    path = write(tmp_path / "r.csv", [GOOD[0], f"U1,{make},m,c,XYZ7Q31,lost,2020-01-01"])
    summary = store.import_file(path)
    assert (summary.inserted, summary.rejected) == (2, 0)
    assert any(":3: record U1: make: unknown" in w for w in summary.warnings), summary.warnings
