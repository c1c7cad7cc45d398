"""The encrypted index gives exactly a plain set intersection, through updates and deltas."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from psi_helpers import expected, firearm, make_index, query, random_registry, synced

from federation import index_build
from federation.index import IndexInput, IndexMirror, NodeIndex
from fedlookup.errors import EpochMismatchError, IndexVersionError, InputError


def _probe_items(records: list, rng: random.Random, extra: int = 20) -> list[bytes]:
    items = sorted({i for r in records for i in r.items})
    picked = rng.sample(items, min(len(items), 40)) if items else []
    return picked + [f"v1|S|MISS{i}".encode() for i in range(extra)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_registry_matches_set_intersection(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    records = random_registry(rng, 150, serials=40)  # many shared serials and make+serials
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    items = _probe_items(records, rng)
    assert query(key, synced(index), items) == expected(records, items)


def test_adversarial_shapes(tmp_path: Path) -> None:
    records = [
        firearm("a", "GLOCK", "111"),
        firearm("b", "GLOCK", "111", "lost"),  # identical make+serial
        firearm("c", "SIG", "111", "seized"),  # same serial, other make
        firearm("d", "SIG", "222"),
    ]
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    mirror = synced(index)
    all_items = [i for r in records for i in r.items]
    assert query(key, mirror, all_items) == expected(records, all_items)  # all hit
    none = [b"v1|S|999", b"v1|MS|GLOCK|222"]  # make against serial-only: no make+serial hit
    assert query(key, mirror, none) == [[], []]
    assert query(key, mirror, [b"v1|S|111"] * 3) == expected(records, [b"v1|S|111"] * 3)


def test_empty_index_and_empty_query(tmp_path: Path) -> None:
    index, key, _ = make_index(tmp_path)
    assert index.update([]) == 0
    mirror = synced(index)
    assert mirror.size == 0
    assert query(key, mirror, [b"v1|S|1"]) == [[]]
    assert query(key, mirror, []) == []


@pytest.mark.parametrize("seed", [4, 5])
def test_incremental_updates_and_deltas_track_the_registry(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    records = {r.record_id: r for r in random_registry(rng, 80, serials=15)}
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records.values())
    mirror = synced(index)
    for round_ in range(4):
        changes: list[IndexInput] = []
        for rid in rng.sample(sorted(records), 12):
            if rng.random() < 0.5:
                del records[rid]
                changes.append(IndexInput(rid, None))
            else:
                new = firearm(rid, "GLOCK", f"S{rng.randrange(15)}", rng.choice(["lost", "found"]))
                records[rid] = new
                changes.append(new.input())
        new = firearm(f"n{round_}", "SIG", "S3")
        records[new.record_id] = new
        changes.append(new.input())
        before = mirror.version
        index.update(changes)
        mirror.apply(index.export(since_version=before, epoch_id=mirror.epoch_id))
        assert mirror.version == index.version
        assert mirror.size == index.size
        items = _probe_items(list(records.values()), rng, extra=3)
        assert query(key, mirror, items) == expected(list(records.values()), items)
    full = synced(index)
    assert full.size == mirror.size


def test_unchanged_records_cost_no_crypto(tmp_path: Path) -> None:
    records = [firearm(f"r{i}", "GLOCK", f"{i}00") for i in range(30)]
    index, _, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    version = index.version
    index.update(r.input() for r in records)
    assert index.version == version  # nothing changed, no new version
    relabelled = firearm("r3", "GLOCK", "300", "found")
    index.update([relabelled.input()])
    assert index.last_update is not None
    assert index.last_update.evaluated == 0
    assert index.last_update.resealed == 2


def test_category_filter_and_cardinality_export(tmp_path: Path) -> None:
    records = [firearm("a", "GLOCK", "111", "stolen"), firearm("b", "SIG", "222", "registered")]
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None, categories=frozenset({"stolen"})))
    items = [b"v1|S|111", b"v1|S|222"]
    assert query(key, mirror, items) == [[records[0].label()], []]
    before = mirror.version
    index.update([firearm("a", "GLOCK", "111", "registered").input()])  # leaves the filter
    mirror.apply(index.export(since_version=before, categories=frozenset({"stolen"})))
    assert mirror.size == 0
    tags_only = IndexMirror()
    tags_only.apply(index.export(since_version=None, labels=False))
    assert not tags_only.has_labels
    assert tags_only.size == 4


def test_rotation_retags_everything(tmp_path: Path) -> None:
    records = [firearm(f"r{i}", "GLOCK", f"{i}00") for i in range(10)]
    index, old_key, store = make_index(tmp_path)
    index.update(r.input() for r in records)
    old_mirror = synced(index)
    new_key = store.rotate()
    rotated = NodeIndex(tmp_path / "index", key=new_key, country="DE")
    assert rotated.stale
    with pytest.raises(EpochMismatchError):
        rotated.update([records[0].input()])
    rotated.update((r.input() for r in records), complete=True)
    assert rotated.epoch_id == new_key.epoch_id
    assert not rotated.stale
    # A delta for the old mirror is refused; the export falls back to a full snapshot.
    blob = rotated.export(since_version=old_mirror.version, epoch_id=old_mirror.epoch_id)
    old_mirror.apply(blob)
    assert old_mirror.epoch_id == new_key.epoch_id
    items = [records[0].items[0], b"v1|S|nope"]
    assert query(new_key, old_mirror, items) == expected(records, items)
    # The old key's evaluations find nothing in the new index.
    assert query(old_key, old_mirror, items) == [[], []]


def test_complete_update_removes_missing_records(tmp_path: Path) -> None:
    records = [firearm(f"r{i}", "GLOCK", f"{i}00") for i in range(6)]
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    index.update((r.input() for r in records[:3]), complete=True)
    items = [r.items[0] for r in records]
    assert query(key, synced(index), items) == expected(records[:3], items)


def test_failed_update_leaves_previous_version(tmp_path: Path) -> None:
    records = [firearm(f"r{i}", "GLOCK", f"{i}00") for i in range(5)]
    index, _, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    blob = index.export(since_version=None)

    def changes():  # fails half-way through the feed
        yield IndexInput("r1", None)
        yield firearm("x", "SIG", "999").input()
        raise RuntimeError("registry went away")

    with pytest.raises(RuntimeError):
        index.update(changes())
    assert index.version == 1
    assert index.export(since_version=None) == blob
    with pytest.raises(InputError, match="no label"):
        index.update([IndexInput("y", (b"v1|S|1",))])
    assert index.export(since_version=None) == blob


def test_future_version_is_refused(tmp_path: Path) -> None:
    index, _, _ = make_index(tmp_path)
    with pytest.raises(IndexVersionError):
        index.export(since_version=5)


def test_reference_resolves_locally(tmp_path: Path) -> None:
    rec = firearm("rec-42", "GLOCK", "4242")
    index, key, _ = make_index(tmp_path)
    index.update([rec.input()])
    (labels,) = query(key, synced(index), [rec.items[0]])
    assert index.resolve_reference(labels[0].reference) == "rec-42"
    with pytest.raises(InputError, match="belongs to FR"):
        index.resolve_reference("FR-0000-0000-0000-0000")
    with pytest.raises(InputError, match="unknown"):
        index.resolve_reference("DE-0000-0000-0000-0000")


def test_parallel_build_equals_in_process_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = random_registry(random.Random(9), 300, serials=500)
    serial, key, _ = make_index(tmp_path / "a")
    serial.update((r.input() for r in records), workers=1)
    monkeypatch.setattr(index_build, "IN_PROCESS_LIMIT", 10)
    monkeypatch.setattr(index_build, "CHUNK", 128)
    seen: list[tuple[int, int]] = []
    parallel = NodeIndex(tmp_path / "b", key=key, country="DE")
    parallel.update(
        (r.input() for r in records), workers=2, progress=lambda d, t: seen.append((d, t))
    )
    assert parallel.export(since_version=None) == serial.export(since_version=None)
    assert seen[-1] == (600, 600)
    assert len(seen) == 5


def test_readers_see_the_previous_version_during_an_update(tmp_path: Path) -> None:
    """A serving process opens and exports the index while an indexer holds its write lock."""
    records = [firearm(f"r{i}", "GLOCK", f"{i}00") for i in range(5)]
    index, key, _ = make_index(tmp_path)
    index.update(r.input() for r in records)
    blob = index.export(since_version=None)
    inside, release = threading.Event(), threading.Event()

    def hold(done: int, total: int) -> None:  # called inside the write transaction
        inside.set()
        release.wait(10)

    new = firearm("x", "SIG", "999").input()
    writer = threading.Thread(target=lambda: index.update([new], progress=hold))
    writer.start()
    assert inside.wait(10)
    reader = NodeIndex(tmp_path / "index", key=key, country="DE")
    assert reader.version == 1
    assert reader.export(since_version=None) == blob
    release.set()
    writer.join(10)
    assert reader.version == 2
