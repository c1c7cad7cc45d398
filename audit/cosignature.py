"""C2SP Ed25519 cosignatures on checkpoints (c2sp.org/tlog-cosignature, ``cosignature/v1``).

The signed message is ``"cosignature/v1\\n" + "time <unix seconds>\\n" + checkpoint note text``;
the note signature is ``key ID (alg 0x04) || timestamp (u64 big-endian) || Ed25519 signature``.
A cosignature states that, at that time, this is the largest consistent tree head the cosigner
has seen for the log: peers cosign each other's checkpoints so no node can later show an
auditor a rewritten or shortened history.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.note import ALG_COSIGNATURE_V1, NoteSignature, SignedNote, Verifier, key_id
from fedlookup.errors import VerificationError

__all__ = ["Cosignature", "cosign", "verify_cosignature"]


def _message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who cosigned and when (POSIX seconds)."""

    name: str
    timestamp: int


def cosign(
    body: str, name: str, key: Ed25519PrivateKey, *, timestamp: int | None = None
) -> NoteSignature:
    """Cosign a checkpoint note text; return the note signature line to append to it.

    The caller is responsible for having checked the checkpoint's signature and its
    consistency with every earlier one it cosigned (see ``AuditLog.cosign``).
    """
    ts = int(time.time()) if timestamp is None else timestamp
    if not 0 <= ts < 2**63:
        raise ValueError("cosignature timestamp out of range")
    kid = key_id(name, ALG_COSIGNATURE_V1, key.public_key())
    sig = key.sign(_message(body, ts))
    return NoteSignature(name=name, key_id=kid, signature=struct.pack(">Q", ts) + sig)


def verify_cosignature(note: SignedNote, verifier: Verifier) -> Cosignature:
    """Verify the cosignature by ``verifier`` (a 0x04 vkey) on a checkpoint note.

    Raises:
        VerificationError: no cosignature by that key, wrong length, or it does not verify.
    """
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise VerificationError(f"key {verifier.name} is not a cosigner (0x04) key")
    sig = note.by(verifier)
    if sig is None:
        raise VerificationError(f"checkpoint is not cosigned by {verifier.name}")
    if len(sig.signature) != 8 + 64:
        raise VerificationError(f"cosignature by {verifier.name} has the wrong length")
    (ts,) = struct.unpack(">Q", sig.signature[:8])
    if ts >= 2**63:
        raise VerificationError(f"cosignature by {verifier.name} has an invalid timestamp")
    try:
        verifier.public_key.verify(sig.signature[8:], _message(note.text, ts))
    except InvalidSignature as exc:
        raise VerificationError(f"cosignature by {verifier.name} does not verify") from exc
    return Cosignature(name=verifier.name, timestamp=ts)
