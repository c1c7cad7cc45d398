"""fedlookup.files.write_atomic: whole files, exact modes, no stray temporaries."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fedlookup.files import PRIVATE_MODE, write_atomic


def test_writes_whole_file_with_exact_mode_despite_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "sub" / "pub.pem", b"public", mode=0o644)
    finally:
        os.umask(old)
    target = tmp_path / "sub" / "pub.pem"
    assert target.read_bytes() == b"public"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_private_mode_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "key"
    write_atomic(target, b"one", mode=PRIVATE_MODE)
    write_atomic(target, b"two", mode=PRIVATE_MODE)
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_exclusive_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "key"
    write_atomic(target, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_failed_write_leaves_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "doc"
    write_atomic(target, b"old")

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc"]
