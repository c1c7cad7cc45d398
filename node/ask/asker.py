"""The asking side of a node: a :class:`~federation.hitcheck.HitCheck` wired from ``node.toml``.

:func:`open_hit_check` builds, from a node's configuration: the verified federation
directory (peers and their audit keys), one gRPC transport per peer (mutual TLS with the
node's certificate), the store of index mirrors (``<data_dir>/mirrors``), and the
:class:`~federation.trail.AskerTrail` that signs statements and logs every query and receipt.
Requests carry at most ``[ask] max_items_per_request`` items when set (and never more than
each peer publishes).

Outgoing queries go to their own signed log, ``<data_dir>/audit-outgoing`` (origin
``<node origin>/outgoing``, the node's audit key): the node's own log is held open by the
serving process, and a check must run while the node serves. Openings of the commitments
live in ``<data_dir>/openings.sqlite3`` (0600), the only place a queried identifier exists
at rest. Both are verified with ``fedlookup audit verify`` like the node's own log.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.commitment import OpeningStore
from audit.keys import load_private_key
from audit.log import AuditLog
from certs import PeerAuthenticator, ReloadingPeerVerifier
from federation.directory_watch import DirectoryWatcher
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.hitcheck import HitCheck
from federation.index_head import DirectoryHeadCheck
from federation.mirrors import MirrorStore
from federation.trail import AskerTrail
from fedlookup.errors import ConfigError, InputError, LogBusyError
from node.config import NodeConfig
from node.layout import outgoing_log_origin

__all__ = ["open_hit_check"]

_LOCK_WAIT_S = 30.0


def _open_log(directory: Path, origin: str, key: Ed25519PrivateKey, country: str) -> AuditLog:
    # Another investigator's check may hold the log for a moment: wait for it.
    deadline = time.monotonic() + _LOCK_WAIT_S
    while True:
        try:
            return AuditLog.open(directory, origin, key, country=country)
        except LogBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wal(path: Path) -> Path:
    """Put a new openings database in WAL mode (a setting stored in the file): one fsync
    per stored opening instead of a journal file created and deleted each time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()
    return path


@contextmanager
def open_hit_check(
    config: NodeConfig,
    *,
    peers: Sequence[str] | None = None,
    timeout: float = 10.0,
    sync_timeout: float = 120.0,
    batched: bool = True,
) -> Iterator[HitCheck]:
    """A ready :class:`HitCheck` for this node; closes channels and logs on exit.

    Args:
        config: the node's configuration.
        peers: ask only these countries (default: every other member of the directory).
        timeout: seconds per ``NodeInfo`` / ``Evaluate`` call.
        sync_timeout: seconds per index download.
        batched: sign, log and hash once per round for all peers (see :class:`HitCheck`).

    Raises:
        ConfigError: a requested peer is not a member, or this node is not.
        InputError: nobody to ask (no other member, or ``peers`` names this node itself).
        DirectorySignatureError, InputError: the directory cannot be trusted or read.
        AuditError: the outgoing log or openings store cannot be opened.
    """
    country = config.node.country
    # Who is asked comes from the directory as it is now; whom to trust stays live: a member
    # removed or re-keyed in a newer signed directory is refused at once, even by a check
    # held open for a long time (the desk's), whose peer set is fixed when it opens.
    live = DirectoryWatcher(config.directory.path, config.directory.authority)
    directory = live.current
    if country not in directory.countries:
        raise ConfigError("node.country", f"{country} is not in directory v{directory.version}")
    wanted = [c.upper() for c in peers] if peers else [c for c in directory.countries]
    for c in wanted:
        if c not in directory.countries:
            raise ConfigError("--peer", f"{c} is not a member of directory v{directory.version}")
        if peers and c == country:
            raise InputError(
                f"{c} is this node's own country: a node never asks itself", field="--peer"
            )
    if not [c for c in wanted if c != country]:
        # A check that asked nobody must not look like a clean no-hit.
        raise InputError(
            f"nobody to ask: directory v{directory.version} lists no member other than"
            f" {country} (add the other countries with `fedlookup ca directory`)"
        )
    credentials = ClientCredentials.from_files(
        ca=config.tls.ca, cert=config.tls.cert, key=config.tls.key
    )
    # The same check the node's server applies to callers, here to the nodes it calls.
    servers = PeerAuthenticator(ReloadingPeerVerifier([config.tls.ca], [config.tls.crl]), live)
    key = load_private_key(config.audit.key)
    # One verifier of index heads: on receipt, after applying, and on loading from disk.
    heads = DirectoryHeadCheck(live)
    with ExitStack() as stack:
        transports = []
        for c in wanted:
            if c == country:
                continue
            member = directory.member(c)
            transport = GrpcTransport(
                c,
                member.endpoint,
                credentials,
                server_check=servers,
                head_check=heads,
                max_message_bytes=config.server.max_message_bytes,
            )
            stack.callback(transport.close)
            transports.append(transport)
        log = _open_log(config.layout.audit_outgoing, outgoing_log_origin(country), key, country)
        stack.callback(log.close)
        # A signed checkpoint covering this check's entries, so an export needs no key.
        stack.callback(log.checkpoint)
        openings = OpeningStore(_wal(config.layout.openings))
        stack.callback(openings.close)
        auditor = AskerTrail(country=country, log=log, openings=openings, key=key, directory=live)
        check = HitCheck(
            country=country,
            peers=transports,
            mirrors=MirrorStore(config.layout.mirrors, head_check=heads),
            auditor=auditor,
            timeout=timeout,
            sync_timeout=sync_timeout,
            batched=batched,
            versions={m.country: m.identifiers for m in directory.members if m.identifiers},
            max_items_per_request=config.ask.max_items_per_request,
        )
        stack.callback(check.close)
        yield check
