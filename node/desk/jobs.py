"""Checks as rows of a queue, and the one worker that runs them through the node.

A check submitted at any replica is a :class:`~node.desk.models.DeskCheck` row: ``queued``,
or ``awaiting_approval`` when it has more firearms than ``approval_above``. The desk that
holds the node's desk lock runs a :class:`CheckWorker`: it claims queued rows one at a time
(an ``UPDATE ... WHERE status = 'queued'`` that only one replica can win), runs them through
:class:`~node.desk.asking.Asker`, writes progress while peers answer, and stores the
``fedlookup.check/v1`` document. A replica without the lock only queues.

Budgets: an account may submit ``items_per_day`` firearms per UTC day (rejected checks do
not count), so one account cannot spend the country's quota at its peers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, func, select

from fedlookup.errors import FedlookupError
from node.desk.accounts import record
from node.desk.asking import Asker, firearm_items
from node.desk.db import DeskDatabase
from node.desk.models import Account, CheckStatus, DeskCheck, utcnow
from node.desk.settings import DeskSettings

__all__ = ["BudgetExceededError", "CheckQueue", "CheckWorker"]

_log = logging.getLogger("fedlookup.desk")
_PROGRESS_EVERY_S = 0.5


class BudgetExceededError(FedlookupError):
    """The account's daily item budget would be exceeded."""


