"""An auditor's memory of the newest checkpoint it has verified for each log.

A log that hands an auditor an older export (a rollback: entries removed, the head
re-signed at a smaller size) or a fork is caught only against a checkpoint seen before. With
``fedlookup audit verify --state DIR`` every export is checked for consistency with the
newest checkpoint stored for its origin, and a verified export's head replaces it when it is
larger. One file per origin, written atomically.

Example::

    state = WitnessState(Path("auditor-state"))
    earlier = state.held("fedlookup/DE")        # [(name, signed checkpoint bytes)]
    state.remember(report_origin, head_bytes, size)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from audit.checkpoint import Checkpoint
from audit.note import SignedNote
from audit.storage import atomic_write
from fedlookup.errors import InputError, VerificationError

__all__ = ["WitnessState"]


class WitnessState:
    """Newest verified checkpoint per log origin, under a directory.

    Args:
        directory: where the state lives (created on first write).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, origin: str) -> Path:
        digest = hashlib.sha256(origin.encode()).hexdigest()[:16]
        safe = "".join(c if c.isalnum() else "_" for c in origin)
        return self.directory / f"{safe}-{digest}.checkpoint"

    def held(self, origin: str) -> list[tuple[str, bytes]]:
        """The stored checkpoint of ``origin`` as ``[(name, bytes)]`` (empty: none yet).

        Raises:
            InputError: the state file exists but cannot be read.
        """
        path = self._path(origin)
        if not path.exists():
            return []
        try:
            return [(f"state {path.name}", path.read_bytes())]
        except OSError as exc:
            raise InputError(f"cannot read: {exc}", file=str(path)) from exc

    def remember(self, origin: str, checkpoint: bytes) -> bool:
        """Store ``checkpoint`` (already verified) if it is larger than the one held.

        Returns:
            True when the stored checkpoint changed.
        """
        size = _size(checkpoint)
        held = self.held(origin)
        if held and _size(held[0][1]) >= size:
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self._path(origin), checkpoint)
        return True


def _size(data: bytes) -> int:
    try:
        return Checkpoint.parse_body(SignedNote.parse(data).text).size
    except VerificationError:
        return -1
