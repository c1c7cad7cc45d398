"""``fedlookup node``: initialise, index, run and inspect a country's node.

Commands raise :class:`~fedlookup.errors.FedlookupError`; ``node.cli.main`` turns it into exit
code 2 with the message (a bad configuration names the field).
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import typer

from node.cli.common import CONFIG_ENV, EXIT_FINDINGS, console, print_json
from node.config import NodeConfig
from node.logs import configure_logging

app = typer.Typer(no_args_is_help=True)

_CONFIG = typer.Option(
    Path("node.toml"),
    "--config",
    "-c",
    envvar=CONFIG_ENV,
    help=f"The node's configuration file (or ${CONFIG_ENV}).",
    exists=False,
)


def _load(config: Path) -> NodeConfig:
    return NodeConfig.from_toml(config)


@app.command()
def init(
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2 code, e.g. DE."),
    folder: Path = typer.Option(..., "--dir", help="Folder of the new node."),
    ca_dir: Path | None = typer.Option(
        None, "--ca-dir", help="Federation CA folder: issue the node certificate from it."
    ),
    listen: str = typer.Option("127.0.0.1:7443", "--listen", help="gRPC host:port."),
    registry: str = typer.Option(
        "sqlite:///data/registry.db", "--registry", help="Registry URL (relative to --dir)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Create a node folder: node.toml, keys (0600), data folder, optional certificate."""
    from node.ops.bootstrap import init_node

    report = init_node(country, folder, ca_dir=ca_dir, listen=listen, registry_url=registry)
    summary = {
        "config": str(report.config),
        "audit_public_key": report.audit_public_key,
        "epoch_id": report.epoch_id,
        "certificate_issued": report.certificate_issued,
    }
    if as_json:
        print_json(summary)
        return
    console.print(f"[green]initialised[/] {country} node in {folder}")
    console.print(f"  configuration     {report.config}")
    console.print(f"  audit public key  {report.audit_public_key}  (for the directory)")
    if not report.certificate_issued:
        console.print("  next: put node.pem, node.key, ca.pem, crl.pem in tls/, and directory.json")


@app.command()
def serve(
    config: Path = _CONFIG,
    port_file: Path | None = typer.Option(
        None, "--port-file", help="Write the bound port to this file once listening."
    ),
) -> None:
    """Run the node in the foreground until SIGTERM or Ctrl-C (graceful shutdown)."""
    from fedlookup.lifeline import orphaned
    from node.logs import HANDSHAKE_LISTENERS, capture_native_log
    from node.serve.server import write_port_file
    from node.serve.service import serving

    cfg = _load(config)
    configure_logging(cfg.node.log_format, cfg.node.log_level, capture_native_log())
    with serving(cfg) as node:
        HANDSHAKE_LISTENERS.append(node.service.metrics.refused)

        def _stop(signum: int, frame: FrameType | None) -> None:
            node.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        if port_file is not None:
            write_port_file(port_file, node.port)
        while not node.wait(0.5):
            if orphaned():  # started by a demo or test run that was killed
                node.stop()


