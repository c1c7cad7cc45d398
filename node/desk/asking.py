"""The desk's one door into the node's asking code.

Everything the desk uses of the rest of the node goes through this module: reading
``node.toml``, turning (make, serial) into canonical identifiers, the fan-out hit check and
its outgoing-query log, the node's audit logs for the auditor page. When those modules
move, only the imports here change.

Configuration fields (``[desk]`` is read with the node's own field readers) and log
set-up come through here too.

The desk is the single writer of the outgoing-query log: :class:`Asker` holds it (through
:func:`node.ask.asker.open_hit_check`) for the desk's lifetime, and :func:`desk_lock` marks the
data directory with the desk's address, so ``fedlookup check`` can refuse clearly
(:func:`refuse_if_desk_running`) instead of waiting for the log.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.canonical import format_time, parse_time
from audit.export import export_log
from audit.followup import FOLLOWUP_FIELDS
from audit.log import AuditLog
from audit.verify import verify_export
from federation.followup import IncomingFollowUp, check_fields
from federation.grpc_transport import GrpcTransport
from federation.hitcheck_types import CheckContext, CheckItem, CheckResult
from federation.trail import AskerTrail
from fedlookup.errors import FedlookupError, InputError
from node.ask.asker import open_hit_check
from node.ask.check_items import check_item
from node.ask.followup import FollowUpSender
from node.command import fedlookup_command
from node.config import NodeConfig
from node.config_fields import ENV_PREFIX, Fields, apply_env, host_port
from node.followups import FollowUpStore, record_data
from node.logs import configure_logging
from registry_adapter.identifier_versions import IdentifierRules

__all__ = [
    "ENV_PREFIX",
    "FOLLOWUP_FIELDS",
    "Asker",
    "DeskRunningError",
    "Fields",
    "FollowUpSender",
    "FollowUpStore",
    "IncomingFollowUp",
    "LogStatus",
    "NodeConfig",
    "RowError",
    "apply_env",
    "check_fields",
    "configure_logging",
    "desk_lock",
    "fedlookup_command",
    "firearm_items",
    "format_time",
    "host_port",
    "load_node_config",
    "log_statuses",
    "parse_time",
    "record_data",
    "refuse_if_desk_running",
    "running_desk",
]

_LOCK_NAME = "desk.lock"
_CHECKPOINT_S = 5.0


class DeskRunningError(FedlookupError):
    """A desk serves this node and owns its outgoing-query log."""


@dataclass(frozen=True)
class RowError:
    """What is wrong with one firearm of a list (``row`` is 1-based, as people count)."""

    row: int
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The error as a JSON-ready dict."""
        return {"row": self.row, "field": self.field, "message": self.message}


def load_node_config(path: Path) -> NodeConfig:
    """The node's validated configuration (see :meth:`NodeConfig.from_toml`)."""
    return NodeConfig.from_toml(path)


def firearm_items(
    firearms: Sequence[tuple[str, str]], rules: IdentifierRules | None = None
) -> tuple[list[CheckItem], list[RowError]]:
    """Each (make, serial) as the node's check sends it, with every row's problem.

    Validation is the CLI's and ``registry import``'s (:func:`node.ask.check_items.check_item`):
    a placeholder or junk serial is refused with the same reason, an unknown make is checked
    by serial only.

    Args:
        firearms: (make, serial) pairs, in the list's order.
        rules: the node's identifier rules (:meth:`NodeConfig.identifier_rules`); the
            current version's when ``None``.

    Returns:
        The items (of the good rows, in order) and the errors (empty when all are good).
    """
    items: list[CheckItem] = []
    errors: list[RowError] = []
    for row, (make, serial) in enumerate(firearms, start=1):
        make, serial = make.strip(), serial.strip()
        missing = [name for name, value in (("make", make), ("serial", serial)) if not value]
        if missing:
            errors += [RowError(row, name, "empty value") for name in missing]
            continue
        try:
            items.append(check_item(make, serial, rules))
        except InputError as exc:
            errors.append(RowError(row, exc.field or "serial", exc.reason))
    return items, errors