class CheckQueue:
    """Submits, approves and waits for checks (any replica).

    Args:
        db: the desk's database.
        settings: budgets and the approval threshold.
    """

    def __init__(self, db: DeskDatabase, settings: DeskSettings) -> None:
        self.db = db
        self.settings = settings
        self.wake = threading.Event()
        # Checks submitted in this process, set when this process's worker finishes them.
        self._finished: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def used_today(self, account: Account) -> int:
        """Firearms ``account`` submitted since 00:00 UTC (rejected checks excepted)."""
        midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        with self.db.session() as db:
            total = db.exec(
                select(func.coalesce(func.sum(DeskCheck.items), 0)).where(
                    DeskCheck.account_id == account.id,
                    col(DeskCheck.created_at) >= midnight,
                    DeskCheck.status != CheckStatus.REJECTED.value,
                )
            ).one()
        return int(total)

    def submit(
        self,
        account: Account,
        *,
        case_id: str,
        purpose: str,
        legal_basis: str,
        firearms: list[tuple[str, str]],
        source: str,
    ) -> DeskCheck:
        """Queue a check (validated by the caller), or hold it for a supervisor.

        Raises:
            BudgetExceededError: the account's budget for today does not cover it.
        """
        used = self.used_today(account)
        if used + len(firearms) > self.settings.items_per_day:
            left = max(0, self.settings.items_per_day - used)
            raise BudgetExceededError(
                f"daily budget: {left} of {self.settings.items_per_day} firearms left today, "
                f"this check has {len(firearms)}"
            )
        large = len(firearms) > self.settings.approval_above
        status = CheckStatus.AWAITING_APPROVAL if large else CheckStatus.QUEUED
        assert account.id is not None
        check = DeskCheck(
            id=uuid.uuid4().hex,
            account_id=account.id,
            case_id=case_id,
            purpose=purpose,
            legal_basis=legal_basis,
            status=status.value,
            items=len(firearms),
            firearms=json.dumps(firearms),
            source=source,
        )
        with self.db.session() as db:
            db.add(check)
            detail = f"{check.id} items={check.items}"
            record(db, "check_submitted", account=account.name, detail=detail)
        with self._lock:
            self._finished[check.id] = threading.Event()
        self.wake.set()
        return check

    def decide(self, check_id: str, supervisor: Account, *, approve: bool) -> DeskCheck:
        """Approve (queue) or reject a check waiting for approval.

        Raises:
            LookupError: no such check waiting for approval.
        """
        new = CheckStatus.QUEUED if approve else CheckStatus.REJECTED
        with self.db.session() as db:
            check = db.get(DeskCheck, check_id)
            if check is None or check.status != CheckStatus.AWAITING_APPROVAL.value:
                raise LookupError(check_id)
            check.status = new.value
            check.approved_by = supervisor.id
            if not approve:
                check.finished_at = utcnow()
            db.add(check)
            kind = "check_approved" if approve else "check_rejected"
            record(db, kind, account=supervisor.name, actor=supervisor.name, detail=check_id)
        self.wake.set()
        return check

    def get(self, check_id: str) -> DeskCheck | None:
        """The check row, or ``None``."""
        with self.db.session() as db:
            return db.get(DeskCheck, check_id)

    def wait(self, check_id: str, timeout: float) -> DeskCheck | None:
        """Wait up to ``timeout`` seconds for a check to finish; return its latest row."""
        deadline = time.monotonic() + timeout
        with self._lock:
            finished = self._finished.get(check_id)
        try:
            while True:
                check = self.get(check_id)
                left = deadline - time.monotonic()
                if check is None or check.status in _FINAL or left <= 0:
                    return check
                # Woken at once when this process's worker finishes the check; a check
                # run by another replica's worker is seen at the next poll.
                if finished is not None:
                    finished.wait(min(left, 0.2))
                else:
                    time.sleep(min(left, 0.2))
        finally:
            with self._lock:
                self._finished.pop(check_id, None)

    def fail_interrupted(self) -> int:
        """Mark checks left ``running`` by a desk that stopped as failed (not re-run: their
        queries may already have been sent and logged). Call before starting a worker.

        Returns:
            How many checks were marked.
        """
        with self.db.session() as db:
            result = db.execute(
                update(DeskCheck)
                .where(col(DeskCheck.status) == CheckStatus.RUNNING.value)
                .values(
                    status=CheckStatus.FAILED.value,
                    finished_at=utcnow(),
                    error="interrupted: the desk stopped while this check ran",
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def notify_finished(self, check_id: str) -> None:
        """Wake this process's waiters of ``check_id`` (the worker calls it)."""
        with self._lock:
            finished = self._finished.pop(check_id, None)
        if finished is not None:
            finished.set()


_FINAL = {CheckStatus.DONE.value, CheckStatus.FAILED.value, CheckStatus.REJECTED.value}


class CheckWorker(threading.Thread):
    """Runs queued checks one at a time through the node's :class:`Asker`.

    Args:
        queue: the queue it serves (shares its database and wake event).
        asker: the node's hit check.
        poll_s: how often the queue is polled for checks queued at other replicas.
    """

    def __init__(self, queue: CheckQueue, asker: Asker, *, poll_s: float = 0.5) -> None:
        super().__init__(name="desk-checks", daemon=True)
        self.queue = queue
        self.asker = asker
        self.poll_s = poll_s
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Finish the running check, then stop."""
        self._stopping.set()
        self.queue.wake.set()

    def run(self) -> None:
        """Claim and run checks until stopped; no single check or outage ends the loop."""
        while not self._stopping.is_set():
            self.queue.wake.clear()  # before claiming, so no submission is missed
            try:
                check = self._claim()
            except SQLAlchemyError:
                _log.exception("cannot read the check queue", extra={"event": "queue_error"})
                self._stopping.wait(max(1.0, self.poll_s))
                continue
            if check is None:
                self.queue.wake.wait(self.poll_s)
                continue
            try:
                self._run(check)
            except Exception:  # the worker outlives any one check; the reason goes to the log
                _log.exception("check crashed", extra={"event": "check_crashed", "check": check.id})
                self._set(check.id, status=CheckStatus.FAILED.value, now=utcnow(),
                          error="internal error: see the desk's log")  # fmt: skip
            self.queue.notify_finished(check.id)

    def _claim(self) -> DeskCheck | None:
        db = self.queue.db
        with db.session() as s:
            candidate = s.exec(
                select(DeskCheck.id)
                .where(DeskCheck.status == CheckStatus.QUEUED.value)
                .order_by(col(DeskCheck.created_at))
                .limit(1)
            ).first()
            if candidate is None:
                return None
            won = s.execute(
                update(DeskCheck)
                .where(col(DeskCheck.id) == candidate, col(DeskCheck.status) == "queued")
                .values(status=CheckStatus.RUNNING.value)
            )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return self.queue.get(candidate)

    def _run(self, check: DeskCheck) -> None:
        db = self.queue.db
        with db.session() as s:
            account = s.get(Account, check.account_id)
        firearms = [(m, s_) for m, s_ in json.loads(check.firearms)]
        items, errors = firearm_items(firearms, self.asker.rules)
        peers = max(1, len(self.asker.peers))
        done: dict[str, int] = {}
        last = [time.monotonic()]

        def progress(country: str, items_done: int) -> None:
            done[country] = items_done
            if time.monotonic() - last[0] >= _PROGRESS_EVERY_S:
                last[0] = time.monotonic()
                self._set(check.id, done=sum(done.values()) // peers)

        try:
            if account is None or errors:
                raise FedlookupError("the check's account or firearms are no longer valid")
            result = self.asker.run(
                items,
                case_id=check.case_id,
                purpose=check.purpose,
                legal_basis=check.legal_basis,
                pseudonym=account.pseudonym,
                progress=progress,
            )
        except FedlookupError as exc:
            _log.warning("check failed", extra={"event": "check_failed", "check": check.id})
            self._set(check.id, status=CheckStatus.FAILED.value, error=str(exc), now=utcnow())
            return
        document = json.dumps(result.to_json(), sort_keys=True)
        self._set(check.id, status="done", result=document, done=check.items, now=utcnow())
        _log.info(
            "check done",
            extra={"event": "check_done", "check": check.id, "items": check.items,
                   "elapsed_ms": round(result.elapsed_ms, 1)},
        )  # fmt: skip

    def _set(self, check_id: str, *, now: datetime | None = None, **values: object) -> None:
        if now is not None:
            values["finished_at"] = now
        with self.queue.db.session() as s:
            s.execute(update(DeskCheck).where(col(DeskCheck.id) == check_id).values(**values))
