"""An (epoch, version) pair never names two contents, and a rebuild always works.

The floor of published versions lives beside the index folder, so a store that is lost,
set aside or restored from an older backup publishes above every version a peer may hold,
and the peer's mirror takes a full snapshot instead of trusting a stale one.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from index_content import index_content
from psi_helpers import expected, firearm, make_index, query, random_registry

from federation import index_floor, index_update
from federation.index import IndexMirror, NodeIndex
from federation.index_floor import VersionFloor, floor_path
from fedlookup.errors import IndexIntegrityError, InputError, RegistryUnavailableError


def _sync(index: NodeIndex, mirror: IndexMirror) -> str:
    """Bring ``mirror`` up to ``index`` as the asker does; say which kind of sync it took."""
    blob = index.export(since_version=mirror.version or None, epoch_id=mirror.epoch_id)
    before = mirror.version
    mirror.apply(blob)
    return "none" if mirror.version == before else "delta" if blob[5] & 2 else "full"


def test_index_folder_set_aside_and_rebuilt_publishes_above_every_version(tmp_path: Path) -> None:
    records = random_registry(random.Random(1), 40, serials=10)
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records[:20])
    index.update(r.input() for r in records[20:30])
    mirror = IndexMirror()
    _sync(index, mirror)
    held = mirror.version
    index.close()
    shutil.move(tmp_path / "index", tmp_path / "index.old")  # what the operator did

    again = NodeIndex(tmp_path / "index", key=key, country="DE")
    again.update(r.input() for r in records)
    assert again.epoch_id == mirror.epoch_id
    assert again.version > held
    assert _sync(again, mirror) == "full"  # a delta from `held` would name other content
    items = [i for r in records for i in r.items]
    assert query(key, mirror, items) == expected(records, items)


def test_store_restored_from_an_older_backup_restarts_above_the_floor(tmp_path: Path) -> None:
    records = [firearm(f"r{i}", "GLOCK", f"{i}") for i in range(12)]
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records[:4])
    index.close()
    shutil.copytree(tmp_path / "index", tmp_path / "backup")
    index = NodeIndex(tmp_path / "index", key=key, country="DE")
    index.update(r.input() for r in records[4:8])
    mirror = IndexMirror()
    _sync(index, mirror)
    index.close()
    shutil.rmtree(tmp_path / "index")
    shutil.copytree(tmp_path / "backup", tmp_path / "index")  # the older version comes back

    restored = NodeIndex(tmp_path / "index", key=key, country="DE")
    restored.update(r.input() for r in [*records[:4], *records[8:]])
    assert restored.version > mirror.version
    assert _sync(restored, mirror) == "full"
    assert mirror.size == restored.size == 16


def test_the_floor_is_raised_with_every_version(tmp_path: Path) -> None:
    index, key, _ = make_index(tmp_path)
    floor = VersionFloor(floor_path(tmp_path / "index"))
    assert floor.path == tmp_path / "index-published.json"
    for i in range(3):
        index.update([firearm(f"r{i}", "SIG", f"{i}").input()])
        assert floor.get(key.epoch_id) == index.version
    assert floor.path.stat().st_mode & 0o777 == 0o600
    floor.raise_to(key.epoch_id, 1)  # never lowered
    assert floor.get(key.epoch_id) == index.version


@pytest.mark.parametrize(
    "text", ["{", '{"format": 2, "epochs": {}}', '{"format": 1, "epochs": {"e": -1}}']
)
def test_damaged_floor_names_the_file_and_a_remedy_that_works(tmp_path: Path, text: str) -> None:
    index, _, _ = make_index(tmp_path)
    index.update([firearm("r1", "SIG", "1").input()])
    floor_path(tmp_path / "index").write_text(text)
    with pytest.raises(IndexIntegrityError, match=r"index-published\.json.*delete it") as err:
        index.update([firearm("r2", "SIG", "2").input()])
    assert "node index --full" in str(err.value)
    floor_path(tmp_path / "index").unlink()  # the remedy, as the message says
    before = index.version
    index.rebuild([firearm("r1", "SIG", "1").input(), firearm("r2", "SIG", "2").input()])
    assert index.version > before
    assert index.size == 4


def test_rebuild_equals_a_fresh_build_and_serving_readers_follow(tmp_path: Path) -> None:
    rng = random.Random(7)
    records = random_registry(rng, 120, serials=25)
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records[:90])
    reader = NodeIndex(tmp_path / "index", key=key, country="DE")  # a serving node
    before = reader.version
    index.rebuild(r.input() for r in records)
    fresh = NodeIndex(tmp_path / "fresh", key=key, country="DE")
    fresh.update(r.input() for r in records)
    assert index_content(index) == index_content(fresh)
    assert reader.version == index.version > before  # moved to the new file by itself
    assert sorted(p.name for p in (tmp_path / "index").iterdir() if "sqlite3." in p.name) == []


def test_rebuild_succeeds_where_an_update_in_place_fails(tmp_path: Path, monkeypatch) -> None:
    """Whatever goes wrong in place, ``--full`` builds as a first build does."""
    index, _, _ = make_index(tmp_path)
    index.update(firearm(f"r{i}", "SIG", f"{i}").input() for i in range(10))
    monkeypatch.setattr(index_update, "_BATCH", 3)

    def broken(self: index_update.IndexUpdate, *args: object) -> None:
        raise IndexIntegrityError("simulated defect of the in-place path")

    monkeypatch.setattr(index_update.IndexUpdate, "_prefetch", broken)  # not used fresh
    with pytest.raises(IndexIntegrityError):
        index.update([firearm("r1", "SIG", "99").input()])
    index.rebuild(firearm(f"r{i}", "SIG", f"{i}").input() for i in range(20))
    assert index.size == 40


def test_rebuild_with_bad_input_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(index_update, "MAX_SLOTS", 4)
    index, _, _ = make_index(tmp_path)
    index.update(firearm(f"r{i}", "SIG", "1").input() for i in range(3))
    version, content = index.version, index_content(index)
    too_many = [firearm(f"x{i}", "SIG", "1").input() for i in range(index_update.MAX_SLOTS + 1)]
    with pytest.raises(InputError, match="shared by more than"):
        index.rebuild(too_many)
    assert (index.version, index_content(index)) == (version, content)
    assert [p.name for p in (tmp_path / "index").iterdir() if ".new" in p.name] == []


def test_store_of_the_earlier_layout_asks_for_full_and_full_works(tmp_path: Path) -> None:
    index, key, _ = make_index(tmp_path)
    records = [firearm(f"r{i}", "SIG", f"{i}") for i in range(5)]
    index.update(r.input() for r in records)
    with index.store.write() as db:  # what an index written before chains per category has
        db.execute("DELETE FROM meta WHERE key = 'layout'")
    index.close()
    with pytest.raises(IndexIntegrityError, match=r"earlier fedlookup.*node index --full"):
        NodeIndex(tmp_path / "index", key=key, country="DE")
    again = NodeIndex(tmp_path / "index", key=key, country="DE", set_aside_damaged=True)
    again.rebuild(r.input() for r in records)
    assert again.size == 10
    assert index_content(again)


def test_unwritable_floor_stops_the_update_before_it_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, _, _ = make_index(tmp_path)
    index.update([firearm("r1", "SIG", "1").input()])
    version = index.version

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_floor, "write_atomic", disk_full)
    with pytest.raises(RegistryUnavailableError, match=r"index-published\.json cannot be written"):
        index.update([firearm("r2", "SIG", "2").input()])
    assert index.version == version  # nothing published that the floor does not cover
