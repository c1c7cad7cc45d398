"""Signed query statements (asker to answerer) and receipts (answerer to asker).

Both are canonical JSON objects (``audit.canonical``) whose ``type`` field separates their
signature domains. A statement says who asks whom, under which case, purpose and legal basis,
for how many items, committing to the identifiers. A receipt is the answering node's proof
that it logged the query: its log entry, index, an inclusion proof and the signed checkpoint
covering it, all signed by its audit key.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.canonical import b64, canonical_bytes, format_time, parse_canonical, parse_time, unb64
from fedlookup.errors import VerificationError

__all__ = ["BINDING_FIELDS", "QueryStatement", "Receipt", "answer_binding", "sign", "verify"]

STATEMENT_TYPE = "fedlookup.query-statement"
RECEIPT_TYPE = "fedlookup.receipt"


def sign(data: bytes, key: Ed25519PrivateKey) -> bytes:
    """Return the Ed25519 signature (64 bytes) of ``data``."""
    return key.sign(data)


def verify(data: bytes, signature: bytes, public_key: Ed25519PublicKey) -> None:
    """Verify an Ed25519 signature.

    Raises:
        VerificationError: the signature does not verify.
    """
    try:
        public_key.verify(signature, data)
    except InvalidSignature as exc:
        raise VerificationError("signature does not verify") from exc


def text_field(obj: dict[str, Any], name: str, what: str, *, empty: bool = True) -> str:
    """Return ``obj[name]`` as a string of at most 256 characters."""
    value = obj.get(name)
    if not isinstance(value, str) or len(value) > 256 or (not empty and not value):
        raise VerificationError(f"{what}: field {name!r} must be a string (1-256 chars)")
    return value


def int_field(obj: dict[str, Any], name: str, what: str) -> int:
    """Return ``obj[name]`` as a non-negative integer."""
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise VerificationError(f"{what}: field {name!r} must be a non-negative integer")
    return value


def check_keys(obj: dict[str, Any], expected: set[str], what: str) -> None:
    """Refuse missing or unknown fields."""
    if set(obj) != expected:
        missing, extra = expected - set(obj), set(obj) - expected
        raise VerificationError(f"{what}: missing {sorted(missing)}, unknown {sorted(extra)}")


def now() -> datetime:
    """The current time in UTC, truncated to milliseconds (what the encoding keeps)."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class QueryStatement:
    """What an asking node states, and signs, about one query to one peer."""

    request_id: str
    from_country: str
    to_country: str
    case_id: str
    purpose: str
    legal_basis: str
    investigator: str
    item_count: int
    commitment: bytes
    timestamp: datetime = field(default_factory=now)

    @staticmethod
    def new_request_id() -> str:
        """Return a fresh random request id."""
        return uuid.uuid4().hex

    def to_json(self) -> dict[str, Any]:
        """The statement as a JSON object (canonical field names)."""
        return {
            "type": STATEMENT_TYPE,
            "v": 1,
            "request_id": self.request_id,
            "from": self.from_country,
            "to": self.to_country,
            "case": self.case_id,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "investigator": self.investigator,
            "items": self.item_count,
            "commitment": b64(self.commitment),
            "time": format_time(self.timestamp),
        }

    def canonical(self) -> bytes:
        """The one byte form that is signed and logged."""
        return canonical_bytes(self.to_json())

    @classmethod
    def parse(cls, data: bytes) -> QueryStatement:
        """Parse canonical statement bytes.

        Raises:
            VerificationError: not a canonical, complete, version-1 statement.
        """
        what = "query statement"
        obj = parse_canonical(data, what)
        check_keys(obj, set(cls("", "", "", "", "", "", "", 0, b"").to_json()), what)
        if obj["type"] != STATEMENT_TYPE or obj["v"] != 1:
            raise VerificationError(f"{what}: unsupported type or version")
        commitment = unb64(obj["commitment"], f"{what}: commitment")
        if len(commitment) != 32:
            raise VerificationError(f"{what}: commitment must be 32 bytes")
        return cls(
            request_id=text_field(obj, "request_id", what, empty=False),
            from_country=text_field(obj, "from", what, empty=False),
            to_country=text_field(obj, "to", what, empty=False),
            case_id=text_field(obj, "case", what),
            purpose=text_field(obj, "purpose", what),
            legal_basis=text_field(obj, "legal_basis", what),
            investigator=text_field(obj, "investigator", what),
            item_count=int_field(obj, "items", what),
            commitment=commitment,
            timestamp=parse_time(obj["time"], f"{what}: time"),
        )


