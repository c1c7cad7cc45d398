"""The append-only log: durability, reopening, checkpoints, receipts, cosigning."""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import fill, make_statement
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import (
    AuditLog,
    LogEntry,
    SignedNote,
    Verifier,
    open_checkpoint,
    sign,
    sign_checkpoint,
    verify_receipt,
)
from audit.checkpoint import Checkpoint
from fedlookup.errors import (
    AuditError,
    ConsistencyError,
    LogBusyError,
    LogWriteError,
    VerificationError,
)

OpenLog = Callable[..., AuditLog]


def test_append_returns_consecutive_indexes_and_survives_reopen(open_log: OpenLog) -> None:
    log = open_log("DE")
    st = make_statement()
    assert log.append(LogEntry.query_received(st, b"s" * 64)) == 0
    fill(log, 4)
    root = log.root()
    log.close()
    again = open_log("DE")
    assert again.size == 5
    assert again.root() == root
    assert LogEntry.parse(again.entry(0))["commitment"] == LogEntry.query_sent(st)["commitment"]


def test_a_second_process_cannot_open_the_same_log(open_log: OpenLog) -> None:
    open_log("DE")
    with pytest.raises(LogBusyError, match="another process"):
        open_log("DE")


def test_checkpoint_is_signed_once_per_size(open_log: OpenLog) -> None:
    log = open_log("DE")
    fill(log, 3)
    first = log.checkpoint()
    assert log.checkpoint() == first
    cp, _ = open_checkpoint(first, Verifier.parse(log.vkey))
    assert (cp.origin, cp.size, cp.root) == ("fedlookup.test/DE", 3, log.root())
    fill(log, 1)
    assert open_checkpoint(log.checkpoint(), Verifier.parse(log.vkey))[0].size == 4
    assert len(log.signed_checkpoints()) == 2


def test_receipt_verifies_on_the_asker_side(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]
) -> None:
    de = open_log("DE")
    fill(de, 5)
    st = make_statement()
    index = de.append(LogEntry.query_received(st, sign(st.canonical(), keys["FR"])))
    receipt = verify_receipt(de.receipt(index, st.request_id), keys["DE"].public_key(), de.vkey, st)
    assert (receipt.log_index, receipt.node) == (5, "DE")
    other = make_statement()
    same_id = dataclasses.replace(other, request_id=st.request_id)
    signed = de.receipt(index, st.request_id)
    with pytest.raises(VerificationError, match="different"):
        verify_receipt(signed, keys["DE"].public_key(), de.vkey, same_id)
    with pytest.raises(AuditError, match="not about"):
        de.receipt(index, other.request_id)


def test_cosigning_refuses_a_truncated_or_forked_history(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]
) -> None:
    de, fr = open_log("DE"), open_log("FR")
    fill(de, 10)
    line = fr.cosign(de.checkpoint(), de.vkey)
    de.add_cosignature(line, fr.cosigner_vkey)
    assert line in de.checkpoint().decode()
    fill(de, 5)
    fr.cosign(de.checkpoint(), de.vkey, de.consistency_proof(10))
    # A checkpoint of a shorter log, properly signed by DE's key, is refused.
    shorter = Checkpoint(de.origin, 12, de.root(12))
    note = sign_checkpoint(shorter, keys["DE"]).serialize()
    with pytest.raises(ConsistencyError):
        fr.cosign(note, de.vkey)
    # A fork: same size as a later tree but a different root.
    forked = sign_checkpoint(Checkpoint(de.origin, 20, bytes(32)), keys["DE"]).serialize()
    with pytest.raises(ConsistencyError):
        fr.cosign(forked, de.vkey, de.consistency_proof(15))


def test_cosignature_from_an_unknown_key_is_refused(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]
) -> None:
    de, fr, it = open_log("DE"), open_log("FR"), open_log("IT")
    fill(de, 2)
    line = fr.cosign(de.checkpoint(), de.vkey)
    with pytest.raises(VerificationError):
        de.add_cosignature(line, it.cosigner_vkey)


