"""The owner's follow-up queue: one SQLite file beside the node, shared by node and desk.

The serving node adds the follow-ups its peers submit (:class:`FollowUpStore.add`) and logs
each decision (:func:`log_decisions`, from its housekeeping tick: the node is the single
writer of its log); the desk's liaison officers list them and decide
(:meth:`FollowUpStore.decide`). The file is ``<data_dir>/followups.sqlite3`` (0600, WAL),
so two processes on one machine share it safely.

Example::

    store = FollowUpStore(config.layout.followups)
    for item in store.incoming():
        print(item.request_id, item.status, item.overdue())
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from audit.canonical import format_time, parse_time
from audit.entries import LogEntry
from audit.followup import field_list
from federation.followup import IncomingFollowUp
from fedlookup.errors import InputError
from registry_adapter import open_registry
from registry_adapter.mapping import ColumnMapping

__all__ = ["FollowUpStore", "log_decisions", "record_data"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incoming (
    request_id TEXT PRIMARY KEY, from_country TEXT NOT NULL, reference TEXT NOT NULL,
    case_id TEXT NOT NULL, purpose TEXT NOT NULL, legal_basis TEXT NOT NULL,
    investigator TEXT NOT NULL, received_at TEXT NOT NULL, deadline TEXT NOT NULL,
    record_id TEXT, status TEXT NOT NULL, released TEXT NOT NULL, reason TEXT NOT NULL,
    decided_by TEXT NOT NULL, logged INTEGER NOT NULL DEFAULT 0
)
"""
_COLUMNS = (
    "request_id", "from_country", "reference", "case_id", "purpose", "legal_basis",
    "investigator", "received_at", "deadline", "record_id", "status", "released", "reason",
    "decided_by",
)  # fmt: skip
_SELECT = (
    "SELECT request_id, from_country, reference, case_id, purpose, legal_basis, investigator,"
    " received_at, deadline, record_id, status, released, reason, decided_by FROM incoming"
)
_INSERT = (
    "INSERT OR IGNORE INTO incoming (request_id, from_country, reference, case_id, purpose,"
    " legal_basis, investigator, received_at, deadline, record_id, status, released, reason,"
    " decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class FollowUpStore:
    """The queue of follow-ups received from peers (see the module docstring).

    Args:
        path: the SQLite file (created 0600).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            self._local.conn = conn
        with conn:
            yield conn

    def add(self, item: IncomingFollowUp) -> IncomingFollowUp:
        """Queue ``item`` (a request id already queued keeps its first version)."""
        row = _row(item)
        with self._db() as db:
            db.execute(
                _INSERT,
                row,
            )
        found = self.get(item.request_id)
        assert found is not None
        return found

    def get(self, request_id: str) -> IncomingFollowUp | None:
        """The follow-up ``request_id``, or ``None``."""
        with self._db() as db:
            r = db.execute(_SELECT + " WHERE request_id = ?", (request_id,)).fetchone()
        return _item(r) if r else None

    def incoming(self) -> list[IncomingFollowUp]:
        """Every follow-up, pending first, then by deadline."""
        with self._db() as db:
            rows = db.execute(_SELECT + " ORDER BY status != 'pending', deadline").fetchall()
        return [_item(r) for r in rows]

    def decide(self, decided: IncomingFollowUp) -> IncomingFollowUp:
        """Record a decision on a pending follow-up (once: a decided one stays decided).

        Raises:
            InputError: no such follow-up, or it was decided already.
        """
        with self._db() as db:
            cur = db.execute(
                "UPDATE incoming SET status = ?, released = ?, reason = ?, decided_by = ? "
                "WHERE request_id = ? AND status = 'pending'",
                (decided.status, json.dumps(decided.released), decided.reason,
                 decided.decided_by, decided.request_id),
            )  # fmt: skip
        if cur.rowcount != 1:
            raise InputError("no such pending follow-up", field="id")
        found = self.get(decided.request_id)
        assert found is not None
        return found

    def undecided_log(self) -> list[IncomingFollowUp]:
        """Decided follow-ups whose decision is not yet in the node's log."""
        with self._db() as db:
            rows = db.execute(_SELECT + " WHERE status != 'pending' AND logged = 0").fetchall()
        return [_item(r) for r in rows]

    def mark_logged(self, request_id: str) -> None:
        """Note that the decision on ``request_id`` is in the node's log."""
        with self._db() as db:
            db.execute("UPDATE incoming SET logged = 1 WHERE request_id = ?", (request_id,))

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def log_decisions(store: FollowUpStore, country: str, append: Callable[[LogEntry], object]) -> int:
    """Append ``followup_decision`` for every decision not yet logged; returns how many.

    The released field *names* are logged, never their values.
    """
    done = 0
    for item in store.undecided_log():
        fields = {
            "request_id": item.request_id, "from": country, "to": item.from_country,
            "decision": item.status, "fields": field_list(item.released), "reason": item.reason,
            "decided_by": item.decided_by,
        }  # fmt: skip
        append(LogEntry.followup("followup_decision", fields))
        store.mark_logged(item.request_id)
        done += 1
    return done


def record_data(
    url: str, mapping: ColumnMapping | None, record_id: str, *, contact: str = ""
) -> dict[str, str]:
    """The core data a liaison officer may release of one record (field -> value).

    Reads the registry once, streaming (a decision is rare next to a check; a registry that
    serves thousands of follow-ups a day would want an index on ``record_id``).

    Raises:
        InputError: no record ``record_id`` (removed since its reference was issued).
        RegistryUnavailableError: the registry cannot be read.
    """
    with open_registry(url, mapping) as registry:
        for record in registry.iter_records():
            if record.record_id == record_id:
                return {
                    "make": record.make, "model": record.model, "caliber": record.caliber,
                    "serial": record.serial, "category": str(record.category),
                    "dates": f"recorded {record.recorded_at.date().isoformat()}",
                    "contact": contact,
                }  # fmt: skip
    raise InputError("the record behind this reference is no longer held", field="reference")


def _row(item: IncomingFollowUp) -> tuple[object, ...]:
    return (
        item.request_id, item.from_country, item.reference, item.case_id, item.purpose,
        item.legal_basis, item.investigator, format_time(item.received_at),
        format_time(item.deadline), item.record_id, item.status, json.dumps(item.released),
        item.reason, item.decided_by,
    )  # fmt: skip


def _item(r: tuple[object, ...]) -> IncomingFollowUp:
    d = dict(zip(_COLUMNS, r, strict=True))
    received: datetime = parse_time(d["received_at"], "followups: received_at")
    base = IncomingFollowUp(
        request_id=str(d["request_id"]), from_country=str(d["from_country"]),
        reference=str(d["reference"]), case_id=str(d["case_id"]), purpose=str(d["purpose"]),
        legal_basis=str(d["legal_basis"]), investigator=str(d["investigator"]),
        received_at=received, deadline=parse_time(d["deadline"], "followups: deadline"),
    )  # fmt: skip
    return replace(
        base,
        record_id=None if d["record_id"] is None else str(d["record_id"]),
        status=str(d["status"]),
        released=json.loads(str(d["released"])),
        reason=str(d["reason"]),
        decided_by=str(d["decided_by"]),
    )
