"""``fedlookup audit export``: a static, self-contained directory an auditor verifies offline.

Layout (C2SP tlog-tiles plus two plain files)::

    checkpoint              latest signed checkpoint, with the cosignatures it received
    checkpoints/<size>      every checkpoint the log signed, with its cosignatures
    tile/<L>/<N>[.p/<W>]    Merkle hash tiles for the latest checkpoint's tree size
    tile/entries/<N>[...]   entry bundles (uint16-length-prefixed canonical entries)
    entries.jsonl           the same entries, one canonical JSON object per line
    policy.json             origin, country, log vkey, cosigner vkeys seen, quorum 0

Only entries covered by a signed checkpoint are exported.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import parse_canonical
from audit.checkpoint import Checkpoint
from audit.log import AuditLog
from audit.merkle import MerkleTree, hash_leaf
from audit.note import SignedNote
from audit.policy import Policy
from audit.records import read_records
from audit.storage import read_meta
from audit.tiles import static_tiles
from fedlookup.errors import AuditError, InputError, VerificationError

__all__ = ["ExportSummary", "export_log"]


@dataclass(frozen=True)
class ExportSummary:
    """What an export holds."""

    origin: str
    size: int
    checkpoints: int
    unexported: int
    path: Path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def export_log(
    log_dir: Path, out: Path, *, signing_key: Ed25519PrivateKey | None = None
) -> ExportSummary:
    """Export the audit log in ``log_dir`` to the new directory ``out``.

    Args:
        log_dir: the node's audit log directory.
        out: where to write; must not exist yet.
        signing_key: when given, open the log (it must not be in use) and sign a fresh
            checkpoint first, so that every entry is exported.

    Raises:
        InputError: ``log_dir`` is not an audit log, or ``out`` exists.
        AuditError: the log cannot be read.
    """
    meta = read_meta(log_dir)
    if meta is None:
        raise InputError("not an audit log directory (no meta.json)", file=str(log_dir))
    if out.exists():
        raise InputError("export directory already exists", file=str(out))
    origin, country = str(meta["origin"]), str(meta.get("country", ""))
    if signing_key is not None:
        with AuditLog.open(log_dir, origin, signing_key, country=country) as log:
            log.checkpoint()
    entries = read_records(log_dir / "entries.rec")
    notes = [SignedNote.parse(d) for d in read_records(log_dir / "checkpoints.rec")]
    if not notes:
        raise AuditError(f"{log_dir}: the log has no signed checkpoint yet")
    cosigs: dict[int, list[str]] = {}
    cosigners: set[str] = set()
    for data in read_records(log_dir / "cosignatures.rec"):
        obj = parse_canonical(data, "stored cosignature")
        cosigs.setdefault(obj["size"], []).append(obj["line"])
        cosigners.add(obj["vkey"])
    size = Checkpoint.parse_body(notes[-1].text).size
    if size > len(entries):
        raise VerificationError(f"{log_dir}: checkpoint of size {size} but {len(entries)} entries")
    exported = entries[:size]
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for note in notes:
        cp = Checkpoint.parse_body(note.text)
        full = note.serialize() + "".join(cosigs.get(cp.size, [])).encode()
        _write(tmp / "checkpoints" / str(cp.size), full)
        if cp.size == size:
            _write(tmp / "checkpoint", full)
    tree = MerkleTree(hash_leaf(e) for e in exported)
    # Earlier checkpoints' partial tiles too: a client holding one of them reads those.
    sizes = [Checkpoint.parse_body(n.text).size for n in notes]
    for name, blob in static_tiles(tree, exported, [s for s in sizes if s <= size]).items():
        _write(tmp / name, blob)
    _write(tmp / "entries.jsonl", b"".join(e + b"\n" for e in exported))
    policy = Policy(origin, country, str(meta["vkey"]), tuple(sorted(cosigners)), 0)
    _write(tmp / "policy.json", policy.to_bytes())
    os.replace(tmp, out)
    return ExportSummary(origin, size, len(notes), len(entries) - size, out)
