"""The node's append-only audit log: durable entries, signed checkpoints, receipts, cosigning.

Layout of the log directory (mode 0700)::

    meta.json          origin, country, log vkey (public; written once)
    entries.rec        one record per entry (canonical bytes), fsynced before append returns
    checkpoints.rec    every checkpoint the log signed, in size order
    cosignatures.rec   cosignatures peers made on our checkpoints
    cosigned.rec       the newest checkpoint of each peer that we cosigned (our witness state)
    LOCK               held (flock) by the one process that writes

On open the whole tree is recomputed from the entries and every stored checkpoint is checked
against it: a log that does not match what it once signed refuses to open, so the node can
never sign a checkpoint inconsistent with an earlier one.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import b64, canonical_bytes, parse_canonical, unb64
from audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from audit.cosignature import cosign, verify_cosignature
from audit.entries import LogEntry
from audit.keys import cosigner_vkey, log_vkey
from audit.merkle import MerkleTree, hash_leaf, verify_consistency
from audit.note import SignedNote, Verifier
from audit.records import RecordFile
from audit.statements import Receipt
from audit.storage import atomic_write, read_meta
from fedlookup.errors import AuditError, ConsistencyError, LogBusyError, LogWriteError

__all__ = ["AuditLog", "CosignConflictError"]


class CosignConflictError(ConsistencyError):
    """The peer's idea of the last checkpoint we cosigned is stale (tlog-witness 409).

    Args:
        origin: the peer log.
        latest_size: the size we did cosign last; the peer retries from it.
    """

    def __init__(self, origin: str, latest_size: int) -> None:
        self.origin = origin
        self.latest_size = latest_size
        super().__init__(f"{origin}: the last checkpoint we cosigned has size {latest_size}")


@dataclass
class _PeerState:
    size: int
    root: bytes


class AuditLog:
    """A node's audit log. Thread-safe; :meth:`append` is durable when it returns.

    Use :meth:`open`; close with :meth:`close` or a ``with`` block.
    """

    @classmethod
    def open(
        cls,
        directory: Path,
        origin: str,
        signing_key: Ed25519PrivateKey,
        *,
        country: str = "",
        checkpoint_interval: float = 60.0,
        heartbeat_interval: float = 300.0,
    ) -> AuditLog:
        """Open (or create) the log in ``directory``.

        Args:
            directory: the log directory (created 0700).
            origin: the log's origin line and key name, e.g. ``"fedlookup.example/FR"``.
            signing_key: the node's Ed25519 audit key.
            country: the node's country, written into receipts.
            checkpoint_interval: seconds between checkpoints while entries arrive.
            heartbeat_interval: seconds of idleness after which a heartbeat is logged.

        Raises:
            LogBusyError: another process holds the log.
            AuditError: it belongs to another origin/key.
            ConsistencyError: the entries no longer match a checkpoint the log signed.
            VerificationError: an entry or checkpoint on disk is corrupt.
        """
        return cls(
            directory,
            origin,
            signing_key,
            country=country,
            checkpoint_interval=checkpoint_interval,
            heartbeat_interval=heartbeat_interval,
        )

    def __init__(
        self,
        directory: Path,
        origin: str,
        signing_key: Ed25519PrivateKey,
        *,
        country: str = "",
        checkpoint_interval: float = 60.0,
        heartbeat_interval: float = 300.0,
    ) -> None:
        self.directory = directory
        self.origin = origin
        self.country = country or origin
        self._key = signing_key
        self.vkey = log_vkey(origin, signing_key.public_key())
        self.cosigner_vkey = cosigner_vkey(origin, signing_key.public_key())
        self._verifier = Verifier.parse(self.vkey)
        self._checkpoint_interval = checkpoint_interval
        self._heartbeat_interval = heartbeat_interval
        self._lock = threading.RLock()
        self._closed = False
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_fd = os.open(directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LogWriteError(f"{directory}: cannot open the audit log: {exc}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise LogBusyError(f"{directory}: the audit log is open in another process") from exc
        try:
            self._load()
        except OSError as exc:
            os.close(self._lock_fd)
            raise LogWriteError(f"{directory}: cannot open the audit log: {exc}") from exc
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _load(self) -> None:
        meta = {"v": 1, "origin": self.origin, "country": self.country, "vkey": self.vkey}
        found = read_meta(self.directory)
        if found is None:
            atomic_write(self.directory / "meta.json", json.dumps(meta, indent=2).encode())
        elif found.get("origin") != self.origin or found.get("vkey") != self.vkey:
            raise AuditError(
                f"{self.directory}: log belongs to {found.get('origin')} / another key"
            )
        self._entries = RecordFile(self.directory / "entries.rec")
        self.recovered_bytes = self._entries.truncated_bytes
        self._tree = MerkleTree()
        # Entries were validated when appended and each record carries a CRC; what guards
        # the history is the comparison with every signed checkpoint just below.
        for data in self._entries.initial:
            self._tree.append_hash(hash_leaf(data))
        self._entries.initial = []
        self._checkpoints = RecordFile(self.directory / "checkpoints.rec")
        self._signed: list[tuple[Checkpoint, SignedNote]] = []
        for data in self._checkpoints.initial:
            cp, note = open_checkpoint(data, self._verifier)
            if cp.size > self._tree.size or cp.root != self._tree.root(cp.size):
                raise ConsistencyError(
                    f"{self.directory}: entries do not match the signed checkpoint of size "
                    f"{cp.size}: entries were lost or rewritten"
                )
            if self._signed and cp.size <= self._signed[-1][0].size:
                raise ConsistencyError(f"{self.directory}: checkpoints out of order")
            self._signed.append((cp, note))
        self._cosigs = RecordFile(self.directory / "cosignatures.rec")
        self._cosig_lines: dict[int, list[tuple[str, str]]] = {}
        for data in self._cosigs.initial:
            obj = parse_canonical(data, "stored cosignature")
            self._cosig_lines.setdefault(obj["size"], []).append((obj["line"], obj["vkey"]))
        self._witness = RecordFile(self.directory / "cosigned.rec")
        self._peers: dict[str, _PeerState] = {}
        for data in self._witness.initial:
            obj = parse_canonical(data, "witness state")
            self._peers[obj["origin"]] = _PeerState(obj["size"], unb64(obj["root"], "root"))
        self._last_entry = self._last_checkpoint = time.monotonic()

    # Appending and reading.

    @property
    def size(self) -> int:
        """Number of entries."""
        with self._lock:
            return self._tree.size

    def append(self, entry: LogEntry) -> int:
        """Append ``entry`` durably and return its index.

        Raises:
            LogWriteError: the entry could not be made durable; the caller must not answer.
        """
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[LogEntry]) -> list[int]:
        """Append ``entries`` durably, in order, with one ``fsync`` (group commit).

        When this returns every entry is durable; when it raises none was appended (the
        file is cut back to its last durable end), so a caller that must log before acting
        may act on all of them or on none.

        Returns:
            The index of each entry, in order.

        Raises:
            LogWriteError: the entries could not be made durable; the caller must not act.
        """
        data = [entry.canonical() for entry in entries]
        with self._lock:
            indexes = self._entries.append_many(data)
            for d in data:
                self._tree.append_hash(hash_leaf(d))
            self._last_entry = time.monotonic()
            return indexes

    def entry(self, index: int) -> bytes:
        """Return the canonical bytes of entry ``index``."""
        with self._lock:
            return self._entries.read(index)

    def root(self, size: int | None = None) -> bytes:
        """Return the tree root at ``size`` (default: current)."""
        with self._lock:
            return self._tree.root(size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 6962 inclusion proof of ``index`` in the tree of ``size``."""
        with self._lock:
            return self._tree.inclusion_proof(index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return the RFC 6962 consistency proof from ``size1`` to ``size2`` (empty from 0)."""
        with self._lock:
            return [] if size1 == 0 else self._tree.consistency_proof(size1, size2)

    # Checkpoints.

    def _latest(self) -> tuple[Checkpoint, SignedNote] | None:
        return self._signed[-1] if self._signed else None

    def checkpoint(self) -> bytes:
        """Return the latest signed checkpoint, signing a new one if entries were added.

        The returned note carries the log's signature and every cosignature received on it.

        Raises:
            LogWriteError: the new checkpoint could not be stored.
        """
        with self._lock:
            latest = self._latest()
            if latest is None or latest[0].size != self._tree.size:
                cp = Checkpoint(self.origin, self._tree.size, self._tree.root())
                note = sign_checkpoint(cp, self._key)
                self._checkpoints.append(note.serialize())
                self._signed.append((cp, note))
                self._last_checkpoint = time.monotonic()
            return self._with_cosignatures(*self._signed[-1])

    def _with_cosignatures(self, cp: Checkpoint, note: SignedNote) -> bytes:
        text = note.serialize().decode()
        return (text + "".join(line for line, _ in self._cosig_lines.get(cp.size, []))).encode()

    def signed_checkpoints(self) -> list[bytes]:
        """Every checkpoint signed so far, oldest first, each with its cosignatures."""
        with self._lock:
            return [self._with_cosignatures(cp, note) for cp, note in self._signed]

    def maybe_heartbeat(self) -> bool:
        """Timer hook: log a heartbeat when idle, sign a checkpoint when one is due.

        Returns:
            True when something was written.

        Raises:
            LogWriteError: the heartbeat or checkpoint could not be stored.
        """
        with self._lock:
            wrote = False
            now = time.monotonic()
            if now - self._last_entry >= self._heartbeat_interval:
                self.append(LogEntry.heartbeat())
                wrote = True
            latest = self._latest()
            stale = latest is None or latest[0].size != self._tree.size
            if stale and (wrote or now - self._last_checkpoint >= self._checkpoint_interval):
                self.checkpoint()
                wrote = True
            return wrote

    # Receipts.

    def receipt(
        self, index: int, request_id: str, *, binding: dict[str, Any] | None = None
    ) -> bytes:
        """Return a signed receipt for entry ``index`` (which must be about ``request_id``),
        binding ``binding`` (``audit.statements.answer_binding``) when given.

        Signs a new checkpoint first if the latest one does not cover ``index``.

        Raises:
            AuditError: no such entry, or it is about another request.
            LogWriteError: a covering checkpoint could not be stored.
        """
        with self._lock:
            if not 0 <= index < self._tree.size:
                raise AuditError(f"no entry {index} in the audit log")
            data = self._entries.read(index)
            if LogEntry.parse(data).get("request_id") != request_id:
                raise AuditError(f"entry {index} is not about request {request_id}")
            latest = self._latest()
            if latest is None or latest[0].size <= index:
                self.checkpoint()
            cp, note = self._signed[-1]
            receipt = Receipt(
                request_id=request_id,
                node=self.country,
                log_index=index,
                entry=data,
                proof=tuple(self._tree.inclusion_proof(index, cp.size)),
                checkpoint=note.serialize().decode(),
                binding=binding,
            )
            return receipt.sign(self._key)

    # Cosigning.

    def cosign(
        self,
        checkpoint: bytes,
        peer_vkey: str,
        proof: Sequence[bytes] = (),
        *,
        old_size: int | None = None,
    ) -> str:
        """Cosign a peer's checkpoint; return the cosignature line to send back.

        Args:
            checkpoint: the peer's signed checkpoint note.
            peer_vkey: the peer log's note vkey (from the federation directory).
            proof: consistency proof from the last checkpoint of this peer we cosigned.
            old_size: the size the peer believes we cosigned last (C2SP tlog-witness);
                None skips that check.

        Raises:
            VerificationError: the peer's signature does not verify.
            CosignConflictError: ``old_size`` is not the size we cosigned last.
            ConsistencyError: the checkpoint is smaller than, or inconsistent with, one we
                cosigned before (a rewritten or truncated history). Nothing is signed.
        """
        verifier = Verifier.parse(peer_vkey)
        cp, note = open_checkpoint(checkpoint, verifier)
        with self._lock:
            seen = self._peers.get(cp.origin)
            seen_size = seen.size if seen else 0
            if old_size is not None and old_size != seen_size:
                raise CosignConflictError(cp.origin, seen_size)
            if seen is not None and cp.size < seen.size:
                raise ConsistencyError(
                    f"{cp.origin}: checkpoint of size {cp.size} after we cosigned size {seen.size}"
                )
            if seen is not None and seen.size > 0:
                verify_consistency(seen.size, cp.size, proof, seen.root, cp.root)
            state = {"origin": cp.origin, "size": cp.size, "root": b64(cp.root)}
            self._witness.append(canonical_bytes(state))
            self._peers[cp.origin] = _PeerState(cp.size, cp.root)
            return cosign(note.text, self.origin, self._key).line()

    def cosigned_size(self, origin: str) -> int:
        """Size of the newest checkpoint of log ``origin`` we cosigned (0 if none).

        The peer asks for this, then sends ``consistency_proof(cosigned_size)`` with its
        checkpoint.
        """
        with self._lock:
            seen = self._peers.get(origin)
            return seen.size if seen else 0

    def add_cosignature(self, line: str, cosigner: str, *, size: int | None = None) -> None:
        """Verify and store a peer's cosignature on our checkpoint of ``size`` (default: latest).

        Args:
            line: the cosignature line the peer returned.
            cosigner: the peer's cosigner vkey (type 0x04).

        Raises:
            VerificationError: it does not verify on that checkpoint.
            LogWriteError: it could not be stored.
        """
        verifier = Verifier.parse(cosigner)
        with self._lock:
            match = [s for s in self._signed if size is None or s[0].size == size]
            if not match:
                raise AuditError(f"no checkpoint of size {size} to attach a cosignature to")
            cp, note = match[-1]
            parsed = SignedNote.parse(note.serialize().decode() + line)
            verify_cosignature(parsed, verifier)
            record = {"size": cp.size, "line": line, "vkey": cosigner}
            self._cosigs.append(canonical_bytes(record))
            self._cosig_lines.setdefault(cp.size, []).append((line, cosigner))

    def close(self) -> None:
        """Close the files and release the lock."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for rf in (self._entries, self._checkpoints, self._cosigs, self._witness):
                rf.close()
            os.close(self._lock_fd)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
