"""Peers cosign each other's audit checkpoints: both sides of one witnessing round.

A node asks every other member to witness each of its logs (its node log and its
outgoing-query log). The exchange is the C2SP tlog-witness ``add-checkpoint`` request,
carried by :meth:`~federation.transport.WitnessTransport.add_checkpoint`; a witness
cosigns only a checkpoint consistent with the last one of that log it cosigned, so no node
can later show an auditor a rewritten or shortened history its peers have seen.

This module holds no audit code and no sockets: the log side is a :class:`WitnessedLog`
(``node.serve.cosigning`` adapts ``audit.AuditLog`` and ``audit.witness.request_cosignature``),
the witness side calls ``handle`` (``audit.witness.handle_add_checkpoint`` bound to the
node's own log), and peers are transports, so a test runs a round between in-process nodes.

Example::

    witnesses = [Witness("FR", fr_cosigner_vkey, fr_transport)]
    for result in cosign_round([node_log], witnesses, timeout=10):
        print(result.origin, result.witness, result.status, result.size)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from federation.transport import WitnessTransport
from fedlookup.errors import (
    FedlookupError,
    PeerRejectedError,
    PeerUnavailableError,
    VerificationError,
)

__all__ = [
    "CheckpointWitness",
    "CosignResult",
    "Send",
    "Witness",
    "WitnessedLog",
    "cosign_round",
]

_log = logging.getLogger("fedlookup.cosign")

#: Delivers one add-checkpoint request and returns the witness's ``(status, body)``.
Send = Callable[[bytes], tuple[int, bytes]]


class WitnessedLog(Protocol):
    """One of this node's logs, as the cosigning round needs it."""

    @property
    def origin(self) -> str:
        """The log's origin (checkpoint first line)."""
        ...

    def cosigned_latest(self, witness_vkey: str) -> int | None:
        """The size of the latest checkpoint if it already carries this witness's
        cosignature, else ``None``."""
        ...

    def request_cosignature(self, send: Send, witness_vkey: str, *, old_size: int) -> int:
        """Obtain, verify and store the witness's cosignature on the latest checkpoint.

        Returns:
            The size the witness has now cosigned.

        Raises:
            PeerRejectedError: the witness answered anything but 200 (after one 409 retry).
            VerificationError: the cosignature it returned does not verify.
        """
        ...


@dataclass(frozen=True)
class Witness:
    """A peer that cosigns this node's checkpoints.

    Attributes:
        country: the peer's country.
        vkey: the peer's cosigner vkey (type 0x04), from the federation directory.
        transport: how to reach it.
    """

    country: str
    vkey: str
    transport: WitnessTransport


