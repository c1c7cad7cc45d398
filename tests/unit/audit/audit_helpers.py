"""Builders shared by the audit tests."""

from __future__ import annotations

import itertools

from audit import AuditLog, LogEntry, QueryStatement, commit

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
