"""The registry on PostgreSQL: the embedded store, and an operator's own schema read in place.

Also the ``fedlookup registry import`` process itself: exit code 2 and nothing written when
``--strict`` refuses a file.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from fedlookup.errors import ImportRejectedError
from registry_adapter import (
    Category,
    ColumnMapping,
    MappedRegistry,
    RegistryStore,
    compute_stats,
    generate_registry,
    record_identifiers,
)


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pg") / "at.csv"
    generate_registry(path, country="AT", records=3000, seed=5)
    return path


@pytest.mark.postgres
def test_store_on_postgres_imports_idempotently_and_strictly(
    postgres_schema: str, registry_file: Path, tmp_path: Path
) -> None:
    with RegistryStore(postgres_schema) as store:
        first = store.import_file(registry_file)
        assert (first.inserted, first.rejected) == (3000, 0)
        mark = store.watermark()
        again = store.import_file(registry_file)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3000)
        assert store.watermark() == mark

        bad = tmp_path / "bad.csv"
        lines = registry_file.read_text().splitlines()[:6]
        lines[1] = lines[1].replace(",registered,", ",stolen,")  # a real update...
        lines[4] = lines[4].rsplit(",", 1)[0] + ",yesterday"  # ...and a bad date
        bad.write_text("\n".join(lines) + "\n")
        with pytest.raises(ImportRejectedError) as err:
            store.import_file(bad, strict=True)
        assert (err.value.line, err.value.field) == (5, "recorded_at")
        assert store.watermark() == mark  # the update was not written either
        assert store.count() == 3000
        st = store.stats()
    assert st.records == 3000
    assert st.removed == 0


@pytest.mark.postgres
def test_mapped_registry_reads_a_foreign_schema_in_place(postgres_schema: str) -> None:
    engine = sa.create_engine(postgres_schema)
    with engine.begin() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        conn.execute(
            sa.text(
                'CREATE TABLE "Waffenregister" ('
                ' "WaffenNr" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,'
                ' "Hersteller" varchar(60), "Typ" varchar(60), "Seriennummer" varchar(40),'
                ' "Status" char(1) NOT NULL, "Erfasst" date, "Bemerkung" text,'
                ' "Besitzer" varchar(80))'
            )
        )
        conn.execute(
            sa.text(
                'INSERT INTO "Waffenregister" ("Hersteller", "Typ", "Seriennummer", "Status",'
                ' "Erfasst", "Bemerkung", "Besitzer") VALUES'
                " ('GLOCK Ges.m.b.H.', '17', 'abc 123', 'R', '2019-03-01', NULL, 'A. B.'),"
                " ('Walther', 'PPK', 'FAC-1234', 'S', '2021-07-15', 'Einbruch', 'C. D.'),"
                " ('Steyr', 'AUG', NULL, 'L', '2020-01-01', NULL, 'E. F.'),"
                " ('H&K', 'USP', '24-O12345', 'V', NULL, NULL, 'G. H.')"
            )
        )
    mapping = ColumnMapping.from_dict(
        {
            "table": f"{schema}.Waffenregister",
            "record_id": "WaffenNr",
            "make": "Hersteller",
            "model": "Typ",
            "serial": "Seriennummer",
            "category": "Status",
            "recorded_at": "Erfasst",
            "notes": "Bemerkung",
            "category_values": {"R": "registered", "S": "stolen", "L": "lost", "V": "seized"},
        },
        source="node.toml",
    )
    with MappedRegistry(postgres_schema, mapping) as src:
        recs = list(src.iter_records())
        assert [r.record_id for r in recs] == ["1", "2", "4"]  # row 3 has no serial
        assert src.skipped == 1
        glock, walther, hk = recs
        assert glock.recorded_at.date() == date(2019, 3, 1)
        assert walther.category is Category.STOLEN
        assert walther.notes == "Einbruch"
        assert hk.category is Category.SEIZED
        assert record_identifiers(glock.make, glock.serial) == record_identifiers("Glock", "ABC123")
        assert record_identifiers(hk.make, hk.serial).make_serial == (
            b"v1|MS|HECKLERANDKOCH|24012345"
        )

        mark = src.watermark()
        with engine.begin() as conn:
            conn.execute(
                sa.text('UPDATE "Waffenregister" SET "Status" = \'S\' WHERE "WaffenNr" = 1')
            )
            conn.execute(sa.text('DELETE FROM "Waffenregister" WHERE "WaffenNr" = 2'))
        changes = {c.record_id: c.record for c in src.changes_since(mark)}
        assert set(changes) == {"1", "2"}
        assert changes["1"] is not None
        assert changes["1"].category is Category.STOLEN
        assert changes["2"] is None
        st = compute_stats(src)
        assert st.by_category["stolen"] == 1
        assert st.records == 2

        # Sessions are read-only: the adapter cannot change the operator's registry.
        with pytest.raises(sa.exc.DBAPIError), src._engine.connect() as conn:
            conn.execute(sa.text('DELETE FROM "Waffenregister"'))
    engine.dispose()


@pytest.mark.integration
def test_strict_import_process_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    exe = shutil.which("fedlookup", path=str(Path(sys.executable).parent))
    assert exe is not None
    good = tmp_path / "good.csv"
    generate_registry(good, country="SE", records=20, seed=1)
    db = tmp_path / "r.db"
    with RegistryStore(str(db)) as store:
        assert store.import_file(good).inserted == 20
    with good.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][5] = "found"  # would be an update
    rows[3][4] = "?"  # unusable serial
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    res = subprocess.run([exe, "registry", "import", str(bad), "--db", str(db), "--strict"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2
    assert f"{bad}:4:serial:" in "".join(res.stderr.split())  # rich may wrap the line
    cats = sqlite3.connect(db).execute(
        "SELECT category FROM registry_records WHERE record_id = ?", (rows[1][0],)
    )
    assert cats.fetchone()[0] != "found"
