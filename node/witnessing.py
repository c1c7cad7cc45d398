"""This node's logs as witnessed logs, and its peers as cosigners, for whoever holds a log.

The serving node has its node log cosigned (``node.serve.cosigning``); the outgoing-query
log is cosigned by whichever process holds it: the serving node's round when nothing else
does, or the investigators' desk, its single writer while it runs
(``node.desk.cosign_keeper``). Both go through these pieces.
"""

from __future__ import annotations

from audit.checkpoint import Checkpoint
from audit.keys import cosigner_vkey, log_vkey
from audit.log import AuditLog
from audit.note import SignedNote, Verifier
from audit.witness import request_cosignature
from federation.cosign import Send
from federation.directory import Directory
from node.layout import log_origins

__all__ = ["WitnessedAuditLog", "peer_cosigner", "peer_logs"]


def peer_logs(directory: Directory, country: str) -> dict[str, str]:
    """``origin -> log vkey`` of both logs of ``country``.

    Raises:
        UnlistedPeerError: ``country`` is not in the directory.
    """
    key = directory.member(country).audit_key()
    return {origin: log_vkey(origin, key) for origin in log_origins(country)}


def peer_cosigner(directory: Directory, country: str) -> str:
    """The cosigner vkey (type 0x04) ``country`` cosigns with.

    Raises:
        UnlistedPeerError: ``country`` is not in the directory.
    """
    return cosigner_vkey(log_origins(country)[0], directory.member(country).audit_key())


class WitnessedAuditLog:
    """An :class:`~audit.log.AuditLog` as a :class:`federation.cosign.WitnessedLog`."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    @property
    def origin(self) -> str:
        """The log's origin."""
        return self.log.origin

    def cosigned_latest(self, witness_vkey: str) -> int | None:
        """See :meth:`federation.cosign.WitnessedLog.cosigned_latest` (signs a new
        checkpoint first when entries were added)."""
        note = SignedNote.parse(self.log.checkpoint())
        if note.by(Verifier.parse(witness_vkey)) is None:
            return None
        return Checkpoint.parse_body(note.text).size

    def request_cosignature(self, send: Send, witness_vkey: str, *, old_size: int) -> int:
        """See :meth:`federation.cosign.WitnessedLog.request_cosignature`."""
        return request_cosignature(self.log, send, witness_vkey, old_size=old_size)
