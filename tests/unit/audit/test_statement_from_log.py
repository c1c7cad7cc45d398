"""A statement's signature can be checked from the answering node's log entry alone."""

from __future__ import annotations

import pytest
from audit_helpers import make_statement
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.entries import LogEntry
from audit.statements import sign, verify
from fedlookup.errors import VerificationError


def test_a_received_statement_verifies_from_its_entry() -> None:
    key = Ed25519PrivateKey.generate()
    statement = make_statement()
    signature = sign(statement.canonical(), key)
    logged = LogEntry.parse(LogEntry.query_received(statement, signature).canonical())
    rebuilt, sig = logged.signed_statement()
    assert rebuilt.canonical() == statement.canonical()
    verify(rebuilt.canonical(), sig, key.public_key())
    with pytest.raises(VerificationError):  # another member's key
        verify(rebuilt.canonical(), sig, Ed25519PrivateKey.generate().public_key())


def test_an_edited_entry_no_longer_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    statement = make_statement()
    entry = LogEntry.query_received(statement, sign(statement.canonical(), key))
    edited = LogEntry(entry.kind, {**entry.fields, "purpose": "something else"}, entry.time)
    rebuilt, sig = edited.signed_statement()
    with pytest.raises(VerificationError):
        verify(rebuilt.canonical(), sig, key.public_key())


def test_only_received_queries_record_a_signed_statement() -> None:
    with pytest.raises(VerificationError, match="query_sent"):
        LogEntry.query_sent(make_statement()).signed_statement()


def test_an_entry_written_before_signed_at_still_parses() -> None:
    key = Ed25519PrivateKey.generate()
    statement = make_statement()
    entry = LogEntry.query_received(statement, sign(statement.canonical(), key))
    older = LogEntry(
        entry.kind, {k: v for k, v in entry.fields.items() if k != "signed_at"}, entry.time
    )
    assert LogEntry.parse(older.canonical()).get("signed_at") is None
    with pytest.raises(VerificationError, match="before statement times"):
        older.signed_statement()
