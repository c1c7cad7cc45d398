"""When cosigning rounds run: on the serving node's timer, and on request.

The serving node holds its node log (one writer per log), so only it can store the
cosignatures its peers return. :class:`CosignTimer` runs in the serving process: a round
every ``audit.cosign_interval_s``, and one as soon as ``fedlookup node cosign`` asks for
it. The request is a file in ``<data_dir>/cosign/`` (``<nonce>.request``) that the node
picks up within half a second; it answers with ``<nonce>.json`` (the round's results). The
files live in the node's own data folder, so asking takes the same rights as reading the
node's keys, and nothing new listens on the network.

When no node serves (the node log is free), :func:`cosign_now` runs the round itself.
A peer that is down is logged and asked again at the next round; a round never raises.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable

from audit.keys import load_private_key
from audit.log import AuditLog
from audit.storage import atomic_write
from federation.cosign import CosignResult
from federation.directory import Directory, load_directory
from fedlookup.errors import FedlookupError, LogBusyError, PeerUnavailableError
from node.config import NodeConfig
from node.layout import log_origins
from node.serve.cosigning import run_round

__all__ = ["CosignTimer", "cosign_now"]

_log = logging.getLogger("fedlookup.node.cosign")
_POLL_S = 0.5


class CosignTimer:
    """The serving node's cosigning rounds (start with :meth:`start`, end with :meth:`stop`).

    Args:
        config: the node's configuration.
        node_log: the node log the serving process holds.
        directory: the current federation directory.
    """

    def __init__(
        self, config: NodeConfig, node_log: AuditLog, directory: Callable[[], Directory]
    ) -> None:
        self._config = config
        self._log = node_log
        self._directory = directory
        self._known: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cosign", daemon=True)

    def start(self) -> None:
        """Start the timer thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer; a round under way finishes first (each call has a deadline and
        the peers are asked in parallel, one log after the other)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2 * self._config.audit.cosign_timeout_s + 5)

    def round(self) -> list[CosignResult]:
        """Run one round now; a failure is logged and gives no results."""
        try:
            return run_round(self._config, self._log, self._directory(), known=self._known)
        except FedlookupError as exc:
            _log.error("cosigning round failed: %s", exc, extra={"event": "cosign"})
            return []

    def _run(self) -> None:
        interval = self._config.audit.cosign_interval_s
        due = time.monotonic() + interval
        folder = self._config.layout.cosign_requests
        while not self._stop.wait(_POLL_S):
            asked = sorted(folder.glob("*.request")) if folder.is_dir() else []
            if not asked and not (interval > 0 and time.monotonic() >= due):
                continue
            for path in asked:
                path.unlink(missing_ok=True)
            results = self.round()
            due = time.monotonic() + interval
            body = json.dumps([dataclasses.asdict(r) for r in results]).encode()
            for path in asked:
                try:
                    atomic_write(path.with_suffix(".json"), body, mode=0o600)
                except OSError as exc:
                    _log.error("cannot answer %s: %s", path.name, exc)


def _ask_serving_node(config: NodeConfig, wait: float) -> list[CosignResult]:
    folder = config.layout.cosign_requests
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    nonce = secrets.token_hex(8)
    answer = folder / f"{nonce}.json"
    atomic_write(folder / f"{nonce}.request", b"", mode=0o600)
    deadline = time.monotonic() + wait
    while not answer.exists():
        if time.monotonic() > deadline:
            (folder / f"{nonce}.request").unlink(missing_ok=True)
            raise PeerUnavailableError(
                config.node.country,
                f"the serving node did not run a cosigning round within {wait:.0f} s",
            )
        time.sleep(0.1)
    try:
        data = json.loads(answer.read_bytes())
    finally:
        answer.unlink(missing_ok=True)
    return [CosignResult(**r) for r in data]


def cosign_now(config: NodeConfig, *, wait: float = 60.0) -> list[CosignResult]:
    """One cosigning round of this node's logs: by the serving node when it runs (it holds
    the node log), else right here.

    Args:
        config: the node's configuration.
        wait: seconds to wait for the serving node's answer.

    Returns:
        One result per log and peer.

    Raises:
        PeerUnavailableError: the serving node did not answer within ``wait``.
        ConfigError, KeyFileError, AuditError: the configuration, key or log are unusable.
    """
    country = config.node.country
    key = load_private_key(config.audit.key)
    try:
        log = AuditLog.open(config.audit_dir, log_origins(country)[0], key, country=country)
    except LogBusyError:
        return _ask_serving_node(config, wait)
    with log:
        directory = load_directory(config.directory.path, config.directory.authority)
        return run_round(config, log, directory)
