"""Signed, tamper-evident query logs (RFC 6962 Merkle tree, C2SP checkpoints) and their audit.

The node (answering side) appends ``LogEntry.query_received`` **before** it answers, then
returns ``AuditLog.receipt``; the asker stores the opening of its commitment, appends
``LogEntry.query_sent`` before sending and ``LogEntry.receipt`` with the peer's receipt after.
Peers cosign each other's checkpoints (``AuditLog.cosign`` / ``add_cosignature``, carried over
the wire by ``audit.witness``: ``request_cosignature`` on the log's side, ``handle_add_checkpoint``
on the witness's, in the C2SP tlog-witness format). Auditors use
``audit.export`` / ``audit.verify`` offline (``fedlookup audit ...``).

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from audit import AuditLog, LogEntry, OpeningStore, QueryStatement, generate_key
    >>> from audit import verify_receipt, sign, handle_add_checkpoint, request_cosignature
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
    >>> def to_fr(body):                                  # in production: an RPC to FR
    ...     return handle_add_checkpoint(fr, body, {de.origin: de.vkey})
    >>> request_cosignature(de, to_fr, fr.cosigner_vkey)  # FR witnesses DE's log
    1
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
from audit.log import AuditLog, CosignConflictError
from audit.merkle import MerkleTree, hash_leaf, verify_consistency, verify_inclusion
from audit.note import SignedNote, Verifier, sign_note
from audit.receipts import verify_receipt
from audit.statements import QueryStatement, Receipt, sign, verify
from audit.witness import handle_add_checkpoint, request_cosignature, witness_request

__all__ = [
    "KIND_FIELDS",
    "AuditLog",
    "Checkpoint",
    "CosignConflictError",
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
    "handle_add_checkpoint",
    "hash_leaf",
    "load_private_key",
    "log_vkey",
    "open_checkpoint",
    "parse_canonical",
    "public_key_b64",
    "public_key_from_b64",
    "request_cosignature",
    "save_private_key",
    "sign",
    "sign_checkpoint",
    "sign_note",
    "verify",
    "verify_consistency",
    "verify_cosignature",
    "verify_inclusion",
    "verify_receipt",
    "witness_request",
]
