"""Serialized indexes: strict parsing, tamper and truncation, deltas that do not apply."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from psi_helpers import firearm, make_index, synced

from federation.index import IndexMirror, NodeIndex
from federation.index_format import decode
from fedlookup.errors import IndexIntegrityError, IndexVersionError

RECORDS = [firearm(f"r{i}", "GLOCK", f"{i}00") for i in range(20)]


@pytest.fixture
def index(tmp_path: Path) -> NodeIndex:
    index, _, _ = make_index(tmp_path)
    index.update(r.input() for r in RECORDS)
    return index


def test_full_snapshot_size_per_identifier(index: NodeIndex) -> None:
    blob = index.export(since_version=None)
    # 8-byte tag + 13-byte sealed label (4-byte generation, 9 encrypted bytes) per
    # identifier, plus header (9 + epoch id + 40) and the SHA-256 checksum.
    assert len(blob) == 40 * 21 + 9 + len(index.epoch_id) + 40 + 32
    tags_only = index.export(since_version=None, labels=False)
    assert len(tags_only) == len(blob) - 40 * 13


@pytest.mark.parametrize("cut", [1, 20, 33, 100])
def test_truncated_blob_is_rejected(index: NodeIndex, cut: int) -> None:
    blob = index.export(since_version=None)
    with pytest.raises(IndexIntegrityError):
        IndexMirror().apply(blob[:-cut])


@pytest.mark.parametrize("offset", [0, 5, 30, 60, 200, -40, -1])
def test_flipped_byte_is_rejected(index: NodeIndex, offset: int) -> None:
    blob = bytearray(index.export(since_version=None))
    blob[offset] ^= 0x01
    mirror = synced(index)
    with pytest.raises(IndexIntegrityError):
        mirror.apply(bytes(blob))
    assert mirror.size == 40  # the mirror is untouched


def test_resealed_but_unsorted_blob_is_rejected(index: NodeIndex) -> None:
    blob = index.export(since_version=None)
    parsed = decode(blob)
    body = bytearray(blob[:-32])
    start = len(body) - 40 * 17
    first, second = body[start : start + 8], body[start + 8 : start + 16]
    body[start : start + 16] = second + first
    forged = bytes(body) + hashlib.sha256(bytes(body)).digest()
    assert parsed.tags[0] < parsed.tags[1]
    with pytest.raises(IndexIntegrityError, match="sorted"):
        IndexMirror().apply(forged)


def test_delta_needs_matching_base_and_epoch(index: NodeIndex, tmp_path: Path) -> None:
    mirror = synced(index)
    index.update([firearm("new", "SIG", "777").input()])
    index.update([firearm("new2", "SIG", "778").input()])
    with pytest.raises(IndexVersionError, match="applies to version 2"):
        mirror.apply(index.export(since_version=2))
    other, _, _ = make_index(tmp_path / "other")
    other.update(r.input() for r in RECORDS)
    other.update([firearm("x", "SIG", "1").input()])
    with pytest.raises(IndexVersionError, match="epoch"):
        mirror.apply(other.export(since_version=1))
    mirror.apply(index.export(since_version=1))
    assert mirror.version == 3
    assert mirror.size == 44


def test_empty_mirror_refuses_delta(index: NodeIndex) -> None:
    index.update([firearm("new", "SIG", "777").input()])
    with pytest.raises(IndexVersionError):
        IndexMirror().apply(index.export(since_version=1))


def test_mirror_save_and_load_round_trip(index: NodeIndex, tmp_path: Path) -> None:
    mirror = synced(index)
    index.update([firearm("r1", "SIG", "555").input()])
    mirror.apply(index.export(since_version=1))
    path = tmp_path / "DE.mirror"
    mirror.save(path)
    loaded = IndexMirror.load(path)
    assert (loaded.epoch_id, loaded.version, loaded.size) == (
        mirror.epoch_id,
        mirror.version,
        mirror.size,
    )
    assert loaded.to_bytes() == synced(index).to_bytes()
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(IndexIntegrityError):
        IndexMirror.load(path)
