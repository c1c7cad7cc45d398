"""The hit check: ask every permitted peer at once, merge per firearm per country.

For each peer, in its own thread: make sure the mirror of its index is current
(:class:`~federation.mirrors.MirrorStore`: ``NodeInfo`` when the last one is older than
``info_max_age``), then per chunk of at most the peer's ``max_items_per_request`` items:
sign a statement (committing to the items), blind the items with a fresh key,
``Evaluate``, bring the mirror to the epoch and version the answer names (full resync after
a rotation, delta when records were added), unblind and look the tags up in the mirror,
and log the query with the peer's receipt. A peer that is down, slow or refusing is reported as
such with its reason; it never holds up the others, and every call to it carries a
deadline, so the check returns within ``timeout`` (plus ``sync_timeout`` when a mirror
needs a download) whatever the peers do.

The flow touches no socket: it sees peers only through :class:`PeerTransport`.

Example (with transports, a mirror store and an auditor at hand)::

    check = HitCheck(country="DE", peers=transports, mirrors=store, auditor=auditor)
    result = check.run(items, CheckContext(case_id="C-1", purpose="seizure"))
    result.answers[0]["FR"].outcome   # Outcome.HIT, NO_HIT, ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from federation.evaluation import BlindedQuery
from federation.hitcheck_types import (
    CheckContext,
    CheckItem,
    CheckResult,
    CountryAnswer,
    Outcome,
    PeerReport,
    QueryAuditor,
)
from federation.index import IndexMirror
from federation.labels import Label
from federation.mirrors import MirrorStore
from federation.transport import PeerTransport
from fedlookup.errors import (
    FedlookupError,
    PeerRejectedError,
    PeerUnavailableError,
    PolicyError,
    VerificationError,
)

__all__ = ["HitCheck", "Progress"]

_log = logging.getLogger("fedlookup.hitcheck")

#: ``progress(country, items_done)``: called from worker threads after each chunk.
Progress = Callable[[str, int], None]

_ITEMS_PER_FIREARM = 2  # make+serial and serial-only


@dataclass
class _PeerRun:
    country: str
    answers: dict[int, CountryAnswer] = field(default_factory=dict)
    report: PeerReport | None = None
    sync: str = ""
    #: The outcome of the items left unanswered when the exchange fails.
    failure: Outcome = Outcome.UNAVAILABLE


class HitCheck:
    """The fan-out hit check of one asking node.

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
    ) -> None:
        self.country = country
        self.peers = [p for p in peers if p.country != country]
        self.mirrors = mirrors
        self.auditor = auditor
        self.timeout = timeout
        self.sync_timeout = sync_timeout
        self.info_max_age = info_max_age
        self._pool: ThreadPoolExecutor | None = None

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
        runs = {p.country: _PeerRun(p.country) for p in self.peers}
        if self._pool is None:
            # One thread per peer, kept across checks: starting threads is not free.
            self._pool = ThreadPoolExecutor(
                max_workers=max(1, len(self.peers)), thread_name_prefix="peer"
            )
        futures = [
            self._pool.submit(self._ask_peer, p, items, context, runs[p.country], progress)
            for p in self.peers
        ]
        # Every transport call carries its own deadline; this bound only guards against a
        # transport that ignores it.
        bound = self.timeout * (len(items) + 3) + 2 * self.sync_timeout + 5.0
        wait(futures, timeout=bound)
        answers: list[dict[str, CountryAnswer]] = [{} for _ in items]
        peers: dict[str, PeerReport] = {}
        for country, run in runs.items():
            report = run.report or PeerReport(country, "unavailable", "no answer before deadline")
            peers[country] = report
            for i in range(len(items)):
                answers[i][country] = run.answers.get(i) or CountryAnswer(
                    run.failure, reason=report.reason or "not checked"
                )
        return CheckResult(
            items=tuple(items),
            answers=tuple(answers),
            peers=peers,
            elapsed_ms=(time.monotonic() - started) * 1000,
        )

    def _ask_peer(
        self,
        peer: PeerTransport,
        items: Sequence[CheckItem],
        context: CheckContext,
        run: _PeerRun,
        progress: Progress | None,
    ) -> None:
        started = time.monotonic()
        request_ids: list[str] = []
        status, reason = "answered", ""
        version: int | None = None
        epoch: str | None = None
        try:
            refreshed = self.mirrors.prepare(
                peer,
                timeout=self.timeout,
                sync_timeout=self.sync_timeout,
                max_info_age=self.info_max_age,
            )
            version, epoch, run.sync = (
                refreshed.mirror.version,
                refreshed.mirror.epoch_id,
                refreshed.kind.value,
            )
            per_chunk = refreshed.info.limits.max_items_per_request // _ITEMS_PER_FIREARM
            if per_chunk < 1:
                raise PeerRejectedError(peer.country, "it accepts no items from this node")
            mirror = refreshed.mirror
            for start in range(0, len(items), per_chunk):
                chunk = items[start : start + per_chunk]
                chunk_started = time.monotonic()
                found, mirror, request_id = self._ask_chunk(peer, chunk, context, mirror, run)
                request_ids.append(request_id)
                version, epoch = mirror.version, mirror.epoch_id
                latency = (time.monotonic() - chunk_started) * 1000
                if start == 0:
                    latency = (time.monotonic() - started) * 1000
                for offset, (outcome, labels) in enumerate(found):
                    run.answers[start + offset] = CountryAnswer(
                        outcome, labels, mirror.version, latency
                    )
                if progress is not None:
                    progress(peer.country, start + len(chunk))
        except (PeerRejectedError, PolicyError) as exc:
            status, reason, run.failure = "refused", _reason(exc), Outcome.REFUSED
        except PeerUnavailableError as exc:
            status, reason = "unavailable", _reason(exc)
        except FedlookupError as exc:
            status, reason = "unavailable", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a bug must not pass for a silent peer
            _log.exception("hit check against %s failed", peer.country)
            status, reason = "unavailable", f"internal error: {type(exc).__name__}: {exc}"
        if status != "answered" and run.answers:
            status = "partial"
        run.report = PeerReport(
            country=peer.country,
            status=status,
            reason=reason,
            index_version=version,
            epoch_id=epoch,
            sync=run.sync,
            latency_ms=(time.monotonic() - started) * 1000,
            request_ids=tuple(request_ids),
        )

    def _ask_chunk(
        self,
        peer: PeerTransport,
        chunk: Sequence[CheckItem],
        context: CheckContext,
        mirror: IndexMirror,
        run: _PeerRun,
    ) -> tuple[list[_Found], IndexMirror, str]:
        flat = [b for item in chunk for b in (item.make_serial, item.serial_only)]
        reveal = mirror.has_labels
        query = BlindedQuery.create(flat, reveal=reveal)
        signed = self.auditor.sign(to_country=peer.country, items=flat, context=context)
        try:
            evaluation = peer.evaluate(
                signed.statement, signed.signature, query.request, timeout=self.timeout
            )
        except PeerRejectedError:
            self.auditor.record(signed, status="refused")
            raise
        except FedlookupError:
            self.auditor.record(signed, status="unavailable")
            raise
        epoch = evaluation.epoch_id or None
        if epoch is not None and epoch != mirror.epoch_id:
            # The peer rotated its epoch key since our mirror was made: the answer is
            # under the new key, so fetch the new index and read the answer there.
            refreshed = self.mirrors.refresh(
                peer, timeout=self.timeout, sync_timeout=self.sync_timeout
            )
            mirror, run.sync = refreshed.mirror, refreshed.kind.value
        elif 0 < evaluation.index_version < mirror.version:
            # The peer's index went back (rebuilt from scratch): our copy is not its index.
            refreshed = self.mirrors.refresh(
                peer, timeout=self.timeout, sync_timeout=self.sync_timeout
            )
            mirror, run.sync = refreshed.mirror, refreshed.kind.value
        elif evaluation.index_version > mirror.version:
            # Same epoch, newer records: the answer is valid, the mirror must catch up.
            refreshed = self.mirrors.catch_up(
                peer,
                epoch_id=mirror.epoch_id or "",
                version=evaluation.index_version,
                sync_timeout=self.sync_timeout,
            )
            mirror, run.sync = refreshed.mirror, refreshed.kind.value
        try:
            if reveal:
                per_item = query.finish(evaluation.response, mirror, epoch_id=epoch)
                found = [_classify(per_item[i], per_item[i + 1]) for i in range(0, len(flat), 2)]
            else:
                matches = query.count(evaluation.response, mirror, epoch_id=epoch)
                # A cardinality-only peer tells how many items matched, not which: with no
                # match every firearm is a no-hit, otherwise each is only a possible match.
                outcome = Outcome.POSSIBLE if matches else Outcome.NO_HIT
                found = [(outcome, ()) for _ in chunk]
        except FedlookupError:
            self.auditor.record(signed, status="error", receipt=evaluation.receipt)
            raise
        hits = sum(1 for o, _ in found if o is Outcome.HIT)
        possible = sum(1 for o, _ in found if o is Outcome.POSSIBLE)
        try:
            self.auditor.record(
                signed,
                status="answered",
                receipt=evaluation.receipt,
                hits=hits,
                possible=possible,
                no_hits=len(found) - hits - possible,
            )
        except VerificationError as exc:
            raise PeerUnavailableError(peer.country, f"its receipt is invalid: {exc}") from exc
        return found, mirror, signed.request_id


_Found = tuple[Outcome, tuple[Label, ...]]


def _classify(make_serial: list[Label], serial_only: list[Label]) -> _Found:
    if make_serial:
        return Outcome.HIT, tuple(make_serial)
    if serial_only:
        return Outcome.POSSIBLE, tuple(serial_only)
    return Outcome.NO_HIT, ()


def _reason(exc: FedlookupError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else str(exc)
