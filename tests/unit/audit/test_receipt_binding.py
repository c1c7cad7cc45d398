"""Receipts bind the answer: SHA-256 of request and response, epoch and index version."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from audit_helpers import make_statement
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog, LogEntry, log_vkey
from audit.receipts import verify_receipt
from audit.statements import Receipt, answer_binding, sign
from fedlookup.errors import VerificationError

OpenLog = Callable[..., AuditLog]
ANSWER = answer_binding(b"request", b"response", "20260101T000000Z-00000000", 7)


def _receipt(open_log: OpenLog, keys: dict[str, Ed25519PrivateKey], binding: object) -> tuple:
    de = open_log("DE")
    stmt = make_statement()
    index = de.append(LogEntry.query_received(stmt, sign(stmt.canonical(), keys["FR"])))
    data = de.receipt(index, stmt.request_id, binding=binding)  # type: ignore[arg-type]
    public = keys["DE"].public_key()
    return data, public, log_vkey("fedlookup.test/DE", public), stmt


def test_the_bound_answer_verifies_and_any_other_fails(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]
) -> None:
    data, public, vkey, stmt = _receipt(open_log, keys, ANSWER)
    assert verify_receipt(data, public, vkey, stmt, binding=ANSWER).binding == ANSWER
    for other in (
        answer_binding(b"request", b"another response", ANSWER["epoch_id"], 7),
        answer_binding(b"another request", b"response", ANSWER["epoch_id"], 7),
        answer_binding(b"request", b"response", "20260101T000000Z-11111111", 7),
        answer_binding(b"request", b"response", ANSWER["epoch_id"], 8),
    ):
        with pytest.raises(VerificationError, match="binds another"):
            verify_receipt(data, public, vkey, stmt, binding=other)


def test_a_receipt_without_binding_fails_when_one_is_expected(
    open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]
) -> None:
    data, public, vkey, stmt = _receipt(open_log, keys, None)
    assert verify_receipt(data, public, vkey, stmt).binding is None
    with pytest.raises(VerificationError, match="binds another"):
        verify_receipt(data, public, vkey, stmt, binding=ANSWER)


def test_a_malformed_binding_is_refused(keys: dict[str, Ed25519PrivateKey]) -> None:
    from audit.canonical import b64, canonical_bytes

    receipt = Receipt("r", "DE", 0, b"{}", (), "cp", binding={**ANSWER, "extra": 1})
    body = receipt.to_json()
    data = canonical_bytes({"receipt": body, "sig": b64(keys["DE"].sign(canonical_bytes(body)))})
    with pytest.raises(VerificationError, match="binding must hold"):
        Receipt.open(data, keys["DE"].public_key())
    assert json.loads(data)["receipt"]["binding"]["extra"] == 1