@dataclass(frozen=True)
class CosignResult:
    """What one witness did with one log in a round.

    Attributes:
        origin: the log.
        witness: the witness's country.
        status: ``cosigned`` (a new cosignature is stored), ``current`` (the latest
            checkpoint already carried one), ``unavailable`` (retry next round),
            ``refused`` (the witness said no: a conflict means our history differs from
            what it cosigned before), ``invalid`` (its cosignature did not verify),
            ``error`` (storing it failed); ``node.serve.cosigning`` adds ``busy`` (a check held
            the outgoing log: retried next round).
        size: the tree size the witness has cosigned (0 when unknown).
        witness_status: the witness's add-checkpoint status (0 when it did not answer).
        reason: why, when not ``cosigned`` or ``current``.
    """

    origin: str
    witness: str
    status: str
    size: int = 0
    witness_status: int = 0
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the log's latest checkpoint now carries this witness's cosignature."""
        return self.status in ("cosigned", "current")


def _one(log: WitnessedLog, witness: Witness, timeout: float, old_size: int) -> CosignResult:
    answers: list[int] = []

    def send(body: bytes) -> tuple[int, bytes]:
        status, reply = witness.transport.add_checkpoint(body, timeout=timeout)
        answers.append(status)
        return status, reply

    def result(status: str, size: int = 0, reason: str = "") -> CosignResult:
        last = answers[-1] if answers else 0
        return CosignResult(log.origin, witness.country, status, size, last, reason)

    try:
        current = log.cosigned_latest(witness.vkey)
        if current is not None:
            return result("current", current)
        size = log.request_cosignature(send, witness.vkey, old_size=old_size)
    except PeerUnavailableError as exc:
        return result("unavailable", reason=exc.reason)
    except PeerRejectedError as exc:
        return result("refused", reason=exc.reason)
    except VerificationError as exc:
        return result("invalid", reason=str(exc))
    except FedlookupError as exc:
        return result("error", reason=f"{type(exc).__name__}: {exc}")
    return result("cosigned", size)


def _witness_all(
    logs: Sequence[WitnessedLog],
    witness: Witness,
    timeout: float,
    known: MutableMapping[tuple[str, str], int],
) -> list[CosignResult]:
    out: list[CosignResult] = []
    for log in logs:
        key = (log.origin, witness.country)
        if out and out[-1].status == "unavailable":
            # Unreachable for the previous log: do not wait out the deadline once more.
            out.append(
                CosignResult(log.origin, witness.country, "unavailable", 0, 0, out[-1].reason)
            )
            continue
        result = _one(log, witness, timeout, known.get(key, 0))
        if result.ok:
            known[key] = result.size
        out.append(result)
    return out


def cosign_round(
    logs: Sequence[WitnessedLog],
    witnesses: Sequence[Witness],
    *,
    timeout: float,
    known: MutableMapping[tuple[str, str], int] | None = None,
) -> list[CosignResult]:
    """Ask every witness to cosign the latest checkpoint of every log; never raises for a
    peer's failure (a peer that is down is retried at the next round).

    Witnesses are asked concurrently, each log in turn. Each outcome is logged (a refusal
    as a warning: it may be evidence of a rewritten history).

    Args:
        logs: this node's logs.
        witnesses: the peers.
        timeout: seconds per add-checkpoint call.
        known: ``(origin, witness country) -> size`` cosigned, kept across rounds (saves
            the 409 round trip that otherwise tells a log what its witness holds).

    Returns:
        One result per (log, witness), logs in order, witnesses in order.
    """
    state: MutableMapping[tuple[str, str], int] = {} if known is None else known
    if not witnesses or not logs:
        return []
    with ThreadPoolExecutor(len(witnesses), thread_name_prefix="cosign") as pool:
        per_witness = list(pool.map(lambda w: _witness_all(logs, w, timeout, state), witnesses))
    results = [per_witness[w][i] for i in range(len(logs)) for w in range(len(witnesses))]
    for r in results:
        extra = {
            "event": "cosign",
            "origin": r.origin,
            "peer": r.witness,
            "status": r.status,
            "size": r.size,
            "witness_status": r.witness_status,
            "reason": r.reason,
        }
        if r.ok:
            _log.info("checkpoint cosigned", extra=extra)
        else:
            _log.warning("checkpoint not cosigned", extra=extra)
    return results


class CheckpointWitness:
    """The witness side: cosigns checkpoints of the caller's own logs only.

    Args:
        handle: witnesses a request against this node's log given the trusted logs
            (``functools.partial(audit.witness.handle_add_checkpoint, log)``).
        peer_logs: the logs of a caller, ``origin -> log vkey``, from the federation
            directory; raises :class:`~fedlookup.errors.UnlistedPeerError` for a non-member.
    """

    def __init__(
        self,
        handle: Callable[[bytes, Mapping[str, str]], tuple[int, bytes]],
        peer_logs: Callable[[str], Mapping[str, str]],
    ) -> None:
        self._handle = handle
        self._peer_logs = peer_logs

    def add_checkpoint(self, peer: str, body: bytes) -> tuple[int, bytes]:
        """Witness ``body`` sent by ``peer`` (its country from its certificate).

        Returns:
            The tlog-witness ``(status, body)``; a checkpoint of another country's log is
            answered 404, as an unknown log.

        Raises:
            UnlistedPeerError: ``peer`` is not in the directory.
            LogWriteError: the witness state could not be stored (nothing was cosigned).
        """
        status, reply = self._handle(body, self._peer_logs(peer))
        origin = _origin(body)
        extra = {"event": "witness", "peer": peer, "origin": origin, "status": status}
        if status == 200:
            _log.info("cosigned a peer's checkpoint", extra=extra)
        else:
            reason = reply.decode("utf-8", "replace").strip()[:200]
            log = _log.error if status in (409, 422) else _log.warning
            log("refused to cosign a peer's checkpoint", extra={**extra, "reason": reason})
        return status, reply


def _origin(body: bytes) -> str:
    """The checkpoint origin of a request, for the log line only ("" if malformed)."""
    _, _, note = body.partition(b"\n\n")
    return note.split(b"\n", 1)[0].decode("utf-8", "replace")[:100]
