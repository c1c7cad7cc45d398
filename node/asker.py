"""The asking side of a node: a :class:`~federation.hitcheck.HitCheck` wired from ``node.toml``.

:func:`open_hit_check` builds, from a node's configuration: the verified federation
directory (peers and their audit keys), one gRPC transport per peer (mutual TLS with the
node's certificate), the store of index mirrors (``<data_dir>/mirrors``), and the
:class:`AuditedQueries` that sign statements and log every query and receipt.

Outgoing queries go to their own signed log, ``<data_dir>/audit-outgoing`` (origin
``<node origin>/outgoing``, the node's audit key): the node's own log is held open by the
serving process, and a check must run while the node serves. Openings of the commitments
live in ``<data_dir>/openings.sqlite3`` (0600), the only place a queried identifier exists
at rest. Both are verified with ``fedlookup audit verify`` like the node's own log.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.commitment import OpeningStore
from audit.entries import LogEntry
from audit.keys import load_private_key, log_vkey
from audit.log import AuditLog
from audit.receipts import verify_receipt
from audit.statements import QueryStatement, sign
from federation.directory import Directory, load_directory
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.hitcheck import HitCheck
from federation.hitcheck_types import CheckContext, QueryOutcome, SignedQuery
from federation.mirrors import MirrorStore
from fedlookup.errors import AuditError, ConfigError, VerificationError
from node.config import NodeConfig

__all__ = [
    "AuditedQueries",
    "log_origin",
    "mirrors_dir",
    "open_hit_check",
    "openings_path",
    "outgoing_log_dir",
]

_LOCK_WAIT_S = 30.0


def log_origin(country: str) -> str:
    """Origin line of a country's outgoing-query log."""
    return f"fedlookup/{country}/outgoing"


def outgoing_log_dir(config: NodeConfig) -> Path:
    """Directory of the node's outgoing-query log."""
    return config.node.data_dir / "audit-outgoing"


def openings_path(config: NodeConfig) -> Path:
    """SQLite file of the openings of this node's commitments."""
    return config.node.data_dir / "openings.sqlite3"


def mirrors_dir(config: NodeConfig) -> Path:
    """Directory of the peers' index mirrors."""
    return config.node.data_dir / "mirrors"


