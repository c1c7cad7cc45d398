"""Builders shared by the audit tests."""

from __future__ import annotations

import itertools
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog, LogEntry, OpeningStore, QueryStatement, commit, sign

_counter = itertools.count()


def make_statement(frm: str = "FR", to: str = "DE", items: int = 2) -> QueryStatement:
    """A statement with a fresh request id and a commitment to made-up identifiers."""
    n = next(_counter)
    ids = [f"v1|MAKE|S{n}-{i}".encode() for i in range(items)]
    return QueryStatement(
        request_id=QueryStatement.new_request_id(),
        from_country=frm,
        to_country=to,
        case_id=f"case-{n % 3}",
        purpose="criminal-investigation",
        legal_basis="art. 3",
        investigator=f"inv-{n % 2}",
        item_count=items,
        commitment=commit(bytes(32), ids),
    )


def fill(log: AuditLog, n: int) -> None:
    """Append ``n`` heartbeat entries."""
    for _ in range(n):
        log.append(LogEntry.heartbeat())


def run_queries(
    fr: AuditLog,
    de: AuditLog,
    fr_key: Ed25519PrivateKey,
    openings: OpeningStore,
    n: int,
    *,
    refuse_every: int = 0,
) -> list[str]:
    """Simulate ``n`` queries FR -> DE through both logs, as asker and node do; return ids."""
    ids = []
    for k in range(n):
        rid = QueryStatement.new_request_id()
        idents = [f"v1|MAKE|SER{k}".encode(), f"v1|SER{k}".encode()]
        st = replace(make_statement("FR", "DE"), request_id=rid,
                     commitment=openings.create(rid, idents))  # fmt: skip
        fr.append(LogEntry.query_sent(st))
        if refuse_every and k % refuse_every == refuse_every - 1:
            de.append(LogEntry.refusal(st, "QuotaExceededError"))
            fr.append(LogEntry.receipt(rid, "FR", "DE", status="refused"))
        else:
            index = de.append(LogEntry.query_received(st, sign(st.canonical(), fr_key)))
            receipt = de.receipt(index, rid)
            fr.append(LogEntry.receipt(rid, "FR", "DE", status="answered", no_hits=2,
                                       receipt=receipt))  # fmt: skip
        ids.append(rid)
    return ids


def cosign_both(fr: AuditLog, de: AuditLog) -> None:
    """Each log signs a checkpoint and the other cosigns it."""
    for log, witness in ((de, fr), (fr, de)):
        note = log.checkpoint()
        proof = log.consistency_proof(witness.cosigned_size(log.origin))
        log.add_cosignature(witness.cosign(note, log.vkey, proof), witness.cosigner_vkey)
