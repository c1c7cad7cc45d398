"""Reading one peer's answer to one chunk (for :class:`federation.hitcheck.HitCheck`).

The mirror is brought to the epoch and version the answer names, the answer's DLEQ proof is
checked against the peer's vouched-for epoch key, labels are opened (or, for a
cardinality-only peer, matches counted) and the receipt verified. Whatever goes wrong is
that chunk's outcome and no other chunk's.
"""

from __future__ import annotations

import logging

from audit.statements import answer_binding
from federation.dleq import PROOF_INVALID, proof_context
from federation.evaluation import PROBE_LIMIT, BlindedQuery
from federation.hitcheck_items import read_found
from federation.hitcheck_state import _Asked, _check_header, _Exchange, _PeerRun
from federation.hitcheck_types import Outcome, QueryAuditor, QueryOutcome
from federation.index import IndexMirror
from federation.mirrors import MirrorStore
from federation.transport import Evaluation
from fedlookup.errors import (
    PeerRejectedError,
    PeerUnavailableError,
    PSIProtocolError,
    VerificationError,
)

__all__ = ["AnswerReading"]

_log = logging.getLogger("fedlookup.hitcheck")


class AnswerReading:
    """The answer-reading half of :class:`~federation.hitcheck.HitCheck` (a base class)."""

    mirrors: MirrorStore
    auditor: QueryAuditor
    timeout: float
    sync_timeout: float
    _vouched: set[tuple[str, str, bytes, bytes]]

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
