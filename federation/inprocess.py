"""An in-process :class:`~federation.transport.PeerTransport`: several countries, one process.

:class:`InProcessTransport` calls the same :class:`~federation.responder.Responder` the
node's gRPC servicer calls, as if the caller's certificate named ``as_country``, so a test
runs the whole hit check (real indexes, real audit logs, real policy) without sockets.
It keeps the gRPC transport's contract: each call has a deadline (the responder runs in a
helper thread; a call that overruns raises :class:`PeerUnavailableError` and is left to
finish on its own), and the responder's errors arrive as the gRPC client would see them,
through the one refusal table (:mod:`federation.refusals`).

Example::

    fr = InProcessTransport(fr_responder, as_country="DE")
    fr.node_info(timeout=1.0).country   # "FR"
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from federation.refusals import peer_error, refusal_for
from federation.responder import IndexExport
from federation.transport import Evaluation, IndexDownload, NodeInfo
from fedlookup.errors import PeerUnavailableError

__all__ = ["InProcessTransport", "ResponderLike"]

T = TypeVar("T")


class ResponderLike(Protocol):
    """What :class:`InProcessTransport` needs of a responder (``federation.responder``)."""

    def node_info(self, peer: str) -> NodeInfo: ...

    def sync_index(
        self, peer: str, since_version: int | None, epoch_id: str | None
    ) -> IndexExport: ...

    def evaluate(
        self, peer: str, statement: bytes, signature: bytes, request: bytes
    ) -> Evaluation: ...


class InProcessTransport:
    """A peer whose responder lives in this process.

    Args:
        responder: the peer's responder.
        as_country: the calling node's country (what its certificate would say).
        country: the peer's country; read from ``responder.node_info`` when omitted.
        witness: the peer's checkpoint witness, ``(caller, body) -> (status, body)``
            (``federation.cosign.CheckpointWitness.add_checkpoint``); ``None`` answers
            :meth:`add_checkpoint` as a node that does not witness.
    """

    def __init__(
        self,
        responder: ResponderLike,
        as_country: str,
        *,
        country: str | None = None,
        witness: Callable[[str, bytes], tuple[int, bytes]] | None = None,
    ) -> None:
        self.responder = responder
        self.as_country = as_country
        self.witness = witness
        self._country = country or responder.node_info(as_country).country

    @property
    def country(self) -> str:
        """The peer's country code."""
        return self._country

    def node_info(self, *, timeout: float) -> NodeInfo:
        """See :meth:`PeerTransport.node_info`."""
        return self._call("NodeInfo", timeout, lambda: self.responder.node_info(self.as_country))

    def sync_index(
        self, since_version: int | None, epoch_id: str | None, *, timeout: float
    ) -> IndexDownload:
        """See :meth:`PeerTransport.sync_index`: the blob with the responder's signed head."""

        def download() -> IndexDownload:
            export = self.responder.sync_index(self.as_country, since_version, epoch_id)
            return IndexDownload(export.blob, export.head, export.signature)

        return self._call("SyncIndex", timeout, download)

    def evaluate(
        self, statement: bytes, signature: bytes, request: bytes, *, timeout: float
    ) -> Evaluation:
        """See :meth:`PeerTransport.evaluate`."""
        return self._call(
            "Evaluate",
            timeout,
            lambda: self.responder.evaluate(self.as_country, statement, signature, request),
        )

    def add_checkpoint(self, body: bytes, *, timeout: float) -> tuple[int, bytes]:
        """See :meth:`federation.transport.WitnessTransport.add_checkpoint`."""
        witness = self.witness
        if witness is None:
            raise PeerUnavailableError(self._country, "AddCheckpoint: not a witness")
        return self._call("AddCheckpoint", timeout, lambda: witness(self.as_country, body))

    def _call(self, action: str, timeout: float, fn: Callable[[], T]) -> T:
        box: list[T] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                box.append(fn())
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=target, name=f"inproc-{self._country}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise PeerUnavailableError(self._country, f"{action}: no answer before the deadline")
        if errors:
            raise _translate(self._country, action, errors[0])
        return box[0]


def _translate(country: str, action: str, exc: BaseException) -> Exception:
    """What a gRPC caller would see: the refusal table's status and public message."""
    refusal = refusal_for(exc)
    err = peer_error(country, action, refusal.status, refusal.message)
    err.__cause__ = exc
    return err
