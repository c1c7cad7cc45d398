"""Signed, tamper-evident query logs (RFC 6962 Merkle tree, C2SP checkpoints) and their audit.

The node (answering side) appends ``LogEntry.query_received`` **before** it answers, then
returns ``AuditLog.receipt``; the asker stores the opening of its commitment, appends
``LogEntry.query_sent`` before sending and ``LogEntry.receipt`` with the peer's receipt after.
Peers cosign each other's checkpoints (``AuditLog.cosign`` / ``add_cosignature``). Auditors use
``audit.export`` / ``audit.verify`` offline (``fedlookup audit ...``).

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from audit import AuditLog, LogEntry, OpeningStore, QueryStatement, generate_key
    >>> from audit import verify_receipt, sign
    >>> tmp = Path(tempfile.mkdtemp())
    >>> fr_key, de_key = generate_key(), generate_key()
    >>> openings = OpeningStore(tmp / "openings.db")
    >>> rid = QueryStatement.new_request_id()
    >>> commitment = openings.create(rid, [b"v1|GLOCK|ABC123", b"v1|ABC123"])
    >>> st = QueryStatement(rid, "FR", "DE", "case-1", "investigation", "art. 3", "inv-7", 2,
    ...                     commitment)
    >>> sig = sign(st.canonical(), fr_key)
    >>> de = AuditLog.open(tmp / "de", "fedlookup.example/DE", de_key, country="DE")
    >>> index = de.append(LogEntry.query_received(st, sig))   # durable before answering
    >>> signed_receipt = de.receipt(index, rid)
    >>> verify_receipt(signed_receipt, de_key.public_key(), de.vkey, st).log_index
    0
    >>> fr = AuditLog.open(tmp / "fr", "fedlookup.example/FR", fr_key, country="FR")
    >>> fr.append(LogEntry.query_sent(st))
    0
    >>> fr.append(LogEntry.receipt(rid, "FR", "DE", status="answered", no_hits=2,
    ...                            receipt=signed_receipt))
    1
    >>> line = fr.cosign(de.checkpoint(), de.vkey)       # FR witnesses DE's log
    >>> de.add_cosignature(line, fr.cosigner_vkey)
    >>> for log in (de, fr): log.close()
    >>> openings.close()
"""

from audit.canonical import canonical_bytes, parse_canonical
from audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from audit.commitment import Opening, OpeningStore, commit
from audit.cosignature import Cosignature, cosign, verify_cosignature
from audit.entries import KIND_FIELDS, LogEntry
from audit.keys import (
    cosigner_vkey,
    generate_key,
    load_private_key,
    log_vkey,
    public_key_b64,
    public_key_from_b64,
    save_private_key,
)
from audit.log import AuditLog
from audit.merkle import MerkleTree, hash_leaf, verify_consistency, verify_inclusion
from audit.note import SignedNote, Verifier, sign_note
from audit.receipts import verify_receipt
from audit.statements import QueryStatement, Receipt, sign, verify

__all__ = [
    "KIND_FIELDS",
    "AuditLog",
    "Checkpoint",
    "Cosignature",
    "LogEntry",
    "MerkleTree",
    "Opening",
    "OpeningStore",
    "QueryStatement",
    "Receipt",
    "SignedNote",
    "Verifier",
    "canonical_bytes",
    "commit",
    "cosign",
    "cosigner_vkey",
    "generate_key",
    "hash_leaf",
    "load_private_key",
    "log_vkey",
    "open_checkpoint",
    "parse_canonical",
    "public_key_b64",
    "public_key_from_b64",
    "save_private_key",
    "sign",
    "sign_checkpoint",
    "sign_note",
    "verify",
    "verify_consistency",
    "verify_cosignature",
    "verify_inclusion",
    "verify_receipt",
]
