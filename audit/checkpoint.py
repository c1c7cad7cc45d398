"""C2SP transparency log checkpoints (c2sp.org/tlog-checkpoint).

A checkpoint is the note text::

    <origin>
    <tree size, decimal, no leading zeroes>
    <base64 RFC 6962 root hash>
    [extension lines]

signed as a C2SP note by the log's Ed25519 key, with the key name equal to the origin.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.merkle import HASH_SIZE
from audit.note import SignedNote, Verifier, b64decode_strict, sign_note
from fedlookup.errors import VerificationError

__all__ = ["Checkpoint", "open_checkpoint", "sign_checkpoint"]

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root hash (plus optional extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """Return the checkpoint note text, final newline included."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly.

        Raises:
            VerificationError: missing lines, bad size, bad root, empty extension line.
        """
        if not text.endswith("\n"):
            raise VerificationError("checkpoint text does not end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise VerificationError("checkpoint has fewer than three lines")
        origin, size, root_b64, *ext = lines
        if not origin:
            raise VerificationError("checkpoint origin is empty")
        if not _SIZE.fullmatch(size) or int(size) >= 2**63:
            raise VerificationError(f"checkpoint tree size {size!r} is not a decimal size")
        root = b64decode_strict(root_b64, "checkpoint root hash")
        if len(root) != HASH_SIZE:
            raise VerificationError("checkpoint root hash is not 32 bytes")
        if any(not line for line in ext):
            raise VerificationError("checkpoint has an empty extension line")
        return cls(origin=origin, size=int(size), root=root, extensions=tuple(ext))


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> SignedNote:
    """Sign ``checkpoint`` as a note whose key name is its origin."""
    return sign_note(checkpoint.body(), checkpoint.origin, key)


def open_checkpoint(data: bytes | str, verifier: Verifier) -> tuple[Checkpoint, SignedNote]:
    """Parse a signed checkpoint and verify the log's signature on it.

    Args:
        data: the signed note (text, blank line, signature lines).
        verifier: the log's note vkey; its name must equal the origin.

    Returns:
        The checkpoint and the parsed note (for its other signatures).

    Raises:
        VerificationError: malformed, wrong origin, or the log signature does not verify.
    """
    note = SignedNote.parse(data)
    checkpoint = Checkpoint.parse_body(note.text)
    if checkpoint.origin != verifier.name:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the log {verifier.name!r}"
        )
    note.verify(verifier)
    return checkpoint, note
