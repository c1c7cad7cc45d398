"""The check queue and its worker on a real database (SQLite, and PostgreSQL when named),
with an in-memory asker standing in for the node's hit check."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from federation.hitcheck_types import CheckItem, CheckResult, CountryAnswer, Outcome, PeerReport
from fedlookup.errors import PeerUnavailableError
from node.desk.accounts import add_user
from node.desk.db import DeskDatabase
from node.desk.jobs import CheckQueue, CheckWorker
from node.desk.settings import DeskSettings
from registry_adapter.identifier_versions import IdentifierRules


class MemoryAsker:
    """Answers 'hit' in FR for serials starting with HIT, no-hit otherwise."""

    def __init__(self, fail: bool = False) -> None:
        self.peers = ["FR"]
        self.rules = IdentifierRules()  # the current identifier version, as a default node's
        self.fail = fail
        self.seen: list[tuple[str, int]] = []

    def run(
        self,
        items: Sequence[CheckItem],
        *,
        case_id: str,
        purpose: str,
        legal_basis: str,
        pseudonym: str,
        progress: Callable[[str, int], None] | None = None,
    ) -> CheckResult:
        if self.fail:
            raise PeerUnavailableError("FR", "down")
        self.seen.append((pseudonym, len(items)))
        if progress is not None:
            progress("FR", len(items))
        answers = tuple(
            {"FR": CountryAnswer(Outcome.HIT if i.serial.startswith("HIT") else Outcome.NO_HIT)}
            for i in items
        )
        return CheckResult(tuple(items), answers, {"FR": PeerReport("FR", "answered")})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeskDatabase]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    database = DeskDatabase(url)
    yield database
    database.close()


def _worker(db: DeskDatabase, asker: MemoryAsker) -> tuple[CheckQueue, CheckWorker]:
    queue = CheckQueue(db, DeskSettings(approval_above=3))
    worker = CheckWorker(queue, asker, poll_s=0.05)  # type: ignore[arg-type]
    worker.start()
    return queue, worker


def test_worker_runs_queued_checks_under_the_account_name(db: DeskDatabase) -> None:
    with db.session() as s:
        ida, _, _ = add_user(s, "ida", "investigator", password="a long enough password")
    asker = MemoryAsker()
    queue, worker = _worker(db, asker)
    try:
        check = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                             firearms=[("Glock", "HIT123"), ("CZ", "ABC999")])  # fmt: skip
        done = queue.wait(check.id, 10)
        held = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                            firearms=[("Glock", "HIT123")] * 4)  # fmt: skip
        assert queue.wait(held.id, 0.3).status == "awaiting_approval"  # type: ignore[union-attr]
        queue.decide(held.id, ida, approve=True)
        approved = queue.wait(held.id, 10)
    finally:
        worker.stop()
        worker.join(5)
    assert done is not None
    assert done.status == "done"
    assert done.done == 2
    document = json.loads(done.result or "")
    assert [r["countries"]["FR"]["outcome"] for r in document["results"]] == ["hit", "no-hit"]
    assert approved is not None
    assert approved.status == "done"
    assert asker.seen == [("ida", 2), ("ida", 4)]


def test_a_failed_check_is_failed_with_its_reason(db: DeskDatabase) -> None:
    with db.session() as s:
        ida, _, _ = add_user(s, "ida", "investigator", password="a long enough password")
    queue, worker = _worker(db, MemoryAsker(fail=True))
    try:
        check = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                             firearms=[("Glock", "HIT123")])  # fmt: skip
        failed = queue.wait(check.id, 10)
    finally:
        worker.stop()
        worker.join(5)
    assert failed is not None
    assert failed.status == "failed"
    assert "peer FR: down" in failed.error


def test_a_crashing_check_fails_and_the_worker_goes_on(db: DeskDatabase) -> None:
    with db.session() as s:
        ida, _, _ = add_user(s, "ida", "investigator", password="a long enough password")
    asker = MemoryAsker()
    original = asker.run
    calls = iter([True, False])

    def sometimes(*args: object, **kwargs: object) -> CheckResult:
        if next(calls):
            raise RuntimeError("unexpected")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    asker.run = sometimes  # type: ignore[method-assign]
    queue, worker = _worker(db, asker)
    try:
        first = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                             firearms=[("Glock", "HIT123")])  # fmt: skip
        crashed = queue.wait(first.id, 10)
        second = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                              firearms=[("Glock", "HIT123")])  # fmt: skip
        fine = queue.wait(second.id, 10)
    finally:
        worker.stop()
        worker.join(5)
    assert crashed is not None
    assert (crashed.status, crashed.error) == ("failed", "internal error: see the desk's log")
    assert fine is not None
    assert fine.status == "done"


def test_checks_left_running_by_a_stopped_desk_are_failed(db: DeskDatabase) -> None:
    with db.session() as s:
        ida, _, _ = add_user(s, "ida", "investigator", password="a long enough password")
    queue = CheckQueue(db, DeskSettings())
    check = queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                         firearms=[("Glock", "HIT123")])  # fmt: skip
    worker = CheckWorker(queue, MemoryAsker())  # type: ignore[arg-type]
    assert worker._claim() is not None  # claimed, then the desk "stops"
    assert queue.fail_interrupted() == 1
    left = queue.get(check.id)
    assert left is not None
    assert left.status == "failed"
    assert left.error.startswith("interrupted")


def test_two_workers_never_run_one_check_twice(db: DeskDatabase) -> None:
    with db.session() as s:
        ida, _, _ = add_user(s, "ida", "investigator", password="a long enough password")
    one, two = MemoryAsker(), MemoryAsker()
    queue = CheckQueue(db, DeskSettings(approval_above=100))
    ids = [queue.submit(ida, case_id="C", purpose="p", legal_basis="", source="t",
                        firearms=[("Glock", f"HIT{i:03d}")]).id for i in range(20)]  # fmt: skip
    workers = [CheckWorker(queue, a, poll_s=0.01) for a in (one, two)]  # type: ignore[arg-type]
    for w in workers:
        w.start()
    try:
        finished = [queue.wait(i, 20) for i in ids]
    finally:
        for w in workers:
            w.stop()
            w.join(5)
    assert all(c is not None and c.status == "done" for c in finished)
    assert len(one.seen) + len(two.seen) == 20
