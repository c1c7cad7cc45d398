"""The desk has the outgoing-query log cosigned, since it holds that log while it runs.

The serving node asks its peers to cosign both of its logs every ``audit.cosign_interval_s``
(``node.serve.cosigning``), but it cannot open the outgoing-query log while a desk, its
single writer, holds it: without this timer a node with a desk would never have that log
cosigned, and an auditor verifying it under the directory's quorum would find every
checkpoint short. :class:`OutgoingCosigner` runs the same round for that one log in the
desk: at start, then every interval, over the desk's own authenticated channels to the
peers, with the directory read again each round (members come and go).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from audit.log import AuditLog
from federation.cosign import CosignResult, Witness, cosign_round
from federation.directory import load_directory
from federation.grpc_transport import GrpcTransport
from node.config import NodeConfig
from node.witnessing import WitnessedAuditLog, peer_cosigner

__all__ = ["OutgoingCosigner"]

_log = logging.getLogger("fedlookup.desk.cosign")


class OutgoingCosigner(threading.Thread):
    """Asks every peer to cosign the outgoing-query log every ``interval_s`` until :meth:`stop`.

    Args:
        config: the node's configuration (directory, timeouts).
        log: the outgoing-query log the desk holds.
        transports: the desk's channel to each peer.
        interval_s: seconds between rounds (``audit.cosign_interval_s``).
    """

    def __init__(
        self,
        config: NodeConfig,
        log: AuditLog,
        transports: Mapping[str, GrpcTransport],
        *,
        interval_s: float,
    ) -> None:
        super().__init__(name="outgoing-cosigner", daemon=True)
        self._config = config
        self._log = log
        self._transports = dict(transports)
        self._interval = interval_s
        self._known: dict[tuple[str, str], int] = {}
        self._stopping = threading.Event()

    def round(self) -> list[CosignResult]:
        """One round: every peer of the current directory asked once (never raises for a
        peer's failure; :func:`federation.cosign.cosign_round` logs each outcome)."""
        directory = load_directory(self._config.directory.path, self._config.directory.authority)
        witnesses = [
            Witness(country, peer_cosigner(directory, country), transport)
            for country, transport in sorted(self._transports.items())
            if country in directory.countries
        ]
        timeout = self._config.audit.cosign_timeout_s
        return cosign_round([WitnessedAuditLog(self._log)], witnesses, timeout=timeout,
                            known=self._known)  # fmt: skip

    def stop(self) -> None:
        """Ask the thread to finish (it does once a round in progress ends)."""
        self._stopping.set()

    def run(self) -> None:
        """A round now, then every ``interval_s``; an error is logged and retried."""
        while True:
            try:
                self.round()
            except Exception:  # the timer outlives one bad round; the reason goes to the log
                _log.exception("cosigning round failed", extra={"event": "cosign_error"})
            if self._stopping.wait(self._interval):
                return