class AuditedQueries:
    """Signs statements and logs each query, then its outcome and the peer's receipt.

    Thread-safe: the hit check calls it from one thread per peer.

    Args:
        country: this node's country.
        log: the outgoing-query log.
        openings: where commitment openings are kept.
        key: this node's Ed25519 audit key (signs statements).
        directory: the federation directory (the peers' audit keys).
    """

    def __init__(
        self,
        *,
        country: str,
        log: AuditLog,
        openings: OpeningStore,
        key: Ed25519PrivateKey,
        directory: Directory,
    ) -> None:
        self.country = country
        self.log = log
        self.openings = openings
        self.key = key
        self.directory = directory
        self._sent: dict[str, QueryStatement] = {}
        self._lock = threading.Lock()

    def sign_many(
        self, requests: Sequence[tuple[str, Sequence[bytes]]], context: CheckContext
    ) -> list[SignedQuery]:
        """See :meth:`federation.hitcheck_types.QueryAuditor.sign_many`."""
        ids = [QueryStatement.new_request_id() for _ in requests]
        with self._lock:
            commitments = self.openings.create_many(
                [(rid, items) for rid, (_, items) in zip(ids, requests, strict=True)]
            )
        statements = [
            QueryStatement(
                request_id=rid,
                from_country=self.country,
                to_country=to_country,
                case_id=context.case_id,
                purpose=context.purpose,
                legal_basis=context.legal_basis,
                investigator=context.investigator,
                item_count=len(items),
                commitment=commitment,
            )
            for rid, (to_country, items), commitment in zip(ids, requests, commitments, strict=True)
        ]
        signed = []
        for statement in statements:
            data = statement.canonical()
            signed.append(SignedQuery(statement.request_id, data, sign(data, self.key)))
        # Durable before any of these requests may leave: one fsync for the whole batch.
        self.log.append_many([LogEntry.query_sent(s) for s in statements])
        with self._lock:
            for statement in statements:
                self._sent[statement.request_id] = statement
        return signed

    def record_many(self, outcomes: Sequence[QueryOutcome]) -> list[VerificationError | None]:
        """See :meth:`federation.hitcheck_types.QueryAuditor.record_many`."""
        with self._lock:
            statements = [self._sent.pop(o.query.request_id) for o in outcomes]
        problems: list[VerificationError | None] = []
        entries = []
        for outcome, statement in zip(outcomes, statements, strict=True):
            problem: VerificationError | None = None
            status = outcome.status
            if outcome.receipt and not outcome.verified:
                try:
                    self._verify(statement, outcome.receipt)
                except VerificationError as exc:
                    problem, status = exc, "error"
            problems.append(problem)
            entries.append(
                LogEntry.receipt(
                    statement.request_id,
                    statement.from_country,
                    statement.to_country,
                    status=status,
                    hits=outcome.hits,
                    possible=outcome.possible,
                    no_hits=outcome.no_hits,
                    receipt=outcome.receipt,
                )
            )
        self.log.append_many(entries)
        return problems

    def verify_receipt(self, query: SignedQuery, receipt: bytes) -> None:
        """See :meth:`federation.hitcheck_types.QueryAuditor.verify_receipt`."""
        with self._lock:
            statement = self._sent[query.request_id]
        self._verify(statement, receipt)

    def _verify(self, statement: QueryStatement, receipt: bytes) -> None:
        public_key = self.directory.member(statement.to_country).audit_key()
        # The origin of the peer's log is the first line of the checkpoint in the receipt;
        # verify_receipt then checks everything, with the key from the directory.
        try:
            checkpoint = json.loads(receipt)["receipt"]["checkpoint"]
            origin = checkpoint.split("\n", 1)[0]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerificationError("receipt: not a signed receipt object") from exc
        verify_receipt(receipt, public_key, log_vkey(origin, public_key), statement)


def _open_log(directory: Path, origin: str, key: Ed25519PrivateKey, country: str) -> AuditLog:
    # Another investigator's check may hold the log for a moment: wait for it.
    deadline = time.monotonic() + _LOCK_WAIT_S
    while True:
        try:
            return AuditLog.open(directory, origin, key, country=country)
        except AuditError as exc:
            if "another process" not in str(exc) or time.monotonic() > deadline:
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
        DirectorySignatureError, InputError: the directory cannot be trusted or read.
        AuditError: the outgoing log or openings store cannot be opened.
    """
    country = config.node.country
    directory = load_directory(config.directory.path, config.directory.authority)
    if country not in directory.countries:
        raise ConfigError("node.country", f"{country} is not in directory v{directory.version}")
    wanted = [c.upper() for c in peers] if peers else [c for c in directory.countries]
    for c in wanted:
        if c not in directory.countries:
            raise ConfigError("--peer", f"{c} is not a member of directory v{directory.version}")
    credentials = ClientCredentials.from_files(
        ca=config.tls.ca, cert=config.tls.cert, key=config.tls.key
    )
    key = load_private_key(config.audit.key)
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
                max_message_bytes=config.server.max_message_bytes,
            )
            stack.callback(transport.close)
            transports.append(transport)
        log = _open_log(outgoing_log_dir(config), log_origin(country), key, country)
        stack.callback(log.close)
        # A signed checkpoint covering this check's entries, so an export needs no key.
        stack.callback(log.checkpoint)
        openings = OpeningStore(_wal(openings_path(config)))
        stack.callback(openings.close)
        auditor = AuditedQueries(
            country=country, log=log, openings=openings, key=key, directory=directory
        )
        check = HitCheck(
            country=country,
            peers=transports,
            mirrors=MirrorStore(mirrors_dir(config)),
            auditor=auditor,
            timeout=timeout,
            sync_timeout=sync_timeout,
            batched=batched,
            versions={m.country: m.identifiers for m in directory.members if m.identifiers},
        )
        stack.callback(check.close)
        yield check
