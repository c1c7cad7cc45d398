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
    # signed_at: the statement's own time, so its signature can be checked from the entry.
    "query_received": {**_QUERY, "statement_sig": _B, "signed_at": _S},
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
    # A refused request whose statement was not authenticated: only the caller's certificate
    # country is a fact; the statement is kept as a hash, never as the fields it claims.
    "refused_request": {"peer": _S, "reason": _S, "statement_sha256": _S},
    # Refusals of one peer past the per-interval bound, counted instead of logged one by one.
    "refusals_aggregated": {"peer": _S, "count": _I, "reasons": _S, "since": _S},
    "compat_setup": {"peer": _S, "epoch_id": _S, "version": _I, "inputs": _I, "fpr": _S},
    "key_rotation": {"key": _S, "key_id": _S},
    "directory_change": {"version": _I, "digest": _S},
    "heartbeat": {},
    **FOLLOWUP_KINDS,  # follow-up requests: audit.followup
}
RECEIPT_STATUSES = ("answered", "refused", "unavailable", "error")
#: Fields added after logs were first written: entries written before lack them.
OPTIONAL_FIELDS: dict[str, set[str]] = {"query_received": {"signed_at"}}


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
        optional = OPTIONAL_FIELDS.get(kind, set())
        check_keys(fields, set(schema) - (optional - set(fields)), f"{what} ({kind})")
        for name, typ in schema.items():
            if name not in fields:
                continue  # an optional field of an older entry
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
        fields = {
            **_query_fields(statement),
            "statement_sig": b64(signature),
            "signed_at": format_time(statement.timestamp),
        }
        return cls("query_received", fields, time or now())

    def signed_statement(self) -> tuple[QueryStatement, bytes]:
        """The statement a ``query_received`` entry records, rebuilt byte for byte, and the
        asker's signature over its canonical bytes: verifiable from the log alone with the
        asker's audit key (``audit.statements.verify(st.canonical(), sig, key)``).

        Raises:
            VerificationError: not a ``query_received`` entry, or one written before
                ``signed_at`` was recorded.
        """
        if self.kind != "query_received":
            raise VerificationError(f"a {self.kind} entry records no signed statement")
        if "signed_at" not in self.fields:
            raise VerificationError("entry written before statement times were recorded")
        f = self.fields
        statement = QueryStatement(
            request_id=f["request_id"], from_country=f["from"], to_country=f["to"],
            case_id=f["case"], purpose=f["purpose"], legal_basis=f["legal_basis"],
            investigator=f["investigator"], item_count=f["items"],
            commitment=unb64(f["commitment"], "commitment"),
            timestamp=parse_time(f["signed_at"], "signed_at"),
        )  # fmt: skip
        return statement, unb64(f["statement_sig"], "statement_sig")

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
    def refused_request(
        cls, peer: str, reason: str, statement_sha256: str, *, time: datetime | None = None
    ) -> LogEntry:
        """A request from ``peer`` (its certificate's country) was refused before its statement
        was authenticated; the statement is recorded only as the hex SHA-256 of its bytes."""
        fields = {"peer": peer, "reason": reason, "statement_sha256": statement_sha256}
        return cls("refused_request", fields, time or now())

    @classmethod
    def refusals_aggregated(
        cls, peer: str, count: int, reasons: str, since: datetime, *, time: datetime | None = None
    ) -> LogEntry:
        """``count`` more refusals of ``peer`` since ``since`` than the bound logs one by one;
        ``reasons`` is ``Reason=n,...`` in name order."""
        fields = {"peer": peer, "count": count, "reasons": reasons, "since": format_time(since)}
        return cls("refusals_aggregated", fields, time or now())

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