@app.command()
def index(
    config: Path = _CONFIG,
    full: bool = typer.Option(False, "--full", help="Re-read the whole registry."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Bring the encrypted index up to date with the registry (only changes cost EC work)."""
    from node.ops.operations import index_node

    cfg = _load(config)
    report = index_node(cfg, full=full, workers=workers, progress=not as_json and not console.quiet)
    summary = {
        "version": report.version,
        "epoch_id": report.epoch_id,
        "size": report.size,
        "full": report.full,
        "changes": report.changes,
        "evaluated": report.evaluated,
        "added": report.added,
        "removed": report.removed,
        "resealed": report.resealed,
        "rejected": [
            {"record_id": r.record_id, "field": r.field, "reason": r.reason}
            for r in report.rejected
        ],
        "seconds": round(report.seconds, 3),
    }
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"index v{report.version} ({report.size} entries, epoch {report.epoch_id}): "
            f"{report.added} added, {report.removed} removed, {report.resealed} resealed, "
            f"{report.evaluated} evaluated in {report.seconds:.1f} s"
        )
        for r in report.rejected:
            console.print(f"  [yellow]not indexed[/] {r.record_id}: {r.field}: {r.reason}")
    if report.rejected:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("rotate")
@app.command("rotate-key")
def rotate_key(
    config: Path = _CONFIG,
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Create a new epoch key and rebuild the index under it (peers resync in full)."""
    from node.ops.operations import rotate_epoch_key

    cfg = _load(config)
    old, report = rotate_epoch_key(cfg, workers=workers, progress=not as_json and not console.quiet)
    summary = {"previous_epoch": old, "epoch_id": report.epoch_id, "version": report.version}
    if as_json:
        print_json(summary)
    else:
        console.print(f"rotated epoch {old} -> {report.epoch_id}; index v{report.version}")


#: Days an old epoch key is kept after the next epoch was created (``node prune``).
PRUNE_GRACE_DAYS = 7


@app.command()
def prune(
    config: Path = _CONFIG,
    grace_days: float = typer.Option(
        PRUNE_GRACE_DAYS, "--grace-days", min=0, help="Keep keys superseded fewer days ago."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Delete old epoch keys superseded more than --grace-days ago (the current one stays)."""
    from datetime import timedelta

    from federation.keys import EpochKeyStore

    cfg = _load(config)
    keys = EpochKeyStore(cfg.epoch_key_dir)
    gone = keys.prune_superseded(timedelta(days=grace_days))
    summary = {"pruned": gone, "kept": keys.epochs(), "grace_days": grace_days}
    if as_json:
        print_json(summary)
    else:
        console.print(f"pruned {len(gone)} epoch key(s); kept {', '.join(keys.epochs())}")


@app.command()
def status(
    config: Path = _CONFIG,
    address: str | None = typer.Option(
        None, "--address", help="host:port to ask for health (default: node.listen)."
    ),
    wait: float = typer.Option(
        0.0,
        "--wait",
        min=0.0,
        help="Wait up to this many seconds for the node to be SERVING; exit 1 if it is not.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Local state (index, quotas today, audit log) and, if the node serves, its health."""
    from node.logs import quiet_native_log
    from node.ops.operations import node_status, wait_serving

    quiet_native_log()
    cfg = _load(config)
    if wait:
        wait_serving(cfg, address=address, timeout=wait)
    doc = node_status(cfg, address=address)
    if as_json:
        print_json(doc)
    else:
        from node.cli.status_view import status_table

        console.print(status_table(doc))
    if wait and doc.get("health") != "SERVING":
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def csr(
    config: Path = _CONFIG,
    out: Path = typer.Option(..., "--out", help="The request file (PEM) for the authority."),
    hosts: list[str] = typer.Option(
        [], "--host", help="Host name or address (repeatable); default: the current ones."
    ),
    new_key: bool = typer.Option(
        False, "--new-key", help="Request for a new key (installed with its certificate)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Write a certificate request signed with this node's key (for `fedlookup ca sign-csr`)."""
    from node.ops.cert_requests import write_csr

    report = write_csr(_load(config), out, hosts=hosts, new_key=new_key)
    if as_json:
        print_json({**report.__dict__, "request": str(report.request), "key": str(report.key)})
        return
    console.print(f"request for {report.country} ({', '.join(report.hosts)}) -> {report.request}")
    console.print(f"  key {report.key}{' (new, 0600)' if report.new_key else ''} stays here")


@app.command("install-cert")
def install_cert(
    config: Path = _CONFIG,
    cert: Path = typer.Option(..., "--cert", help="The certificate the authority sent back."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Check a certificate against this node (root, CRL, country, key) and install it."""
    from node.ops.cert_requests import install_certificate

    report = install_certificate(_load(config), cert)
    if as_json:
        print_json({**report.__dict__, "cert": str(report.cert)})
        return
    rotated = "; the new key replaced the old one" if report.key_rotated else ""
    console.print(
        f"installed {report.country} certificate, valid until {report.not_after}{rotated}"
    )
    if report.key_rotated:
        console.print("  [yellow]new key: the authority must publish a new directory (pin)[/]")


@app.command()
def cosign(
    config: Path = _CONFIG,
    wait: float = typer.Option(
        60.0, "--wait", min=1.0, help="Seconds to wait for the serving node to run the round."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ask every peer to cosign this node's latest audit checkpoints, now (one round).

    The serving node runs the round (it holds the log); when the node is stopped, this
    command does. Exit status 1 when a peer did not cosign (down, or refusing).
    """
    from node.serve.cosign_timer import cosign_now

    cfg = _load(config)
    results = cosign_now(cfg, wait=wait)
    if as_json:
        print_json({"results": [r.__dict__ for r in results], "ok": all(r.ok for r in results)})
    else:
        from rich.table import Table

        table = Table("log", "peer", "status", "size", "reason")
        for r in results:
            style = "green" if r.ok else "red"
            table.add_row(r.origin, r.witness, f"[{style}]{r.status}[/]", str(r.size), r.reason)
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_FINDINGS)