class Asker:
    """The node's hit check, held open for the desk's lifetime (one caller at a time).

    Args:
        config: the node's configuration.
        timeout: seconds per peer call.
    """

    def __init__(self, config: NodeConfig, *, timeout: float = 10.0) -> None:
        self._stack = ExitStack()
        self.rules = config.identifier_rules()
        self._check = self._stack.enter_context(open_hit_check(config, timeout=timeout))
        self.peers = [p.country for p in self._check.peers]
        self._checkpointed = 0.0
        self.follow_ups: FollowUpSender | None = None
        #: The outgoing-query log this desk writes (``None`` without an audit trail).
        self.outgoing: AuditLog | None = None
        #: One authenticated channel per peer, shared by checks, follow-ups and cosigning.
        self.transports: dict[str, GrpcTransport] = {}
        auditor = self._check.auditor
        if isinstance(auditor, AskerTrail):
            # The same channels as the checks (one mutual-TLS channel per peer) and the same
            # outgoing log, whose single writer this desk is.
            self.outgoing = auditor.log
            self.transports = {
                p.country: p for p in self._check.peers if isinstance(p, GrpcTransport)
            }
            self.follow_ups = FollowUpSender(
                config.node.country, self.transports, auditor.log, auditor.key, timeout=timeout
            )

    def run(
        self,
        items: Sequence[CheckItem],
        *,
        case_id: str,
        purpose: str,
        legal_basis: str,
        pseudonym: str,
        progress: Callable[[str, int], None] | None = None,
    ) -> CheckResult:
        """Check ``items`` at every peer, signed under ``pseudonym`` (see :class:`HitCheck`)."""
        context = CheckContext(case_id, purpose, legal_basis, pseudonym)
        result = self._check.run(items, context, progress=progress)
        auditor = self._check.auditor
        now = time.monotonic()
        if isinstance(auditor, AskerTrail) and now - self._checkpointed >= _CHECKPOINT_S:
            # A signed checkpoint at most every few seconds (one signature and fsync), so the
            # auditor page and exports see recent checks without every check paying for it.
            auditor.log.checkpoint()
            self._checkpointed = now
        return result

    def close(self) -> None:
        """Close the peers' channels and the outgoing log."""
        self._stack.close()


@contextmanager
def desk_lock(config: NodeConfig, address: str) -> Iterator[bool]:
    """Hold the node's desk lock while the block runs; yields whether this process got it.

    A second desk on the same data directory does not get it: it serves the console and
    API and leaves the checks to the desk holding the lock (they share the database).
    """
    path = config.node.data_dir / _LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.pwrite(fd, address.encode(), 0)
        try:
            yield True
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def running_desk(config: NodeConfig) -> str | None:
    """The address of the desk holding this node's lock, or ``None`` when none runs."""
    path = config.node.data_dir / _LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 512, 0).decode(errors="replace").strip() or "(unknown)"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def refuse_if_desk_running(config: NodeConfig) -> None:
    """Raise when a desk owns the outgoing-query log (``fedlookup check`` calls this).

    Raises:
        DeskRunningError: naming the desk's address and what to do instead.
    """
    address = running_desk(config)
    if address is not None:
        raise DeskRunningError(
            f"a desk serves this node at {address} and is the single writer of its "
            "outgoing-query log: check through the desk (web console, or POST "
            "/api/v1/checks with a token from `fedlookup desk token add`), or stop the desk"
        )


@dataclass(frozen=True)
class LogStatus:
    """One of the node's logs as the auditor page shows it."""

    name: str
    origin: str
    size: int
    checkpoint: str
    cosigners: tuple[str, ...]
    verified: bool
    findings: tuple[str, ...]
    #: ``verified``, ``findings``, or ``pending`` (no signed checkpoint yet).
    state: str = "verified"


def log_statuses(config: NodeConfig) -> list[LogStatus]:
    """Export and verify the node's own log and its outgoing-query log (read-only)."""
    out: list[LogStatus] = []
    for name, directory in (("node", config.audit_dir), ("outgoing", config.layout.audit_outgoing)):
        if not (directory / "meta.json").exists():
            continue
        with tempfile.TemporaryDirectory(prefix="desk-audit-") as tmp:
            export = Path(tmp) / "export"
            try:
                summary = export_log(directory, export)
                report = verify_export(export)
                note = (export / "checkpoint").read_text(encoding="utf-8")
            except FedlookupError as exc:
                # A log whose first checkpoint is still to come is not a finding.
                pending = "no signed checkpoint" in str(exc)
                state = "pending" if pending else "findings"
                out.append(LogStatus(name, "", 0, "", (), False, (str(exc),), state))
                continue
        signatures = note.partition("\n\n")[2]
        lines = [s.split(" ") for s in signatures.splitlines() if s.startswith("— ")]
        cosigners = tuple(p[1] for p in lines if len(p) > 1 and p[1] != summary.origin)
        findings = tuple(
            f"{category}: {total - good} of {total} invalid"
            for category, (good, total) in report.counts().items()
            if good < total
        )
        state = "verified" if report.ok else "findings"
        out.append(
            LogStatus(
                name, summary.origin, summary.size, note, cosigners, report.ok, findings, state
            )
        )
    return out
