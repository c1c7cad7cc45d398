"""A damaged index store is an IndexIntegrityError naming the remedy, and a full build
with ``set_aside_damaged`` moves it aside and starts over; peers then sync in full."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from psi_helpers import expected, firearm, make_index, query, synced

from federation.index import IndexMirror, NodeIndex
from federation.index_store import IndexStore
from federation.keys import EpochKey
from fedlookup.errors import IndexIntegrityError

RECORDS = [firearm(f"r{i}", "GLOCK", f"S{i:04d}") for i in range(40)]
REMEDY = r"index store .*index\.sqlite3 is damaged .*fedlookup node index --full"


def _built(tmp_path: Path) -> tuple[Path, EpochKey, bytes]:
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in RECORDS)
    blob = index.export(since_version=None)
    index.close()
    return tmp_path / "index", key, blob


def _open_and_export(directory: Path, key: EpochKey) -> bytes:
    index = NodeIndex(directory, key=key, country="DE")
    try:
        return index.export(since_version=None)
    finally:
        index.close()


def _damage_page(db: Path) -> None:
    data = bytearray(db.read_bytes())
    assert len(data) > 3 * 4096
    data[4096 : 2 * 4096] = b"\xff" * 4096
    db.write_bytes(bytes(data))


def _checkpoint(directory: Path) -> Path:
    db = directory / "index.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def test_garbage_page_is_an_integrity_error_with_the_remedy(tmp_path: Path) -> None:
    directory, key, _ = _built(tmp_path)
    _damage_page(_checkpoint(directory))
    with pytest.raises(IndexIntegrityError, match=REMEDY) as caught:
        _open_and_export(directory, key)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    directory, key, _ = _built(tmp_path)
    db = _checkpoint(directory)
    db.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(IndexIntegrityError, match=REMEDY):
        NodeIndex(directory, key=key, country="DE")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM meta WHERE key = 'version'", "'version' missing"),
        ("UPDATE meta SET value = 'x1' WHERE key = 'size'", "'size' is not a count"),
        ("UPDATE meta SET value = X'FF' WHERE key = 'epoch_id'", "'epoch_id' is not text"),
        ("DELETE FROM meta", "meta table empty but entries present"),
        ("UPDATE entries SET sealed = X'0011' WHERE tag = (SELECT MIN(tag) FROM entries)",
         "label bytes"),
        ("UPDATE entries SET sealed = 'text' WHERE tag = (SELECT MIN(tag) FROM entries)",
         "expected a bytes-like object"),
    ],
)  # fmt: skip
def test_damaged_rows(tmp_path: Path, sql: str, reason: str) -> None:
    directory, key, _ = _built(tmp_path)
    with sqlite3.connect(directory / "index.sqlite3", isolation_level=None) as conn:
        conn.execute(sql)
    conn.close()
    with pytest.raises(IndexIntegrityError, match=reason):
        _open_and_export(directory, key)


def test_full_build_sets_a_damaged_store_aside_and_starts_over(tmp_path: Path) -> None:
    directory, key, blob = _built(tmp_path)
    mirror = IndexMirror()
    mirror.apply(blob)  # a peer's mirror of the store before the damage
    _damage_page(_checkpoint(directory))
    index = NodeIndex(directory, key=key, country="DE", set_aside_damaged=True)
    try:
        assert index.set_aside is not None
        assert index.set_aside.name.startswith("index.sqlite3.damaged-")
        assert index.set_aside.exists()
        assert (directory / "index.sqlite3").stat().st_mode & 0o777 == 0o600
        assert index.size == 0
        version = index.update((r.input() for r in RECORDS), complete=True)
        # Above anything a peer may hold, and a delta from the peer's version is a full copy.
        assert version > mirror.version
        delta = index.export(since_version=mirror.version, epoch_id=mirror.epoch_id)
        mirror.apply(delta)
        assert query(key, mirror, [b"v1|S|S0001"]) == expected(RECORDS, [b"v1|S|S0001"])
        assert synced(index).size == len(RECORDS) * 2
    finally:
        index.close()
    assert _open_and_export(directory, key)  # the new store opens plainly


def test_full_build_keeps_a_sound_store(tmp_path: Path) -> None:
    directory, key, blob = _built(tmp_path)
    index = NodeIndex(directory, key=key, country="DE", set_aside_damaged=True)
    try:
        assert index.set_aside is None
        assert index.export(since_version=None) == blob
    finally:
        index.close()
    assert not list(directory.glob("*.damaged-*"))


def test_store_check_passes_on_a_sound_store(tmp_path: Path) -> None:
    directory, _, _ = _built(tmp_path)
    store = IndexStore(directory / "index.sqlite3")
    try:
        store.check()
    finally:
        store.close()


def test_a_serving_reader_moves_to_the_rebuilt_store(tmp_path: Path) -> None:
    directory, key, _ = _built(tmp_path)
    serving = NodeIndex(directory, key=key, country="DE")  # a node's open index
    try:
        old_version = serving.version
        _damage_page(_checkpoint(directory))
        builder = NodeIndex(directory, key=key, country="DE", set_aside_damaged=True)
        try:
            assert builder.set_aside is not None
            # Until the rebuild commits the reader sees version 0 (not ready), never an
            # empty index under a version.
            assert serving.version == 0
            version = builder.update((r.input() for r in RECORDS), complete=True)
        finally:
            builder.close()
        assert serving.version == version > old_version
        assert synced(serving).size == len(RECORDS) * 2
    finally:
        serving.close()
