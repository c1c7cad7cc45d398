"""Audit log entries: one per event, one canonical versioned byte encoding.

An entry is a canonical JSON object ``{"v": 1, "kind": ..., "time": ..., <fields>}``; its
RFC 6962 leaf hash is ``SHA-256(0x00 || canonical bytes)``. Each kind has a fixed field set
(:data:`KIND_FIELDS`); parsing refuses missing, unknown or mistyped fields. No entry ever
holds an identifier in the clear: queries carry a 32-byte commitment (``audit.commitment``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit.canonical import b64, canonical_bytes, format_time, parse_canonical, parse_time, unb64
from audit.followup import FOLLOWUP_KINDS
from audit.merkle import hash_leaf
from audit.statements import QueryStatement, check_keys, int_field, now, text_field
from fedlookup.errors import VerificationError

__all__ = ["ENTRY_VERSION", "KIND_FIELDS", "LogEntry"]

ENTRY_VERSION = 1
_S, _I, _B = "str", "int", "b64"
_QUERY = {
    "request_id": _S, "from": _S, "to": _S, "case": _S, "purpose": _S,
    "legal_basis": _S, "investigator": _S, "items": _I, "commitment": _B,
}  # fmt: skip
#: Field name -> type for each entry kind.
KIND_FIELDS: dict[str, dict[str, str]] = {
    "query_sent": _QUERY,
    "query_received": {**_QUERY, "statement_sig": _B},
    "receipt": {
        "request_id": _S,
        "from": _S,
        "to": _S,
        "status": _S,
        "hits": _I,
        "possible": _I,
        "no_hits": _I,
        "receipt": _B,
    },
    "refusal": {**_QUERY, "reason": _S},
    "quota_exhausted": {"request_id": _S, "peer": _S, "items": _I, "used": _I, "quota": _I},
    "compat_setup": {"peer": _S, "epoch_id": _S, "version": _I, "inputs": _I, "fpr": _S},
    "key_rotation": {"key": _S, "key_id": _S},
    "directory_change": {"version": _I, "digest": _S},
    "heartbeat": {},
    **FOLLOWUP_KINDS,  # follow-up requests: audit.followup
}
RECEIPT_STATUSES = ("answered", "refused", "unavailable", "error")


def _query_fields(s: QueryStatement) -> dict[str, Any]:
    return {
        "request_id": s.request_id, "from": s.from_country, "to": s.to_country,
        "case": s.case_id, "purpose": s.purpose, "legal_basis": s.legal_basis,
        "investigator": s.investigator, "items": s.item_count, "commitment": b64(s.commitment),
    }  # fmt: skip


@dataclass(frozen=True)
class LogEntry:
    """One audit event. Build with the named constructors; read fields with ``entry[name]``."""

    kind: str
    fields: dict[str, Any]
    time: datetime = field(default_factory=now)

    def __post_init__(self) -> None:
        self._check(self.kind, self.fields, "log entry")

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        """Return field ``name`` or ``default``."""
        return self.fields.get(name, default)

    @staticmethod
    def _check(kind: str, fields: dict[str, Any], what: str) -> None:
        schema = KIND_FIELDS.get(kind)
        if schema is None:
            raise VerificationError(f"{what}: unknown kind {kind!r}")
        check_keys(fields, set(schema), f"{what} ({kind})")
        for name, typ in schema.items():
            if typ == _S:
                text_field(fields, name, what)
            elif typ == _I:
                int_field(fields, name, what)
            else:
                unb64(fields[name], f"{what}: {name}")
        if kind == "receipt" and fields["status"] not in RECEIPT_STATUSES:
            raise VerificationError(f"{what}: receipt status must be one of {RECEIPT_STATUSES}")

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object."""
        return {
            "v": ENTRY_VERSION,
            "kind": self.kind,
            "time": format_time(self.time),
            **self.fields,
        }

    def canonical(self) -> bytes:
        """The one byte form that is logged and hashed."""
        return canonical_bytes(self.to_json())

    def leaf_hash(self) -> bytes:
        """The RFC 6962 leaf hash of :meth:`canonical`."""
        return hash_leaf(self.canonical())

    @classmethod
    def parse(cls, data: bytes) -> LogEntry:
        """Parse canonical entry bytes strictly.

        Raises:
            VerificationError: not canonical, unknown version or kind, bad fields.
        """
        obj = parse_canonical(data, "log entry")
        if obj.pop("v", None) != ENTRY_VERSION:
            raise VerificationError(f"log entry: unsupported version (expected {ENTRY_VERSION})")
        kind, when = obj.pop("kind", None), obj.pop("time", None)
        if not isinstance(kind, str):
            raise VerificationError("log entry: missing kind")
        return cls(kind=kind, fields=obj, time=parse_time(when, "log entry: time"))

    # Named constructors, one per event kind.

    @classmethod
    def query_sent(cls, statement: QueryStatement, *, time: datetime | None = None) -> LogEntry:
        """The asker sends ``statement`` to a peer (logged before sending)."""
        return cls("query_sent", _query_fields(statement), time or now())

    @classmethod
    def query_received(
        cls, statement: QueryStatement, signature: bytes, *, time: datetime | None = None
    ) -> LogEntry:
        """The answering node accepted ``statement`` (logged before answering)."""
        fields = {**_query_fields(statement), "statement_sig": b64(signature)}
        return cls("query_received", fields, time or now())

    @classmethod
    def receipt(
        cls,
        request_id: str,
        from_country: str,
        to_country: str,
        *,
        status: str,
        hits: int = 0,
        possible: int = 0,
        no_hits: int = 0,
        receipt: bytes = b"",
        time: datetime | None = None,
    ) -> LogEntry:
        """The asker's outcome of one query to ``to_country``, with the peer's signed receipt
        (empty when the peer refused or was unavailable)."""
        fields = {
            "request_id": request_id, "from": from_country, "to": to_country, "status": status,
            "hits": hits, "possible": possible, "no_hits": no_hits, "receipt": b64(receipt),
        }  # fmt: skip
        return cls("receipt", fields, time or now())

    @classmethod
    def refusal(
        cls, statement: QueryStatement, reason: str, *, time: datetime | None = None
    ) -> LogEntry:
        """A node refused ``statement`` (policy, quota, identity); ``reason`` is a short code."""
        return cls("refusal", {**_query_fields(statement), "reason": reason}, time or now())

    @classmethod
    def quota_exhausted(
        cls, request_id: str, peer: str, *, items: int, used: int, quota: int,
        time: datetime | None = None,
    ) -> LogEntry:  # fmt: skip
        """A request from ``peer`` would exceed its items-per-day quota."""
        fields = {"request_id": request_id, "peer": peer, "items": items, "used": used,
                  "quota": quota}  # fmt: skip
        return cls("quota_exhausted", fields, time or now())

    @classmethod
    def compat_setup(
        cls, peer: str, *, epoch_id: str, version: int, inputs: int, fpr: float,
        time: datetime | None = None,
    ) -> LogEntry:  # fmt: skip
        """The node sent ``peer`` the stock openmined setup (a filter of its whole set) of
        index ``version``; ``fpr`` is kept as its ``repr`` (entries hold no floats)."""
        fields = {"peer": peer, "epoch_id": epoch_id, "version": version, "inputs": inputs,
                  "fpr": repr(fpr)}  # fmt: skip
        return cls("compat_setup", fields, time or now())

    @classmethod
    def key_rotation(cls, key: str, key_id: str, *, time: datetime | None = None) -> LogEntry:
        """A key (``"epoch"``, ``"audit"``, ``"tls"``) was rotated to ``key_id``."""
        return cls("key_rotation", {"key": key, "key_id": key_id}, time or now())

    @classmethod
    def directory_change(
        cls, version: int, digest: str, *, time: datetime | None = None
    ) -> LogEntry:
        """The node accepted federation directory ``version`` (hex ``digest``)."""
        return cls("directory_change", {"version": version, "digest": digest}, time or now())

    @classmethod
    def followup(
        cls, kind: str, fields: dict[str, Any], *, time: datetime | None = None
    ) -> LogEntry:
        """A ``followup_*`` entry (the kinds and their fields: :mod:`audit.followup`)."""
        if not kind.startswith("followup_"):
            raise VerificationError(f"log entry: {kind!r} is not a follow-up kind")
        return cls(kind, fields, time or now())

    @classmethod
    def heartbeat(cls, *, time: datetime | None = None) -> LogEntry:
        """Nothing happened; the log is alive (keeps checkpoints fresh when idle)."""
        return cls("heartbeat", {}, time or now())
