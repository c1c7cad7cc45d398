"""Epoch keys and the reference key on disk."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from federation.keys import EpochKeyStore, load_or_create_reference_key
from fedlookup.errors import KeyFileError


def test_first_use_creates_a_0600_key(tmp_path: Path) -> None:
    store = EpochKeyStore(tmp_path / "keys")
    key = store.current()
    path = tmp_path / "keys" / f"epoch-{key.epoch_id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.current() == key
    assert len(key.secret) == 32


def test_rotation_makes_a_new_current_epoch(tmp_path: Path) -> None:
    store = EpochKeyStore(tmp_path)
    old = store.current()
    new = store.rotate()
    assert new.epoch_id != old.epoch_id
    assert new.secret != old.secret
    assert store.current() == new
    assert store.load(old.epoch_id) == old
    assert store.epochs() == sorted([old.epoch_id, new.epoch_id])
    assert store.prune(set()) == [old.epoch_id]
    assert store.epochs() == [new.epoch_id]


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = EpochKeyStore(tmp_path)
    key = store.current()
    (tmp_path / f"epoch-{key.epoch_id}.json").chmod(0o644)
    with pytest.raises(KeyFileError, match="0600"):
        store.current()


def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    store = EpochKeyStore(tmp_path)
    key = store.current()
    path = tmp_path / f"epoch-{key.epoch_id}.json"
    doc = json.loads(path.read_text())
    doc["secret"] = "00" * 16
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="32 bytes"):
        store.current()


def test_reference_key_is_stable_and_private(tmp_path: Path) -> None:
    first = load_or_create_reference_key(tmp_path)
    assert load_or_create_reference_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "reference.key").stat().st_mode) == 0o600
    (tmp_path / "reference.key").write_bytes(b"short")
    with pytest.raises(KeyFileError, match="32 bytes"):
        load_or_create_reference_key(tmp_path)
