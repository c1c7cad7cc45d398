"""The demo's audit step: export every log, verify it offline, cross-check asker and peers.

Before the nodes stop, each one collects its peers' cosignatures (``fedlookup node
cosign``). Then what an auditor does with ``fedlookup audit export``, ``audit policy``,
``audit verify`` and ``audit cross-check``, through the same library calls, once the nodes
are stopped (exporting with the audit key signs a final checkpoint only when entries came
after the cosigned one).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from audit.crosscheck import cross_check
from audit.export import export_log
from audit.keys import load_private_key
from audit.verify import ExportView, load_export, verify_export
from federation.directory import load_directory
from node.demo.setup import Network
from node.serve.cosign_timer import cosign_now
from node.serve.cosigning import trusted_policy

__all__ = ["cosign_logs", "verify_logs"]


def cosign_logs(network: Network, console: Console) -> bool:
    """Have every running node collect its peers' cosignatures on its logs (what the node's
    timer does every ``audit.cosign_interval_s``). Returns whether every peer cosigned."""
    table = Table("log", "cosigned by", "tree size")
    ok = True
    for node in network.nodes.values():
        results = cosign_now(node.config(), wait=60)
        ok &= all(r.ok for r in results)
        for origin in dict.fromkeys(r.origin for r in results):
            mine = [r for r in results if r.origin == origin]
            signed = ", ".join(
                r.witness if r.ok else f"[red]{r.witness}: {r.status}[/]" for r in mine
            )
            table.add_row(origin, signed, str(max(r.size for r in mine)))
    console.print(table)
    return ok


def verify_logs(network: Network, asker: str, out: Path, console: Console) -> bool:
    """Export and verify each node's log and the asker's outgoing log, then cross-check the
    asker's outgoing log against each peer's log. Returns whether everything held."""
    out.mkdir(parents=True, exist_ok=True)
    table = Table("log", "entries", "checkpoints", "verification")
    ok = True
    views: dict[str, ExportView] = {}
    logs = [(c, n.config().audit_dir, c.lower()) for c, n in network.nodes.items()]
    asker_config = network.nodes[asker].config()
    logs.append(
        (f"{asker} outgoing", asker_config.layout.audit_outgoing, f"{asker.lower()}-outgoing")
    )
    for name, log_dir, folder in logs:
        country = name.split()[0]
        key = load_private_key(network.nodes[country].config().audit.key)
        summary = export_log(log_dir, out / folder, signing_key=key)
        # Verified as an auditor would: keys from the signed directory, every peer's
        # cosignature required on the latest checkpoint.
        config = network.nodes[country].config()
        directory = load_directory(config.directory.path, config.directory.authority)
        trusted = trusted_policy(directory, country, outgoing=name.endswith("outgoing"))
        report = verify_export(summary.path, policy=trusted)
        ok &= report.ok
        bad = [f for f in report.findings if not f.valid]
        verdict = "[green]valid[/]" if report.ok else f"[red]INVALID[/] {bad[0].reason}"
        table.add_row(name, str(summary.size), str(summary.checkpoints), verdict)
        views[name] = load_export(summary.path)[0]
    console.print(table)
    for country in network.nodes:
        if country == asker:
            continue
        crossed = cross_check(views[f"{asker} outgoing"], views[country])
        ok &= crossed.ok
        verdict = "[green]consistent[/]" if crossed.ok else "[red]INCONSISTENT[/]"
        console.print(
            f"cross-check {asker} outgoing / {country}: {crossed.matched} queries reconciled, "
            f"{verdict}"
        )
    console.print(f"Exports written to {out}, one folder per log", highlight=False)
    return ok
