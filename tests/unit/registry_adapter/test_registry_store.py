"""Embedded store specifics: migrations, tombstone purge, upsert errors, stats, URLs."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from registry_harness import record

from fedlookup.errors import ConfigError, InputError, RegistryError, WatermarkError
from registry_adapter import Category, RegistryStore, open_registry
from registry_adapter import migrate as migrations


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RegistryStore]:
    s = RegistryStore(str(tmp_path / "registry.db"))
    yield s
    s.close()


def test_migrate_creates_the_schema_from_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with RegistryStore(url) as store:
        assert store.migrate() == migrations.head_revision()
        assert store.migrate() == migrations.head_revision()  # idempotent
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"registry_records", "registry_state", migrations.VERSION_TABLE} <= tables


def test_reading_an_unmigrated_database_says_what_to_do(store: RegistryStore) -> None:
    with pytest.raises(RegistryError, match="registry migrate"):
        store.count()


def test_schema_from_another_version_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with RegistryStore(str(path)) as store:
        store.migrate()
    db = sqlite3.connect(path)
    db.execute(f"UPDATE {migrations.VERSION_TABLE} SET version_num = 'ffff'")
    db.commit()
    db.close()
    with RegistryStore(str(path)) as store, pytest.raises(RegistryError, match="ffff"):
        store.count()


def test_upgrade_of_a_current_database_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with RegistryStore(url) as store:
        store.upsert([record(1, "AAA111")])
        mark = store.watermark()
    engine = sa.create_engine(url)
    migrations.upgrade(engine)  # already at head: a no-op that must not touch data
    engine.dispose()
    with RegistryStore(url) as store:
        assert [r.record_id for r in store.iter_records()] == ["1"]
        assert store.watermark() == mark


def test_upsert_refuses_unusable_records_and_duplicates(store: RegistryStore) -> None:
    with pytest.raises(InputError) as err:
        store.upsert([record(1, "AAA111"), record(2, "N/A")])
    assert (err.value.line, err.value.field) == (2, "serial")
    with pytest.raises(InputError, match="duplicate"):
        store.upsert([record(1, "AAA111"), record(1, "AAA112")])
    assert store.count() == 0


def test_delete_ignores_unknown_and_already_removed(store: RegistryStore) -> None:
    store.upsert([record(1, "AAA111"), record(2, "AAA222")])
    assert store.delete(["1", "nope"]) == 1
    assert store.delete(["1"]) == 0
    assert store.count() == 1
    assert store.removed_count() == 1


def test_purge_tombstones_moves_the_horizon(store: RegistryStore) -> None:
    store.upsert([record(1, "AAA111"), record(2, "AAA222")])
    old = store.watermark()
    store.delete(["1"])
    now = store.watermark()
    assert store.purge_tombstones(now) == 1
    assert store.removed_count() == 0
    with pytest.raises(WatermarkError, match="older"):
        list(store.changes_since(old))
    assert list(store.changes_since(now)) == []


def test_tombstones_hold_no_record_content(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with RegistryStore(str(path)) as store:
        store.upsert([record(1, "SECRET123", notes="private")])
        store.delete(["1"])
    row = sqlite3.connect(path).execute("SELECT * FROM registry_records").fetchone()
    assert "SECRET123" not in repr(row)
    assert "private" not in repr(row)


def test_stats_counts_categories_and_collisions(store: RegistryStore) -> None:
    store.upsert(
        [
            record(1, "ABC123"),
            record(2, "abc-123", Category.FOUND, make="GLOCK GmbH"),  # same firearm again
            record(3, "ABC123", Category.STOLEN, make="Beretta"),  # same serial, other make
            record(4, "XYZ789", Category.STOLEN),
        ]
    )
    store.delete(["4"])
    st = store.stats()
    assert st.records == 3
    assert st.by_category["registered"] == 1
    assert st.by_category["found"] == 1
    assert st.by_category["stolen"] == 1
    assert st.by_category["exported"] == 0
    assert (st.make_serial_collisions, st.records_in_make_serial_collisions) == (1, 2)
    assert st.serial_only_collisions == 1
    assert st.removed == 1
    assert st.last_change_at is not None
    assert st.watermark == store.watermark()


def test_bare_path_means_sqlite_and_bad_urls_are_config_errors(tmp_path: Path) -> None:
    with open_registry(str(tmp_path / "plain.db")) as src:
        assert isinstance(src, RegistryStore)
    with pytest.raises(ConfigError, match=r"registry\.url"):
        RegistryStore("nosuchdriver://x/y")
    with pytest.raises(ConfigError, match=r"registry\.url"):
        RegistryStore("mysql+pymysql://u@127.0.0.1/x")


def test_unreachable_database_is_registry_unavailable(tmp_path: Path) -> None:
    from fedlookup.errors import RegistryUnavailableError

    with (
        RegistryStore(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}") as store,
        pytest.raises(RegistryUnavailableError),
    ):
        store.migrate()


def test_concurrent_imports_serialise_and_keep_every_change(tmp_path: Path) -> None:
    import threading

    url = f"sqlite:///{tmp_path / 'r.db'}"
    header = "record_id,make,model,caliber,serial,category,recorded_at\n"
    files = []
    for n in range(3):
        path = tmp_path / f"part{n}.csv"
        rows = [f"P{n}-{i},Glock,17,9mm,S{n}X{i:05d},registered,2020-01-01" for i in range(3000)]
        path.write_text(header + "\n".join(rows) + "\n")
        files.append(path)
    with RegistryStore(url) as store:
        store.migrate()
        start = store.watermark()
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        try:
            with RegistryStore(url) as s:
                s.import_file(path)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with RegistryStore(url) as store:
        assert store.count() == 9000
        feed = list(store.changes_since(start))
    assert len({c.record_id for c in feed}) == 9000
    # Each import's rows are contiguous in the feed: writers did not interleave.
    prefixes = [c.record_id.split("-")[0] for c in feed]
    assert sum(1 for a, b in itertools.pairwise(prefixes) if a != b) == 2