def test_witness_state_survives_restart(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]
) -> None:
    de, fr = open_log("DE"), open_log("FR")
    fill(de, 4)
    fr.cosign(de.checkpoint(), de.vkey)
    fr.close()
    fr = open_log("FR")
    short = SignedNote.parse(de.signed_checkpoints()[0])
    assert short.text.splitlines()[1] == "4"
    older = sign_checkpoint(Checkpoint(de.origin, 2, de.root(2)), keys["DE"]).serialize()
    with pytest.raises(ConsistencyError):
        fr.cosign(older, de.vkey)


def test_heartbeat_when_idle(open_log: OpenLog) -> None:
    log = open_log("DE", heartbeat_interval=0.0, checkpoint_interval=3600.0)
    assert log.maybe_heartbeat()
    assert LogEntry.parse(log.entry(0)).kind == "heartbeat"
    assert open_checkpoint(log.checkpoint(), Verifier.parse(log.vkey))[0].size == 1


def test_torn_tail_is_cut_on_reopen(open_log: OpenLog, tmp_path: Path) -> None:
    log = open_log("DE")
    fill(log, 3)
    log.checkpoint()
    log.close()
    with open(tmp_path / "DE" / "entries.rec", "ab") as fh:
        fh.write(b"\x00\x00\x01\x00\xde\xad")  # a header promising 256 bytes, then a crash
    again = open_log("DE")
    assert again.size == 3
    assert again.recovered_bytes == 6
    assert again.append(LogEntry.heartbeat()) == 3


def test_lost_entries_are_detected_against_the_signed_checkpoint(
    open_log: OpenLog, tmp_path: Path
) -> None:
    log = open_log("DE")
    fill(log, 3)
    log.checkpoint()
    log.close()
    path = tmp_path / "DE" / "entries.rec"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 1])  # the tail looks torn, but was signed
    with pytest.raises(ConsistencyError, match="lost or rewritten"):
        open_log("DE")


def test_write_failure_raises_and_leaves_the_log_usable(
    open_log: OpenLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log("DE")
    fill(log, 2)
    real_fsync = os.fsync

    def full_disk(fd: int) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(LogWriteError, match="No space"):
        log.append(LogEntry.heartbeat())
    assert log.size == 2
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert log.append(LogEntry.heartbeat()) == 2
    log.close()
    assert open_log("DE").size == 3


def test_short_write_raises(open_log: OpenLog, monkeypatch: pytest.MonkeyPatch) -> None:
    log = open_log("DE")
    real = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, off: real(fd, data[:5], off))
    with pytest.raises(LogWriteError):
        log.append(LogEntry.heartbeat())
    monkeypatch.setattr(os, "pwrite", real)
    log.close()
    assert open_log("DE").size == 0


def test_unusable_directory_refuses_to_open(tmp_path: Path, keys: Any) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(LogWriteError):
        AuditLog.open(tmp_path / "file" / "log", "x/DE", keys["DE"])


def test_concurrent_appends_from_threads(open_log: OpenLog) -> None:
    log = open_log("DE")

    def worker() -> list[int]:
        return [log.append(LogEntry.heartbeat()) for _ in range(40)]

    with ThreadPoolExecutor(4) as pool:
        indexes = [i for batch in pool.map(lambda _: worker(), range(4)) for i in batch]
    assert sorted(indexes) == list(range(160))
    root = log.root()
    log.close()
    assert open_log("DE").root() == root


def test_checkpoint_write_failure_raises_and_a_later_checkpoint_works(
    open_log: OpenLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log("DE")
    fill(log, 1)
    st = make_statement()
    index = log.append(LogEntry.query_received(st, b"s" * 64))
    real = os.fsync

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(LogWriteError):
        log.checkpoint()
    with pytest.raises(LogWriteError):
        log.receipt(index, st.request_id)
    monkeypatch.setattr(os, "fsync", real)
    assert open_checkpoint(log.checkpoint(), Verifier.parse(log.vkey))[0].size == 2
    assert len(log.signed_checkpoints()) == 1
