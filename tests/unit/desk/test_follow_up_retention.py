"""Requester-side follow-up rows: the view (overdue) and the retention purge, on SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from audit.entries import LogEntry
from node.desk.accounts import add_user
from node.desk.db import DeskDatabase
from node.desk.follow_ups import FollowUpRequest, follow_up_view, purge_expired

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class _Sender:
    """Records what the real sender would log."""

    def __init__(self) -> None:
        self.purges: list[tuple[str, str, list[str]]] = []

    def record_purge(self, owner: str, request_id: str, fields: list[str]) -> None:
        self.purges.append((owner, request_id, fields))
        LogEntry.followup("followup_purge", {"request_id": request_id, "to": owner,
                                             "fields": ",".join(fields)})  # fmt: skip


def _row(rid: str, account: int, *, answered: datetime | None, status: str) -> FollowUpRequest:
    return FollowUpRequest(
        id=rid, account_id=account, reference="FR-0101-0101-0101-0101", to_country="FR",
        case_id="C", purpose="p", status=status, deadline=NOW - timedelta(hours=1),
        released=json.dumps({"make": "Glock", "serial": "GX1"} if status == "released" else {}),
        answered_at=answered,
    )  # fmt: skip


def test_purge_after_retention_only_and_logged(tmp_path: Path) -> None:
    db = DeskDatabase(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    sender = _Sender()
    with db.session() as s:
        account, _, _ = add_user(s, "ida", "investigator", password="x" * 16)
        assert account.id is not None
        s.add(_row("old", account.id, answered=NOW - timedelta(days=31), status="released"))
        s.add(_row("new", account.id, answered=NOW - timedelta(days=29), status="released"))
        s.add(_row("open", account.id, answered=None, status="pending"))
    with db.session() as s:
        assert purge_expired(s, sender, 30, NOW) == 1  # type: ignore[arg-type]
    with db.session() as s:
        old, new = s.get(FollowUpRequest, "old"), s.get(FollowUpRequest, "new")
        assert old is not None
        assert new is not None
        assert follow_up_view(old, NOW)["released"] == {}
        assert follow_up_view(old, NOW)["purged"] is True
        assert follow_up_view(new, NOW)["released"] == {"make": "Glock", "serial": "GX1"}
        pending = s.get(FollowUpRequest, "open")
        assert pending is not None
        assert follow_up_view(pending, NOW)["overdue"] is True
        assert follow_up_view(new, NOW)["overdue"] is False  # decided is never overdue
    assert sender.purges == [("FR", "old", ["make", "serial"])]
    with db.session() as s:
        assert purge_expired(s, sender, 30, NOW) == 0  # type: ignore[arg-type]
    db.close()
