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

The flow touches no socket: it sees peers only through :class:`PeerTransport`. The rounds
live in :mod:`federation.hitcheck_rounds`, the reading of one answer in
:mod:`federation.hitcheck_read`, the per-peer state in :mod:`federation.hitcheck_state`.

Example (with transports, a mirror store and an auditor at hand)::

    check = HitCheck(country="DE", peers=transports, mirrors=store, auditor=auditor)
    result = check.run(items, CheckContext(case_id="C-1", purpose="seizure"))
    result.answers[0]["FR"].outcome   # Outcome.HIT, NO_HIT, ...
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from federation.hitcheck_rounds import ChunkRounds, Progress
from federation.hitcheck_state import _check_header, _fail, _PeerRun, _report
from federation.hitcheck_types import (
    CheckContext,
    CheckItem,
    CheckResult,
    CountryAnswer,
    Outcome,
    PeerReport,
    QueryAuditor,
)
from federation.mirrors import MirrorStore
from federation.transport import PeerTransport
from fedlookup.errors import PeerRejectedError

__all__ = ["HitCheck", "Progress"]


class HitCheck(ChunkRounds):
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
            report = run.report or _report(run)
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
            _fail(run, exc)
            return False
        return True
