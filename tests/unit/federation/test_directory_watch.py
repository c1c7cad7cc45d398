"""DirectoryWatcher: a new directory is picked up without restart; a bad one never is."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pki_fixtures import TestPKI

from federation.directory import load_directory, sign_directory, write_directory
from federation.directory_model import Directory
from federation.directory_watch import DirectoryWatcher
from fedlookup.errors import (
    DirectoryRollbackError,
    DirectorySignatureError,
    LogWriteError,
    UnlistedPeerError,
)


@pytest.fixture
def path(test_pki: TestPKI, tmp_path: Path) -> Path:
    target = tmp_path / "directory.json"
    shutil.copyfile(test_pki.directory_path, target)
    return target


def _v1(test_pki: TestPKI) -> Directory:
    return load_directory(test_pki.directory_path, test_pki.ca.cert_path)


def test_new_version_is_picked_up_and_reported(test_pki: TestPKI, path: Path) -> None:
    changes: list[tuple[int | None, int]] = []
    watcher = DirectoryWatcher(
        path,
        test_pki.ca.cert_path,
        on_change=lambda old, new: changes.append((old.version if old else None, new.version)),
    )
    assert watcher.member("NL").country == "NL"
    v1 = _v1(test_pki)
    v2 = replace(v1, version=2, members=tuple(m for m in v1.members if m.country != "NL"))
    write_directory(v2, test_pki.ca, path)
    with pytest.raises(UnlistedPeerError):
        watcher.member("NL")
    assert watcher.current.version == 2
    assert changes == [(1, 2)]
    assert watcher.poll() is False


@pytest.mark.parametrize("version", [1, 0])
def test_rollback_is_refused_and_the_old_directory_kept(
    test_pki: TestPKI, path: Path, version: int, caplog: pytest.LogCaptureFixture
) -> None:
    v1 = _v1(test_pki)
    write_directory(replace(v1, version=3), test_pki.ca, path)
    watcher = DirectoryWatcher(path, test_pki.ca.cert_path)
    assert watcher.current.version == 3
    if version == 0:
        shutil.copyfile(test_pki.directory_path, path)  # the genuine, older v1 file
    else:
        # Same version as held, different content: equivocation, refused like a rollback.
        write_directory(replace(v1, version=3, federation="forked"), test_pki.ca, path)
    assert watcher.poll() is False
    assert watcher.current.version == 3
    assert watcher.current.federation == v1.federation
    assert watcher.last_error is not None
    assert "not newer than the version held (3)" in watcher.last_error
    assert "federation directory refused" in caplog.text


def test_bad_signature_is_refused_and_the_old_directory_kept(test_pki: TestPKI, path: Path) -> None:
    watcher = DirectoryWatcher(path, test_pki.ca.cert_path)
    forged = replace(_v1(test_pki), version=9)
    path.write_bytes(sign_directory(forged, test_pki.other_ca))
    assert watcher.current.version == 1
    assert watcher.last_error is not None
    assert "signature does not verify" in watcher.last_error
    # A later good file is still accepted.
    write_directory(replace(forged, version=2), test_pki.ca, path)
    assert watcher.current.version == 2
    assert watcher.last_error is None


def test_missing_or_garbled_file_keeps_the_old_directory(test_pki: TestPKI, path: Path) -> None:
    watcher = DirectoryWatcher(path, test_pki.ca.cert_path)
    path.unlink()
    assert watcher.current.version == 1
    path.write_bytes(b'{"directory": ')
    assert watcher.current.version == 1
    assert watcher.last_error is not None


def test_touching_the_same_file_is_not_a_change(test_pki: TestPKI, path: Path) -> None:
    calls: list[int] = []
    watcher = DirectoryWatcher(path, test_pki.ca.cert_path, on_change=lambda o, n: calls.append(1))
    path.write_bytes(path.read_bytes())
    assert watcher.poll() is False
    assert watcher.last_error is None
    assert calls == []


def test_start_up_fails_closed(test_pki: TestPKI, path: Path, tmp_path: Path) -> None:
    with pytest.raises(DirectorySignatureError):
        DirectoryWatcher(path, test_pki.other_ca.cert_path)
    with pytest.raises(DirectoryRollbackError):
        DirectoryWatcher(path, test_pki.ca.cert_path, min_version=2)


def test_failing_on_change_defers_adoption(test_pki: TestPKI, path: Path) -> None:
    fail = [True]

    def record(old: Directory | None, new: Directory) -> None:
        if fail[0]:
            raise LogWriteError("audit log not durable")

    watcher = DirectoryWatcher(path, test_pki.ca.cert_path, on_change=record)
    write_directory(replace(_v1(test_pki), version=2), test_pki.ca, path)
    with pytest.raises(LogWriteError):
        watcher.poll()
    fail[0] = False
    assert watcher.current.version == 2


def test_check_peer_uses_the_current_directory(test_pki: TestPKI, path: Path) -> None:
    watcher = DirectoryWatcher(path, test_pki.ca.cert_path)
    identity = test_pki.verifier().verify(test_pki.pem("FR"))
    assert watcher.check_peer(identity).endpoint == "127.0.0.1:50052"


def test_rewrite_within_one_clock_tick_is_seen(test_pki: TestPKI, path: Path) -> None:
    import os

    watcher = DirectoryWatcher(path, test_pki.ca.cert_path)
    before = os.stat(path)
    v1 = _v1(test_pki)
    data = b""
    for n in range(2, 200):  # find a v2 whose file has exactly the old size
        data = sign_directory(replace(v1, version=n), test_pki.ca)
        if len(data) == before.st_size:
            break
    assert len(data) == before.st_size
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert watcher.poll() is True
    assert watcher.current.version > 1