def _checkpoint_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64 * 1024:
        raise VerificationError("receipt: checkpoint must be the signed note text")
    return value


@dataclass(frozen=True)
class Receipt:
    """An answering node's signed proof that it logged a query before answering."""

    request_id: str
    node: str
    log_index: int
    entry: bytes
    proof: tuple[bytes, ...]
    checkpoint: str
    timestamp: datetime = field(default_factory=now)
    #: What the node answered, bound to the entry (:func:`answer_binding`); ``None`` for a
    #: refusal, or a receipt made before answers were bound.
    binding: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The receipt as a JSON object (canonical field names)."""
        body = self._fields()
        if self.binding is not None:
            body["binding"] = self.binding
        return body

    def _fields(self) -> dict[str, Any]:
        return {
            "type": RECEIPT_TYPE,
            "v": 1,
            "request_id": self.request_id,
            "node": self.node,
            "log_index": self.log_index,
            "entry": b64(self.entry),
            "proof": [b64(p) for p in self.proof],
            "checkpoint": self.checkpoint,
            "time": format_time(self.timestamp),
        }

    def sign(self, key: Ed25519PrivateKey) -> bytes:
        """Return the signed receipt: canonical ``{"receipt": {...}, "sig": base64}``."""
        body = canonical_bytes(self.to_json())
        return canonical_bytes({"receipt": self.to_json(), "sig": b64(key.sign(body))})

    @classmethod
    def open(cls, data: bytes, public_key: Ed25519PublicKey) -> Receipt:
        """Parse a signed receipt and verify its signature (not yet its inclusion proof;
        see ``audit.log.verify_receipt``).

        Raises:
            VerificationError: malformed, or the signature does not verify.
        """
        what = "receipt"
        outer = parse_canonical(data, what)
        check_keys(outer, {"receipt", "sig"}, what)
        obj = outer["receipt"]
        if not isinstance(obj, dict):
            raise VerificationError(f"{what}: body is not an object")
        verify(canonical_bytes(obj), unb64(outer["sig"], f"{what}: sig"), public_key)
        binding = obj.pop("binding", None) if isinstance(obj, dict) else None
        check_keys(obj, set(cls("", "", 0, b"", (), "").to_json()), what)
        if binding is not None and (
            not isinstance(binding, dict)
            or set(binding) != set(BINDING_FIELDS)
            or not isinstance(binding["index_version"], int)
            or not all(isinstance(binding[k], str) for k in BINDING_FIELDS if k != "index_version")
        ):
            raise VerificationError(f"{what}: binding must hold {', '.join(BINDING_FIELDS)}")
        if obj["type"] != RECEIPT_TYPE or obj["v"] != 1 or not isinstance(obj["proof"], list):
            raise VerificationError(f"{what}: unsupported type or version")
        return cls(
            request_id=text_field(obj, "request_id", what, empty=False),
            node=text_field(obj, "node", what, empty=False),
            log_index=int_field(obj, "log_index", what),
            entry=unb64(obj["entry"], f"{what}: entry"),
            proof=tuple(unb64(p, f"{what}: proof") for p in obj["proof"]),
            checkpoint=_checkpoint_text(obj["checkpoint"]),
            timestamp=parse_time(obj["time"], f"{what}: time"),
            binding=binding,
        )


#: The fields of a receipt's binding, in canonical order.
BINDING_FIELDS = ("epoch_id", "index_version", "request_sha256", "response_sha256")


def answer_binding(
    request: bytes, response: bytes, epoch_id: str, index_version: int
) -> dict[str, Any]:
    """What a receipt binds of one answer: SHA-256 of request and response, epoch, version."""
    return {
        "epoch_id": epoch_id,
        "index_version": index_version,
        "request_sha256": hashlib.sha256(request).hexdigest(),
        "response_sha256": hashlib.sha256(response).hexdigest(),
    }
