"""The hit check: ask every permitted peer at once, merge per firearm per country.

First every peer's mirror is made current, concurrently
(:class:`~federation.mirrors.MirrorStore`: ``NodeInfo`` when the last one is older than
``info_max_age``). Then the check goes in rounds, one per chunk of at most the peers'
``max_items_per_request`` items: the statements for every peer of the round are signed
(each committing to the items) and logged as sent with one ``fsync`` before any request
leaves; the items are hashed to the curve once and each peer's request re-randomised under
its own fresh key; the peers are asked concurrently (``Evaluate``; the mirror brought to
the epoch and version the answer names: full resync after a rotation, delta when records
were added; tags unblinded and looked up); then the receipts are verified and the outcomes
logged with one more ``fsync``. A peer that is down, slow or refusing is reported as
such with its reason; it never holds up the others beyond the deadline every call to it
carries, so the check returns within ``timeout`` per round (plus ``sync_timeout`` when a
mirror needs a download) whatever the peers do.

The flow touches no socket: it sees peers only through :class:`PeerTransport`.

Example (with transports, a mirror store and an auditor at hand)::

    check = HitCheck(country="DE", peers=transports, mirrors=store, auditor=auditor)
    result = check.run(items, CheckContext(case_id="C-1", purpose="seizure"))
    result.answers[0]["FR"].outcome   # Outcome.HIT, NO_HIT, ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from audit.statements import answer_binding
from federation.dleq import PROOF_INVALID, proof_context
from federation.evaluation import PROBE_LIMIT, BlindedQuery
from federation.hitcheck_items import Bounds, Layout, flatten, next_chunk, read_found
from federation.hitcheck_state import (
    _Asked,
    _check_header,
    _Exchange,
    _padded,
    _PeerRun,
    _reason,
)
from federation.hitcheck_types import (
    CheckContext,
    CheckItem,
    CheckResult,
    CountryAnswer,
    Outcome,
    PeerReport,
    QueryAuditor,
    QueryOutcome,
)
from federation.index import IndexMirror
from federation.mirrors import MirrorStore
from federation.transport import Evaluation, PeerTransport
from fedlookup.errors import (
    FedlookupError,
    PeerRejectedError,
    PeerUnavailableError,
    PolicyError,
    PSIProtocolError,
    VerificationError,
)

__all__ = ["HitCheck", "Progress"]

_log = logging.getLogger("fedlookup.hitcheck")

#: ``progress(country, items_done)``: called as each chunk's answer arrives (it is read
#: once every chunk has been sent).
Progress = Callable[[str, int], None]


class HitCheck:
    """The fan-out hit check of one asking node.

    A check goes in rounds (one chunk of whole firearms per peer, as many as fit in the
    peer's ``max_items_per_request``): every peer's statement for the round is signed and
    logged as sent with one ``fsync`` before any request leaves, the items are hashed to
    the curve once for all peers (each request re-randomised under its own fresh key), the
    peers are asked concurrently, and the outcomes and receipts are verified and logged
    with one more ``fsync``.

    Args:
        country: the asking node's country.
        peers: the peers to ask (the directory's members minus this node).
        mirrors: where the peers' index mirrors live.
        auditor: signs statements and logs each query with its receipt.
        timeout: seconds allowed for each ``NodeInfo`` and each ``Evaluate`` call.
        sync_timeout: seconds allowed for downloading an index (full or delta).
        info_max_age: reuse a peer's ``NodeInfo`` (epoch, limits) for this many seconds
            instead of asking again before each check; the answer itself names its epoch
            and index version, so the mirror still catches up before it is read.
        batched: ``False`` signs, logs and hashes per peer, each peer on its own (two
            ``fsync`` per peer instead of two per round; kept to measure the difference).
        versions: per country, the identifier versions the signed directory says its index
            serves; a country not listed is read from its ``NodeInfo``.
        max_items_per_request: this node's own limit of items per request; each peer's
            chunk size is fixed before its first request from this and the peer's
            published limit.
    """

    def __init__(
        self,
        *,
        country: str,
        peers: Sequence[PeerTransport],
        mirrors: MirrorStore,
        auditor: QueryAuditor,
        timeout: float = 10.0,
        sync_timeout: float = 120.0,
        info_max_age: float = 60.0,
        batched: bool = True,
        versions: Mapping[str, str] | None = None,
        max_items_per_request: int | None = None,
    ) -> None:
        self.country = country
        self.peers = [p for p in peers if p.country != country]
        self.mirrors = mirrors
        self.auditor = auditor
        self.timeout = timeout
        self.sync_timeout = sync_timeout
        self.info_max_age = info_max_age
        self.batched = batched
        self.versions = dict(versions or {})
        self.max_items_per_request = max_items_per_request
        self._pool: ThreadPoolExecutor | None = None
        self._vouched: set[tuple[str, str, bytes, bytes]] = set()

    def close(self) -> None:
        """Release the worker threads (a call still waiting on a peer is not awaited)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> HitCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        items: Sequence[CheckItem],
        context: CheckContext,
        *,
        progress: Progress | None = None,
    ) -> CheckResult:
        """Check ``items`` against every peer, concurrently.

        Args:
            items: the firearms to check.
            context: case, purpose, legal basis, investigator (signed and logged).
            progress: optional callback, called after each chunk a peer answered.

        Returns:
            Per item per country an answer, and per country a report.
        """
        started = time.monotonic()
        every = items
        # Firearms this node refused (placeholders) are never sent; the rest go out.
        asked = [i for i, item in enumerate(every) if not item.refusal]
        items = [every[i] for i in asked]
        runs = [_PeerRun(p) for p in self.peers]
        if self._pool is None:
            # One thread per peer, kept across checks: starting threads is not free.
            self._pool = ThreadPoolExecutor(
                max_workers=max(1, len(self.peers)), thread_name_prefix="peer"
            )
        pool = self._pool
        # Every transport call carries its own deadline; this bound only guards against a
        # transport that ignores it.
        deadline = started + self.timeout * (len(items) + 3) + 2 * self.sync_timeout + 5.0
        if self.batched:
            prepared = [pool.submit(self._prepare, run) for run in runs]
            wait(prepared, timeout=max(0.0, deadline - time.monotonic()))
            ready = [run for run, f in zip(runs, prepared, strict=True) if f.done() and f.result()]
            self._rounds(ready, items, context, progress, deadline, pool)
        else:

            def alone(run: _PeerRun) -> None:
                if self._prepare(run):
                    self._rounds([run], items, context, progress, deadline, None)

            wait([pool.submit(alone, run) for run in runs], timeout=deadline - time.monotonic())
        answers: list[dict[str, CountryAnswer]] = [
            {r.country: CountryAnswer(Outcome.NOT_CHECKED, reason=item.refusal) for r in runs}
            for item in every
        ]
        peers: dict[str, PeerReport] = {}
        for run in runs:
            report = run.report or self._report(run)
            peers[run.country] = report
            for j, i in enumerate(asked):
                answers[i][run.country] = run.answers.get(j) or CountryAnswer(
                    run.failure, reason=report.reason or "not checked"
                )
        return CheckResult(
            items=tuple(every),
            answers=tuple(answers),
            peers=peers,
            elapsed_ms=(time.monotonic() - started) * 1000,
        )

    def _prepare(self, run: _PeerRun) -> bool:
        """Make the peer's mirror current; on failure set the peer's report."""
        try:
            refreshed = self.mirrors.prepare(
                run.peer,
                timeout=self.timeout,
                sync_timeout=self.sync_timeout,
                max_info_age=self.info_max_age,
            )
            run.mirror, run.sync, run.info = refreshed.mirror, refreshed.kind.value, refreshed.info
            run.version, run.epoch = refreshed.mirror.version, refreshed.mirror.epoch_id
            _check_header(run.country, refreshed.mirror, refreshed.info)
            advertised = self.versions.get(run.country) or refreshed.info.identifier_version
            run.speaks = frozenset(advertised.replace(",", "+").split("+"))
            # Fixed here, before the first request, from the two published limits; never
            # changed during the check, whatever the answers hold.
            limit = refreshed.info.limits.max_items_per_request
            if self.max_items_per_request is not None:
                limit = min(limit, self.max_items_per_request)
            run.max_items = limit
            if run.max_items < 1:
                raise PeerRejectedError(run.country, "it accepts no items from this node")
        except Exception as exc:
            self._fail(run, exc)
            return False
        return True

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
                run.report = self._report(run)

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
                self._fail(run, exc)
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
                self._fail(run, exc)
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
                self._fail(a.run, exc)
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
                self._fail(a.run, failed[id(a.run)])

    def _settled(self, asked: _Asked) -> _Exchange:
        """The exchange of one chunk, whatever became of it."""
        if asked.exchange is not None:
            return asked.exchange
        if isinstance(asked.error, PeerRejectedError):
            return _Exchange(QueryOutcome(asked.signed, "refused"), error=asked.error)
        error = asked.error or PeerUnavailableError(asked.run.country, "no answer before deadline")
        return _Exchange(QueryOutcome(asked.signed, "unavailable"), error=error)

    def _read(self, asked: _Asked) -> _Exchange:
        """Read one answer: mirror current, proof checked, labels opened, receipt checked.

        Never raises: whatever goes wrong is this chunk's outcome, and no other chunk's.
        """
        run, signed, query, evaluation = asked.run, asked.signed, asked.query, asked.evaluation
        assert run.mirror is not None
        assert query is not None
        assert evaluation is not None
        mirror = run.mirror
        try:
            mirror = self._current_mirror(run, mirror, evaluation)
            if query.reveal:
                self._check_proof(run, query, evaluation)
                per_item = query.finish(
                    evaluation.response,
                    mirror,
                    epoch_id=evaluation.epoch_id or None,
                    country=run.country,
                )
                if query.malformed or query.truncated:
                    run.notes = (
                        f"{query.malformed} index entries did not open, {query.truncated} "
                        f"identifiers held by more than {PROBE_LIMIT} records"
                    )
                    _log.warning("answer of %s: %s", run.country, run.notes)
                found = [read_found(per_item[at : at + n], hits) for at, n, hits in asked.layout]
            else:
                matches = query.count(
                    evaluation.response, mirror, epoch_id=evaluation.epoch_id or None
                )
                # A cardinality-only peer tells how many items matched, not which: with no
                # match every firearm is a no-hit, otherwise each is only a possible match.
                guess = Outcome.POSSIBLE if matches else Outcome.NO_HIT
                found = [(guess, ()) for _ in asked.layout]
        except Exception as exc:
            return _Exchange(
                QueryOutcome(signed, "error", receipt=evaluation.receipt),
                mirror=mirror,
                error=exc,
            )
        hits = sum(1 for o, _ in found if o is Outcome.HIT)
        possible = sum(1 for o, _ in found if o is Outcome.POSSIBLE)
        status, error = "answered", None
        try:
            binding = answer_binding(
                query.request, evaluation.response, evaluation.epoch_id, evaluation.index_version
            )
            self.auditor.verify_receipt(signed, evaluation.receipt, binding=binding)
        except VerificationError as exc:
            status = "error"
            error = PeerUnavailableError(run.country, f"its receipt is invalid: {exc}")
        outcome = QueryOutcome(
            signed,
            status,
            receipt=evaluation.receipt,
            hits=hits,
            possible=possible,
            no_hits=len(found) - hits - possible,
            verified=True,
        )
        if error is not None:
            return _Exchange(outcome, mirror=mirror, error=error)
        return _Exchange(outcome, found=found, mirror=mirror)

    def _current_mirror(
        self, run: _PeerRun, mirror: IndexMirror, evaluation: Evaluation
    ) -> IndexMirror:
        """The mirror at the epoch and version the answer names."""
        peer = run.peer
        epoch = evaluation.epoch_id or None
        if epoch is not None and epoch != mirror.epoch_id:
            # The peer rotated its epoch key since our mirror was made: the answer is
            # under the new key, so fetch the new index and read the answer there.
            refreshed = self.mirrors.refresh(
                peer, timeout=self.timeout, sync_timeout=self.sync_timeout
            )
        elif 0 < evaluation.index_version < mirror.version:
            # The peer's index went back (rebuilt from scratch): our copy is not its index.
            refreshed = self.mirrors.refresh(
                peer, timeout=self.timeout, sync_timeout=self.sync_timeout
            )
        elif evaluation.index_version > mirror.version:
            # Same epoch, newer records: the answer is valid, the mirror must catch up.
            refreshed = self.mirrors.catch_up(
                peer,
                epoch_id=mirror.epoch_id or "",
                version=evaluation.index_version,
                sync_timeout=self.sync_timeout,
            )
        else:
            return mirror
        run.sync, run.info = refreshed.kind.value, refreshed.info
        _check_header(run.country, refreshed.mirror, refreshed.info)
        return refreshed.mirror

    def _check_proof(self, run: _PeerRun, query: BlindedQuery, evaluation: Evaluation) -> None:
        """Verify the answer's DLEQ proof against the peer's vouched-for epoch key.

        Raises:
            PeerUnavailableError: ``evaluation proof invalid`` (no key for the epoch the
                answer names, a key the peer's audit key did not sign, or a bad proof).
        """
        info, country = run.info, run.country
        epoch = evaluation.epoch_id or (info.epoch_id if info is not None else "")
        try:
            if info is None or info.epoch_id != epoch:
                raise VerificationError(f"no published key for epoch {epoch}")
            vouched = (country, epoch, info.epoch_public_key, info.epoch_key_signature)
            if vouched not in self._vouched:
                self.auditor.verify_epoch_key(*vouched)
                self._vouched.add(vouched)
            query.verify(
                evaluation.response,
                evaluation.proof,
                public=info.epoch_public_key,
                context=proof_context(country, epoch),
            )
        except (VerificationError, PSIProtocolError) as exc:
            _log.warning("answer of %s rejected: %s", country, exc)
            raise PeerUnavailableError(country, PROOF_INVALID) from exc

    def _fail(self, run: _PeerRun, exc: BaseException) -> None:
        """Close the peer's part of the check with the reason ``exc`` gives."""
        if isinstance(exc, (PeerRejectedError, PolicyError)):
            status, reason, run.failure = "refused", _reason(exc), Outcome.REFUSED
        elif isinstance(exc, PeerUnavailableError):
            status, reason = "unavailable", _reason(exc)
        elif isinstance(exc, FedlookupError):
            status, reason = "unavailable", f"{type(exc).__name__}: {exc}"
        else:  # a bug must not pass for a silent peer
            _log.error("hit check against %s failed", run.country, exc_info=exc)
            status, reason = "unavailable", f"internal error: {type(exc).__name__}: {exc}"
        run.report = self._report(run, status, reason)

    def _report(self, run: _PeerRun, status: str = "answered", reason: str = "") -> PeerReport:
        if run.report is not None:
            return run.report
        if status != "answered" and run.answers:
            status = "partial"
        if status == "answered" and run.mirror is None:
            status, reason = "unavailable", "no answer before deadline"
        if status == "answered" and not reason:
            reason = run.notes
        return PeerReport(
            country=run.country,
            status=status,
            reason=reason,
            index_version=run.version,
            epoch_id=run.epoch,
            sync=run.sync,
            latency_ms=(time.monotonic() - run.started) * 1000,
            request_ids=tuple(run.request_ids),
        )
