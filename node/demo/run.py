"""``fedlookup demo``: a whole federation from nothing, on this machine, in about a minute.

Steps (each printed as a section): a federation CA; one generated registry per country,
the peers' registries holding firearms of the asking country under other spellings;
node folders and encrypted indexes; the nodes as separate processes on 127.0.0.1 and the
signed directory listing them; the asking node's mirrors of the others' indexes; a few
single checks and one batch check, shown as the investigator sees them, with recall against
the plantings; the asking country's desk (web console and HTTP API) with a demo login and
one check through its API; each node's logs cosigned by its peers; the nodes stopped; every
audit log exported, verified (every peer's cosignature required) and cross-checked.

Nodes are always stopped, on success, failure or Ctrl-C. With ``keep`` the whole network
stays on disk, with the commands to run it again.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from node.ask.asker import open_hit_check
from node.demo.audit import cosign_logs, verify_logs
from node.demo.network import NodeProcesses
from node.demo.scenario import Planted, Recall, read_planted
from node.demo.setup import Network, create_network, pin_listen, pin_metrics, publish_directory
from node.demo.show import CASE, PURPOSE, show_batch, show_singles, show_summary
from node.desk.demo import DeskDemo, show_desk
from node.ops.operations import index_node
from registry_adapter.generate import generate_registry
from registry_adapter.store import RegistryStore

__all__ = ["DemoOptions", "DemoReport", "run_demo"]


@dataclass(frozen=True)
class DemoOptions:
    """What the demo builds.

    Attributes:
        records: records per registry.
        countries: member countries; the first one asks.
        overlap: firearms of the asking country planted in each peer's registry.
        batch: firearms in the batch check.
        keep: leave the network in this folder (must not exist or be empty).
        workers: worker processes for indexing (default: every core).
        seed: seed of the generated registries.
    """

    records: int = 20_000
    countries: tuple[str, ...] = ("DE", "FR", "NL")
    overlap: int = 40
    batch: int = 1000
    keep: Path | None = None
    workers: int | None = None
    seed: int = 1


@dataclass
class DemoReport:
    """What the demo measured."""

    root: Path
    steps: dict[str, float] = field(default_factory=dict)
    recall: Recall | None = None
    desk: DeskDemo | None = None
    audit_ok: bool = False
    total_s: float = 0.0


@contextmanager
def _step(report: DemoReport, console: Console, title: str) -> Iterator[None]:
    console.rule(f"[bold]{title}")
    started = time.perf_counter()
    yield
    report.steps[title] = time.perf_counter() - started
    console.print(f"[dim]({report.steps[title]:.1f} s)[/]")


def _root(options: DemoOptions) -> Path:
    if options.keep is None:
        return Path(tempfile.mkdtemp(prefix="fedlookup-demo-"))
    if options.keep.exists() and any(options.keep.iterdir()):
        from fedlookup.errors import InputError

        raise InputError("must be a new or empty folder", field="--keep")
    options.keep.mkdir(parents=True, exist_ok=True)
    return options.keep.resolve()


def run_demo(options: DemoOptions, console: Console) -> DemoReport:
    """Run the demo; see the module docstring.

    Raises:
        FedlookupError: a step failed (the nodes are stopped first).
    """
    started = time.perf_counter()
    root = _root(options)
    report = DemoReport(root)
    asker = options.countries[0]
    finished = False
    try:
        with _step(report, console, "1. Federation authority and node folders"):
            net = create_network(root, options.countries, identifiers="v2")
            console.print(f"In {root}: the federation CA in ca/, node folders " + ", ".join(
                f"{n.folder.name}/ ({c})" for c, n in net.nodes.items()
            ), highlight=False)  # fmt: skip
        with _step(report, console, "2. Registries (generated, with cross-border plantings)"):
            planted = _registries(net, options, console)
        with _step(report, console, "3. Encrypted indexes"):
            _indexes(net, options, console)
        with NodeProcesses() as nodes:
            with _step(report, console, "4. Nodes on 127.0.0.1 (separate processes, mTLS)"):
                _start(net, nodes, console)
            config = net.nodes[asker].config()
            with open_hit_check(config, timeout=10, sync_timeout=120) as check:
                with _step(report, console, f"5. {asker} mirrors the others' indexes"):
                    table = Table("country", "fetched", "entries", "index version", "epoch")
                    for peer in check.peers:
                        r = check.mirrors.refresh(peer, timeout=10, sync_timeout=120)
                        table.add_row(peer.country, r.kind.value, f"{r.mirror.size:,}",
                                      str(r.mirror.version), r.mirror.epoch_id or "")  # fmt: skip
                    console.print(table)
                with _step(report, console, f"6. Single checks by a {asker} investigator"):
                    show_singles(check, planted, asker, net, console)
                with _step(report, console, f"7. Batch check: a seizure list of {options.batch}"):
                    report.recall = show_batch(check, planted, net, asker, options.batch, console)
            with _step(report, console, f"8. {asker}'s investigators' desk (web console, API)"):
                report.desk = _desk(net, asker, planted, console)
            with _step(report, console, "9. Peers cosign each other's audit checkpoints"):
                cosigned = cosign_logs(net, console)
            with _step(report, console, "10. Stopping the nodes"):
                codes = nodes.stop_all()
                console.print(", ".join(f"{c} exited {code}" for c, code in codes.items()))
        with _step(report, console, "11. Audit logs: export, verify, cross-check"):
            report.audit_ok = verify_logs(net, asker, root / "audit-exports", console)
            report.audit_ok &= cosigned
        finished = True
    except KeyboardInterrupt:
        finished = True  # the user stopped it: nothing to inspect
        console.print("[yellow]Interrupted[/]: the nodes are stopped.")
        raise
    finally:
        report.total_s = time.perf_counter() - started
        if options.keep is None and finished:
            shutil.rmtree(root, ignore_errors=True)
        elif not finished:
            console.print(f"[red]The demo stopped early[/]; its files are in {root}")
    ok = report.audit_ok and report.recall is not None and report.recall.complete
    example = next(((p.make, p.serial) for p in planted if p.kind == "make_serial"), None)
    kept = options.keep is not None
    if example is not None:
        show_summary(console, net, asker, report.total_s, kept, ok, example)
    else:
        show_summary(console, net, asker, report.total_s, kept, ok)
    return report


def _desk(net: Network, asker: str, planted: list[Planted], console: Console) -> DeskDemo:
    example = next(((p.make, p.serial) for p in planted if p.kind == "make_serial"), None)
    owners = {c: n.config_path for c, n in net.nodes.items() if c != asker}
    return show_desk(
        net.nodes[asker].config_path,
        example or ("Glock", "ABC123"),
        CASE,
        PURPOSE,
        console,
        owners,
    )


def _registries(net: Network, options: DemoOptions, console: Console) -> list[Planted]:
    folder = net.root / "registries"
    folder.mkdir()
    asker = options.countries[0]
    source = folder / f"{asker.lower()}.csv"
    table = Table("country", "records", "planted from " + asker, "file")
    generate_registry(source, country=asker, records=options.records, seed=options.seed)
    table.add_row(asker, f"{options.records:,}", "", str(source.relative_to(net.root)))
    planted: list[Planted] = []
    for country in options.countries[1:]:
        out = folder / f"{country.lower()}.csv"
        summary = generate_registry(
            out, country=country, records=options.records, seed=options.seed,
            overlap_with=source, overlap=min(options.overlap, options.records),
        )  # fmt: skip
        if summary.overlap_path is not None:
            planted += read_planted(country, summary.overlap_path)
        table.add_row(
            country, f"{options.records:,}", str(summary.planted), str(out.relative_to(net.root))
        )
    for country, node in net.nodes.items():
        store = RegistryStore(node.config().registry.url)
        try:
            store.import_file(folder / f"{country.lower()}.csv")
        finally:
            store.close()
    console.print(table)
    sample = next((p for p in planted if p.kind == "make_serial"), None)
    if sample is not None:
        console.print(
            f"e.g. {asker} registered [bold]{sample.make} {sample.serial}[/]; "
            f"{sample.country} holds it as [bold]{sample.planted_make} {sample.planted_serial}"
            f"[/] ({sample.category})"
        )
    return planted


def _indexes(net: Network, options: DemoOptions, console: Console) -> None:
    table = Table("country", "index version", "entries", "epoch", "seconds")
    for country, node in net.nodes.items():
        r = index_node(node.config(), workers=options.workers, progress=console.is_terminal)
        table.add_row(country, str(r.version), f"{r.size:,}", r.epoch_id, f"{r.seconds:.1f}")
    console.print(table)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(net: Network, nodes: NodeProcesses, console: Console) -> None:
    table = Table("country", "endpoint", "pid", "metrics", "log")
    metrics = {c: _free_port() for c in net.nodes}
    for country, node in net.nodes.items():
        pin_metrics(node, metrics[country])
    started = nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
    for country, node in net.nodes.items():
        running = started[country]
        pin_listen(node, running.port)  # a restart (--keep) comes back on the same port
        log = str(running.log.relative_to(net.root))
        url = f"http://127.0.0.1:{metrics[country]}/metrics"
        table.add_row(country, running.endpoint, str(running.process.pid), url, log)
    publish_directory(net, {c: p.endpoint for c, p in nodes.nodes.items()}, version=2)
    console.print(table)
    console.print("Federation directory v2 signed by the CA, listing every endpoint.")
    console.print(
        "Prometheus metrics while the nodes run: the metrics column (health: /healthz on the"
        " same port; alert rules and a dashboard in docker/prometheus, docker/grafana).",
        highlight=False,
    )
