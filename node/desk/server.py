"""``fedlookup desk serve``: the desk's process.

It binds ``[desk] listen`` (HTTPS with ``tls_cert``/``tls_key``), opens its database, and
takes the node's desk lock: the desk holding it owns the outgoing-query log and runs the
checks (:class:`~node.desk.jobs.CheckWorker`); another replica on the same node serves the
console and API and leaves the checks to it. It logs ``desk serving address=HOST:PORT``
once it listens, and stops on SIGTERM or Ctrl-C after the running check.
"""

from __future__ import annotations

import logging
import signal
import socket
from pathlib import Path
from types import FrameType

import uvicorn

from node.desk.api.deps import DeskState
from node.desk.app import create_app
from node.desk.asking import (
    Asker,
    FollowUpStore,
    configure_logging,
    desk_lock,
    load_node_config,
)
from node.desk.cosign_keeper import OutgoingCosigner
from node.desk.db import DeskDatabase
from node.desk.follow_up_keeper import FollowUpKeeper
from node.desk.jobs import CheckQueue, CheckWorker
from node.desk.settings import DeskSettings

__all__ = ["serve_desk"]

_log = logging.getLogger("fedlookup.desk")


def _bind(listen: str) -> socket.socket:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: a response's header and body writes go out at once
    # instead of the body waiting ~40 ms for the client's delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, int(port)))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _after_shutdown(signum: int, frame: FrameType | None) -> None:
    _log.info("desk stopping", extra={"event": "stopping", "signal": signum})


def serve_desk(config_path: Path, *, port_file: Path | None = None) -> None:
    """Run the desk in the foreground until SIGTERM or Ctrl-C.

    Raises:
        ConfigError: bad ``[desk]`` settings or an unreachable database.
        FedlookupError: the node's directory, keys or outgoing log cannot be opened.
        OSError: the address cannot be bound.
    """
    node = load_node_config(config_path)
    settings = DeskSettings.from_toml(config_path, node.node.data_dir)
    configure_logging(node.node.log_format, node.node.log_level)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # our own lines say it
    db = DeskDatabase(settings.database)
    queue = CheckQueue(db, settings)
    sock = _bind(settings.listen)
    host = settings.listen.rpartition(":")[0]
    address = f"{host}:{sock.getsockname()[1]}"
    url = f"{'https' if settings.https else 'http'}://{address}"
    worker: CheckWorker | None = None
    asker: Asker | None = None
    keeper: FollowUpKeeper | None = None
    cosigner: OutgoingCosigner | None = None
    try:
        with desk_lock(node, url) as owner:
            if owner:
                queue.fail_interrupted()
                asker = Asker(node)
                worker = CheckWorker(queue, asker)
                worker.start()
                if asker.follow_ups is not None:
                    keeper = FollowUpKeeper(db, asker.follow_ups, node.followup.retention_days)
                    keeper.start()
                if asker.outgoing is not None and node.audit.cosign_interval_s > 0:
                    # The node cannot open the log this desk holds: the desk has it cosigned.
                    every = node.audit.cosign_interval_s
                    cosigner = OutgoingCosigner(
                        node, asker.outgoing, asker.transports, interval_s=every
                    )
                    cosigner.start()
            incoming = FollowUpStore(node.layout.followups)
            state = DeskState(settings, db, queue, node, asks=owner, asker=asker,
                              incoming=incoming)  # fmt: skip
            app = create_app(state)
            server = uvicorn.Server(
                uvicorn.Config(
                    app,
                    log_config=None,
                    access_log=False,
                    ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
                    ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
                    timeout_graceful_shutdown=int(settings.sync_wait_s) + 5,
                )
            )
            if port_file is not None:
                tmp = port_file.with_name(f".{port_file.name}.tmp")
                tmp.write_text(f"{sock.getsockname()[1]}\n", encoding="ascii")
                tmp.replace(port_file)
            _log.info(
                "desk serving",
                extra={"event": "serving", "address": address, "url": url,
                       "country": node.node.country, "asks": owner,
                       "database": db.safe_url},
            )  # fmt: skip
            # uvicorn handles SIGTERM/SIGINT while it serves, then re-raises the signal to
            # the handler it found: make that a no-op so the worker, the outgoing log and the
            # database are closed in order below and the desk exits 0.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, _after_shutdown)
            server.run(sockets=[sock])
    finally:
        for timer in (keeper, cosigner):
            if timer is not None:
                timer.stop()
                timer.join(timeout=30)
        if worker is not None:
            worker.stop()
            worker.join(timeout=60)
        if asker is not None:
            asker.close()
        db.close()
        sock.close()
        _log.info("desk stopped", extra={"event": "stopped"})
