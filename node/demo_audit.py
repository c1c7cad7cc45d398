"""The demo's audit step: export every log, verify it offline, cross-check asker and peers.

What an auditor does with ``fedlookup audit export``, ``audit verify`` and ``audit
cross-check``, through the same library calls, once the nodes are stopped (exporting with
the audit key signs a final checkpoint, so every entry is covered).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from audit.crosscheck import cross_check
from audit.export import export_log
from audit.keys import load_private_key
from audit.verify import ExportView, load_export, verify_export
from node.asker import outgoing_log_dir
from node.demo_setup import Network

__all__ = ["verify_logs"]


def verify_logs(network: Network, asker: str, out: Path, console: Console) -> bool:
    """Export and verify each node's log and the asker's outgoing log, then cross-check the
    asker's outgoing log against each peer's log. Returns whether everything held."""
    out.mkdir(parents=True, exist_ok=True)
    table = Table("log", "entries", "checkpoints", "verification")
    ok = True
    views: dict[str, ExportView] = {}
    logs = [(c, n.config().audit_dir, c.lower()) for c, n in network.nodes.items()]
    asker_config = network.nodes[asker].config()
    logs.append((f"{asker} outgoing", outgoing_log_dir(asker_config), f"{asker.lower()}-outgoing"))
    for name, log_dir, folder in logs:
        country = name.split()[0]
        key = load_private_key(network.nodes[country].config().audit.key)
        summary = export_log(log_dir, out / folder, signing_key=key)
        report = verify_export(summary.path)
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
    console.print(f"Exports in {out} (fedlookup audit verify {out}/<log>)", highlight=False)
    return ok
