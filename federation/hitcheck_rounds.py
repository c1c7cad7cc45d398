"""The rounds of a hit check: chunks signed, sent and read (for
:class:`federation.hitcheck.HitCheck`).

Each round signs and logs every peer's next chunk with one ``fsync`` before any request
leaves, hashes the items once for all peers, and sends the requests concurrently; reading
starts only once every request has gone, and the outcomes are logged with one more
``fsync``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from federation.evaluation import BlindedQuery
from federation.hitcheck_items import Bounds, Layout, flatten, next_chunk
from federation.hitcheck_read import AnswerReading
from federation.hitcheck_state import _Asked, _fail, _padded, _PeerRun, _report
from federation.hitcheck_types import CheckContext, CheckItem, CountryAnswer
from fedlookup.errors import PeerRejectedError, PeerUnavailableError

__all__ = ["ChunkRounds", "Progress"]

#: ``progress(country, items_done)``: called as each chunk's answer arrives (it is read
#: once every chunk has been sent).
Progress = Callable[[str, int], None]


class ChunkRounds(AnswerReading):
    """The asking half of :class:`~federation.hitcheck.HitCheck` (a base class)."""

    def _rounds(
        self,
        runs: list[_PeerRun],
        items: Sequence[CheckItem],
        context: CheckContext,
        progress: Progress | None,
        deadline: float,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        """Send every chunk to every peer first, then read the answers.

        Reading starts only once every request has gone, so which requests the asker
        sends, and when, never depends on what an answer held: a peer that makes hits fail
        to open (or slow to read) sees the same requests, at the same pace, as without
        hits. Only the peer's own conduct (refusing, not answering) ends its part early.
        """
        asked: list[_Asked] = []
        while True:
            todo = [r for r in runs if r.report is None and not r.stopped and r.next < len(items)]
            if not todo:
                break
            asked += self._ask_round(todo, items, context, progress, deadline, pool)
        self._read_all(asked, deadline, pool)
        for run in runs:
            if run.report is None:
                run.report = _report(run)

    def _ask_round(
        self,
        runs: list[_PeerRun],
        items: Sequence[CheckItem],
        context: CheckContext,
        progress: Progress | None,
        deadline: float,
        pool: ThreadPoolExecutor | None,
    ) -> list[_Asked]:
        """Sign (and log as sent) each peer's next chunk, then send them all concurrently.

        A chunk holds as many whole firearms (each in the form its peer reads) as fit in
        the peer's ``max_items``, fixed before its first request; where a chunk ends
        depends only on the items asked and that limit, never on an answer.
        """
        fitting: list[_PeerRun] = []
        chunks: list[Bounds] = []
        for run in runs:
            try:
                chunks.append(next_chunk(items, run.next, run.max_items, run.speaks, run.country))
                fitting.append(run)
            except PeerRejectedError as exc:
                _fail(run, exc)
        runs = fitting
        if not runs:
            return []
        flats: dict[Bounds, list[bytes]] = {}
        layouts: dict[Bounds, Layout] = {}
        for bounds in set(chunks):
            flats[bounds], layouts[bounds] = flatten(items, bounds)
        sent = [_padded(r, flats[c]) for r, c in zip(runs, chunks, strict=True)]
        try:
            hashed = {bounds: BlindedQuery.hash_once(flat) for bounds, flat in flats.items()}
            signed = self.auditor.sign_many(
                [(r.country, flat) for r, flat in zip(runs, sent, strict=True)], context
            )
        except Exception as exc:  # nothing was sent
            for run in runs:
                _fail(run, exc)
            return []
        asked = [
            _Asked(
                run,
                bounds,
                len(flat),
                s,
                flat,
                hashed[bounds] if flat is flats[bounds] else None,
                layout=layouts[bounds],
            )
            for run, bounds, s, flat in zip(runs, chunks, signed, sent, strict=True)
        ]
        if pool is None or len(asked) == 1:
            for a in asked:
                self._ask(a)
        else:
            futures = [pool.submit(self._ask, a) for a in asked]
            wait(futures, timeout=max(0.0, deadline - time.monotonic()))
            for f, a in zip(futures, asked, strict=True):
                if not f.done():
                    a.error = PeerUnavailableError(a.run.country, "no answer before deadline")
        for a in asked:
            a.run.request_ids.append(a.signed.request_id)
            a.run.next = a.bounds[1]
            if a.error is not None:
                a.run.stopped = True  # the peer's own conduct: no answer, or a refusal
            elif progress is not None:
                progress(a.run.country, a.bounds[1])
        return asked

    def _ask(self, asked: _Asked) -> None:
        """Blind and send one chunk; keep the raw answer (nothing is read yet)."""
        run = asked.run
        assert run.mirror is not None
        try:
            asked.query = BlindedQuery.create(
                asked.flat,
                reveal=run.mirror.has_labels,
                hashed=asked.hashed,
                key=asked.signed.blinding_key or None,
            )
            asked.evaluation = run.peer.evaluate(
                asked.signed.statement,
                asked.signed.signature,
                asked.query.request,
                timeout=self.timeout,
            )
        except Exception as exc:
            asked.error = exc

    def _read_all(
        self,
        asked: list[_Asked],
        deadline: float,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        """Read every answer (each peer's in order, peers concurrently), then log them all."""
        by_run: dict[int, list[_Asked]] = {}
        for a in asked:
            by_run.setdefault(id(a.run), []).append(a)

        def read_run(chunks: list[_Asked]) -> None:
            for a in chunks:
                if a.error is None:
                    a.exchange = self._read(a)

        groups = list(by_run.values())
        if pool is None or len(groups) <= 1:
            for group in groups:
                read_run(group)
        else:
            futures = [pool.submit(read_run, g) for g in groups]
            wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        exchanges = [self._settled(a) for a in asked]
        if not exchanges:
            return
        try:
            problems = self.auditor.record_many([x.outcome for x in exchanges])
        except Exception as exc:
            for a in asked:
                _fail(a.run, exc)
            return
        failed: dict[int, BaseException] = {}
        for a, result, problem in zip(asked, exchanges, problems, strict=True):
            run, lo = a.run, a.bounds[0]
            if result.mirror is not None:
                run.mirror = result.mirror
                run.version, run.epoch = result.mirror.version, result.mirror.epoch_id
            error = result.error
            if problem is not None:
                error = PeerUnavailableError(run.country, f"its receipt is invalid: {problem}")
            if error is not None:
                failed.setdefault(id(run), error)
                continue
            latency = (time.monotonic() - run.started) * 1000
            for offset, (outcome, labels) in enumerate(result.found):
                run.answers[lo + offset] = CountryAnswer(outcome, labels, run.version, latency)
        for a in asked:
            if id(a.run) in failed and a.run.report is None:
                _fail(a.run, failed[id(a.run)])
