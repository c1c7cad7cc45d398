"""Operator actions behind ``fedlookup node index|rotate-key|status``.

They work on the node's files and may run while the node serves: the index is SQLite in
WAL mode (the serving process sees a new version at its next read), epoch keys are files,
and the audit log, which only the serving process may open, is read without opening it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from audit.records import read_records
from federation.index import NodeIndex
from federation.keys import EpochKeyStore, load_or_create_reference_key
from fedlookup.errors import ConfigError, FedlookupError
from fedlookup.files import write_atomic
from node.config import NodeConfig
from node.ops.indexing import IndexReport, run_index
from node.serve.health import health_of
from node.serve.quotas import SqliteQuotaLedger
from registry_adapter import RegistrySource, open_registry

__all__ = ["index_node", "node_status", "rotate_epoch_key", "wait_serving"]


def _open_registry(cfg: NodeConfig) -> RegistrySource:
    # A mapped foreign table has no change feed of its own: its snapshot lives with the node.
    snapshot = cfg.layout.registry_snapshot
    return open_registry(cfg.registry.url, cfg.registry.mapping, snapshot=snapshot)


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


def index_node(
    cfg: NodeConfig, *, full: bool = False, workers: int | None = None, progress: bool = False
) -> IndexReport:
    """Update the node's index from its registry.

    Args:
        cfg: the node configuration.
        full: re-read the whole registry; a damaged index store is first moved aside
            (``index.sqlite3.damaged-<time>``) and a new one built.
        workers: worker processes for the EC work.
        progress: show a progress bar on the terminal.

    Returns:
        The indexing report.

    Raises:
        RegistryUnavailableError: the registry cannot be read.
        KeyFileError: the epoch or reference key is unusable.
        IndexIntegrityError: the index store is damaged (and ``full`` is not set).
    """
    keys = EpochKeyStore(cfg.epoch_key_dir)
    # A full build starts over from an empty store when the stored one is damaged.
    index = NodeIndex(
        cfg.index_dir, key=keys.current(), country=cfg.node.country, set_aside_damaged=full
    )
    try:
        with _open_registry(cfg) as source, _progress_bar(progress) as bar:
            report_progress: Callable[[int, int], None] | None = None
            if bar is not None:
                task = bar.add_task("evaluating identifiers", total=None)

                def report_progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

            rules = cfg.identifier_rules()
            marker = cfg.layout.index_rules
            # Other rules than the index was built under: every record must be re-derived,
            # though only identifiers that are new cost EC work (the index diffs them).
            built = marker.read_text("utf-8").strip() if marker.exists() else "v1"
            report = run_index(
                source,
                index,
                reference_key=load_or_create_reference_key(cfg.reference_key_dir),
                country=cfg.node.country,
                workers=workers,
                full=full,
                reread=built != rules.label,
                progress=report_progress,
                rules=rules,
            )
            write_atomic(marker, (rules.label + "\n").encode())
            return report
    finally:
        index.close()


def rotate_epoch_key(
    cfg: NodeConfig, *, workers: int | None = None, progress: bool = False
) -> tuple[str, IndexReport]:
    """Create a new epoch key and rebuild the whole index under it.

    Until the rebuild commits, the node keeps serving the previous epoch (its key file
    stays); the serving node logs the rotation in its audit log when it sees the new epoch.

    Returns:
        The previous epoch id and the rebuild's report.
    """
    keys = EpochKeyStore(cfg.epoch_key_dir)
    old = keys.current().epoch_id
    keys.rotate()
    return old, index_node(cfg, full=True, workers=workers, progress=progress)


def wait_serving(cfg: NodeConfig, *, address: str | None, timeout: float) -> str:
    """Ask the node's health until it is ``SERVING`` or ``timeout`` seconds have passed.

    Args:
        cfg: the node configuration (its own certificate asks).
        address: ``host:port``; default ``node.listen``.
        timeout: seconds to wait at most.

    Returns:
        The last health answer (``SERVING`` unless the time ran out).

    Raises:
        ConfigError: no address to ask (``node.listen`` has port 0 and no ``address``).
    """
    target = address or (None if cfg.node.listen.endswith(":0") else cfg.node.listen)
    if target is None:
        raise ConfigError("--address", "node.listen has port 0: give the address to wait for")
    deadline = time.monotonic() + timeout
    while True:
        health = health_of(cfg, target, timeout=min(3.0, timeout))
        if health == "SERVING" or time.monotonic() >= deadline:
            return health
        time.sleep(0.2)


def node_status(cfg: NodeConfig, *, address: str | None = None) -> dict[str, Any]:
    """A summary of the node's local state, plus its health when it can be asked.

    Args:
        cfg: the node configuration.
        address: ``host:port`` to ask for health; default ``node.listen`` unless its port is 0.

    Returns:
        JSON-ready fields: country, listen, index, quotas_today, audit, health.
    """
    doc: dict[str, Any] = {"country": cfg.node.country, "listen": cfg.node.listen}
    keys = EpochKeyStore(cfg.epoch_key_dir)
    try:
        index = NodeIndex(cfg.index_dir, key=keys.current(), country=cfg.node.country)
        try:
            doc["index"] = {"version": index.version, "size": index.size, "epoch": index.epoch_id}
        finally:
            index.close()
    except FedlookupError as exc:
        doc["index"] = f"unavailable: {exc}"
    ledger = SqliteQuotaLedger(cfg.quota_db)
    try:
        doc["quotas_today"] = ledger.usage_today()
    finally:
        ledger.close()
    entries = cfg.audit_dir / "entries.rec"
    checkpoints = cfg.audit_dir / "checkpoints.rec"
    audit: dict[str, Any] = {"entries": len(read_records(entries)) if entries.exists() else 0}
    if checkpoints.exists():
        signed = read_records(checkpoints)
        if signed:
            audit["last_checkpoint_size"] = int(signed[-1].decode().split("\n")[1])
    doc["audit"] = audit
    target = address or (None if cfg.node.listen.endswith(":0") else cfg.node.listen)
    doc["health"] = health_of(cfg, target) if target else "unknown (no fixed port)"
    return doc
