"""Follow-up statements and the ``followup_*`` audit entry kinds.

A follow-up is the "step 2" after a hit: the asking country asks the owner of a follow-up
reference for the record's core data. The request travels as a :class:`FollowUpStatement`,
canonical JSON signed with the asker's audit key (the same encoding and signature as a
query statement, in its own signature domain ``fedlookup.followup-statement``). It names
the reference, never a serial.

Both ends log the exchange (:data:`FOLLOWUP_KINDS`, merged into
:data:`audit.entries.KIND_FIELDS`):

===================== ========== =====================================================
kind                  log        when
===================== ========== =====================================================
``followup_sent``     requester  before the statement leaves
``followup_received`` owner      the owner accepted and queued it (with the signature)
``followup_refusal``  owner      the owner refused it at the door (identity, address)
``followup_receipt``  requester  the owner acknowledged it (deadline)
``followup_decision`` owner      released (fields named, values never logged) or refused
``followup_answer``   requester  the requester received the decision
``followup_purge``    requester  released data deleted after its retention period
===================== ========== =====================================================

Example::

    s = FollowUpStatement.create("DE", "FR", "FR-0123-4567-89AB-CDEF", case_id="C-1",
                                 purpose="trafficking", legal_basis="art. 12",
                                 investigator="ida")
    assert FollowUpStatement.parse(s.canonical()) == s
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit.canonical import canonical_bytes, format_time, parse_canonical, parse_time
from audit.statements import check_keys, now, text_field
from fedlookup.errors import VerificationError

__all__ = [
    "FOLLOWUP_FIELDS",
    "FOLLOWUP_KINDS",
    "FOLLOWUP_STATEMENT_TYPE",
    "FollowUpStatement",
    "field_list",
]

FOLLOWUP_STATEMENT_TYPE = "fedlookup.followup-statement"

#: Fields a liaison officer may release, in the order they are shown.
FOLLOWUP_FIELDS = ("make", "model", "caliber", "serial", "category", "dates", "contact", "note")


def field_list(names: Iterable[str]) -> str:
    """Released field names as the logs hold them: comma-separated, in canonical order
    (so both ends log the same text whatever order the values travelled in)."""
    chosen = set(names)
    return ",".join(f for f in FOLLOWUP_FIELDS if f in chosen)


_S = "str"
_REQUEST = {
    "request_id": _S, "from": _S, "to": _S, "reference": _S, "case": _S, "purpose": _S,
    "legal_basis": _S, "investigator": _S,
}  # fmt: skip
#: Field name -> type for each ``followup_*`` entry kind.
FOLLOWUP_KINDS: dict[str, dict[str, str]] = {
    "followup_sent": _REQUEST,
    "followup_received": {**_REQUEST, "statement_sig": "b64", "deadline": _S},
    "followup_refusal": {**_REQUEST, "reason": _S},
    "followup_receipt": {"request_id": _S, "from": _S, "to": _S, "deadline": _S, "status": _S},
    "followup_decision": {
        "request_id": _S,
        "from": _S,
        "to": _S,
        "decision": _S,
        "fields": _S,
        "reason": _S,
        "decided_by": _S,
    },
    "followup_answer": {
        "request_id": _S,
        "from": _S,
        "to": _S,
        "status": _S,
        "fields": _S,
        "reason": _S,
    },
    "followup_purge": {"request_id": _S, "to": _S, "fields": _S},
}


@dataclass(frozen=True)
class FollowUpStatement:
    """What the requesting node states, and signs, about one follow-up request.

    Every text field is at most 256 characters (parsing refuses longer ones).
    """

    request_id: str
    from_country: str
    to_country: str
    reference: str
    case_id: str
    purpose: str
    legal_basis: str
    investigator: str
    timestamp: datetime = field(default_factory=now)

    @classmethod
    def create(
        cls,
        from_country: str,
        to_country: str,
        reference: str,
        *,
        case_id: str,
        purpose: str,
        legal_basis: str,
        investigator: str,
    ) -> FollowUpStatement:
        """A new statement with a fresh random request id, checked like a parsed one.

        Raises:
            VerificationError: a field is empty where it may not be, or too long.
        """
        made = cls(uuid.uuid4().hex, from_country, to_country, reference, case_id, purpose,
                   legal_basis, investigator)  # fmt: skip
        return cls.parse(made.canonical())

    def to_json(self) -> dict[str, Any]:
        """The statement as a JSON object (canonical field names)."""
        return {
            "type": FOLLOWUP_STATEMENT_TYPE,
            "v": 1,
            "request_id": self.request_id,
            "from": self.from_country,
            "to": self.to_country,
            "reference": self.reference,
            "case": self.case_id,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "investigator": self.investigator,
            "time": format_time(self.timestamp),
        }

    def entry_fields(self) -> dict[str, Any]:
        """The request's fields as the ``followup_*`` entries hold them."""
        obj = self.to_json()
        return {k: obj[k] for k in _REQUEST}

    def canonical(self) -> bytes:
        """The one byte form that is signed and logged."""
        return canonical_bytes(self.to_json())

    @classmethod
    def parse(cls, data: bytes) -> FollowUpStatement:
        """Parse canonical statement bytes.

        Raises:
            VerificationError: not a canonical, complete, version-1 follow-up statement, or
                a field empty where it may not be or longer than 256 characters.
        """
        what = "follow-up statement"
        obj = parse_canonical(data, what)
        check_keys(obj, set(cls("", "", "", "", "", "", "", "").to_json()), what)
        if obj["type"] != FOLLOWUP_STATEMENT_TYPE or obj["v"] != 1:
            raise VerificationError(f"{what}: unsupported type or version")
        return cls(
            request_id=text_field(obj, "request_id", what, empty=False),
            from_country=text_field(obj, "from", what, empty=False),
            to_country=text_field(obj, "to", what, empty=False),
            reference=text_field(obj, "reference", what, empty=False),
            case_id=text_field(obj, "case", what, empty=False),
            purpose=text_field(obj, "purpose", what, empty=False),
            legal_basis=text_field(obj, "legal_basis", what),
            investigator=text_field(obj, "investigator", what, empty=False),
            timestamp=parse_time(obj["time"], f"{what}: time"),
        )
