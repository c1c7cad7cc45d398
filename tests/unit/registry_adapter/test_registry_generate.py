"""Synthetic registries: deterministic, realistic, planted overlaps that really match."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from fedlookup.errors import InputError
from registry_adapter import RegistryStore, generate_registry, record_identifiers
from registry_adapter.generate import OVERLAP_HEADER, overlap_path_for
from registry_adapter.identifiers import canonical_make
from registry_adapter.makers import MAKERS


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("gen")
    fr = d / "fr.csv"
    generate_registry(fr, country="FR", records=4000, seed=1)
    de = d / "de.csv"
    generate_registry(de, country="DE", records=3000, seed=2, overlap_with=fr, overlap=60)
    return fr, de


def test_same_seed_same_file_other_seed_other_file(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    fr, _ = pair
    again = tmp_path / "again.csv"
    generate_registry(again, country="FR", records=4000, seed=1)
    assert digest(again) == digest(fr)
    generate_registry(again, country="FR", records=4000, seed=9)
    assert digest(again) != digest(fr)


def test_file_imports_cleanly_with_a_realistic_mix(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    fr, _ = pair
    with RegistryStore(str(tmp_path / "r.db")) as store:
        summary = store.import_file(fr, strict=True)
        assert summary.inserted == 4000
        st = store.stats()
    share = st.by_category["registered"] / st.records
    assert 0.8 < share < 0.92
    assert all(n > 0 for n in st.by_category.values())
    assert st.make_serial_collisions > 0  # re-registrations, as real registries hold


def test_messy_entry_is_present_but_canonicalises(pair: tuple[Path, Path]) -> None:
    fr, _ = pair
    data = rows(fr)
    makes = Counter(r["make"] for r in data)
    glock = [m for m in makes if canonical_make(m) == "GLOCK"]
    assert len(glock) >= 3  # the same make spelled several ways
    serials = [r["serial"] for r in data]
    assert any(s != s.upper() for s in serials)
    assert any(" " in s.strip() for s in serials)
    assert any("O" in s for s in serials)  # an O typed for a zero
    known = {canonical_make(m.spellings[0]) for m in MAKERS}
    assert {canonical_make(m) for m in makes} <= known


def test_overlap_sidecar_lists_plantings_that_match_their_source(pair: tuple[Path, Path]) -> None:
    fr, de = pair
    side = overlap_path_for(de)
    planted = rows(side)
    assert tuple(planted[0].keys()) == OVERLAP_HEADER
    assert len(planted) == 60
    kinds = Counter(p["kind"] for p in planted)
    assert kinds["make_serial"] == 54
    assert kinds["serial_only"] == 6
    source = {r["record_id"]: r for r in rows(fr)}
    target = {r["record_id"]: r for r in rows(de)}
    for p in planted:
        src, got = source[p["source_record_id"]], target[p["planted_record_id"]]
        assert (got["make"], got["serial"]) == (p["planted_make"], p["planted_serial"])
        assert got["category"] in {"stolen", "exported", "seized", "lost", "found"}
        a = record_identifiers(src["make"], src["serial"])
        b = record_identifiers(got["make"], got["serial"])
        assert a.serial_only == b.serial_only
        if p["kind"] == "make_serial":
            assert a.make_serial == b.make_serial
            assert (got["make"], got["serial"]) != (src["make"], src["serial"])  # respelled
        else:
            assert a.make_serial != b.make_serial


def test_jsonl_output(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    generate_registry(out, country="IT", records=50, seed=3)
    with RegistryStore(str(tmp_path / "r.db")) as store:
        assert store.import_file(out, strict=True).inserted == 50


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"country": "fra", "records": 10}, "country"),
        ({"country": "FR", "records": -1}, "records"),
        ({"country": "FR", "records": 10, "overlap": 11}, "overlap"),
        ({"country": "FR", "records": 10, "overlap": 5}, "overlap"),
    ],
)
def test_bad_arguments_name_the_field(tmp_path: Path, kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        generate_registry(tmp_path / "x.csv", **kwargs)
    assert err.value.field == field
    assert not (tmp_path / "x.csv").exists()


def test_overlap_larger_than_the_source_is_refused(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    small = tmp_path / "small.csv"
    generate_registry(small, country="BE", records=5, seed=1)
    with pytest.raises(InputError, match="fewer than"):
        generate_registry(
            tmp_path / "x.csv", country="NL", records=50, overlap_with=small, overlap=6
        )
