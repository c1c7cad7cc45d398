"""Checking a receipt on the asking side: signature, inclusion, and that it is our query."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.checkpoint import open_checkpoint
from audit.entries import LogEntry
from audit.merkle import hash_leaf, verify_inclusion
from audit.note import Verifier
from audit.statements import QueryStatement, Receipt
from fedlookup.errors import VerificationError

__all__ = ["verify_receipt"]


def verify_receipt(
    data: bytes,
    public_key: Ed25519PublicKey,
    peer_log_vkey: str,
    statement: QueryStatement | None = None,
    *,
    binding: dict[str, Any] | None = None,
) -> Receipt:
    """Verify a peer's signed receipt completely.

    Checks the receipt signature, the peer's checkpoint signature, the inclusion proof of the
    logged entry under that checkpoint, and that the entry records ``statement`` (same request
    id, parties, item count and commitment) as received or refused.

    Args:
        data: the signed receipt bytes.
        public_key: the peer's audit public key (from the federation directory).
        peer_log_vkey: the peer log's note vkey.
        statement: the statement we sent, to compare with what the peer logged.
        binding: what we sent and received (``answer_binding``): the receipt must bind
            exactly this.

    Returns:
        The verified receipt.

    Raises:
        VerificationError: any check fails.
    """
    receipt = Receipt.open(data, public_key)
    checkpoint, _ = open_checkpoint(receipt.checkpoint, Verifier.parse(peer_log_vkey))
    verify_inclusion(
        hash_leaf(receipt.entry), receipt.log_index, checkpoint.size, receipt.proof, checkpoint.root
    )
    entry = LogEntry.parse(receipt.entry)
    if entry.kind not in ("query_received", "refusal"):
        raise VerificationError(f"receipt points at a {entry.kind} entry")
    if entry["request_id"] != receipt.request_id:
        raise VerificationError("receipt entry is about another request")
    if statement is not None:
        expected = {
            "request_id": statement.request_id,
            "from": statement.from_country,
            "to": statement.to_country,
            "items": statement.item_count,
            "commitment": LogEntry.query_sent(statement)["commitment"],
        }
        for name, value in expected.items():
            if entry[name] != value:
                raise VerificationError(f"peer logged a different {name} for this request")
    if binding is not None and receipt.binding != binding:
        raise VerificationError("receipt binds another request, response, epoch or version")
    return receipt
