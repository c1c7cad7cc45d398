"""The demo's checks, as an investigator sees them, and its closing summary."""

from __future__ import annotations

import csv
import shlex
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from federation.hitcheck import HitCheck
from federation.hitcheck_types import CheckContext, CheckItem
from node.ask.check_items import check_item
from node.ask.check_render import render_table
from node.demo.scenario import Planted, Recall, batch_items, measure_recall, write_csv
from node.demo.setup import Network

__all__ = ["show_batch", "show_singles", "show_summary"]

CASE = "DEMO-2026-0042"
PURPOSE = "seized firearms, trafficking investigation"


def _item(make: str, serial: str) -> CheckItem:
    return check_item(make, serial)  # identifier rules v2, as the demo's nodes index


def _messy(serial: str) -> str:
    s = serial.replace(" ", "").replace("-", "").lower()
    return f"{s[: len(s) // 2]} {s[len(s) // 2 :]}"


def _unplanted(net: Network, asker: str, planted: Sequence[Planted]) -> tuple[str, str]:
    taken = {(p.make, p.serial) for p in planted}
    with (net.root / "registries" / f"{asker.lower()}.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if (row["make"], row["serial"]) not in taken and len(row["serial"]) >= 5:
                return row["make"], row["serial"]
    return "Glock", "ZZZ999"


def show_singles(
    check: HitCheck, planted: Sequence[Planted], asker: str, net: Network, console: Console
) -> None:
    """A few single checks: a hit, a hit typed messily, a possible match, a no-hit."""
    exact = [p for p in planted if p.kind == "make_serial"]
    loose = [p for p in planted if p.kind == "serial_only"]
    asks: list[tuple[str, str, str]] = []
    if exact:
        p = exact[0]
        asks.append(
            (f"registered in {asker}, reported {p.category} in {p.country}", p.make, p.serial)
        )
    if len(exact) > 1:
        p = next((q for q in exact[1:] if q.country != exact[0].country), exact[1])
        asks.append(
            ("typed as the officer read it off the frame", p.make.upper(), _messy(p.serial))
        )
    if loose:
        p = loose[0]
        asks.append((f"same serial under another make in {p.country}", p.make, p.serial))
    make, serial = _unplanted(net, asker, planted)
    asks.append(("known only at home", make, serial))
    config = net.nodes[asker].config_path
    context = CheckContext(CASE, PURPOSE, "", "inv-0042")
    for why, make, serial in asks:
        command = ["fedlookup", "check", "--config", str(config), "--make", make,
                   "--serial", serial, "--case", CASE, "--purpose", PURPOSE]  # fmt: skip
        console.print(f"\n[bold]{why}[/]")
        console.print(f"$ {shlex.join(command)}", highlight=False, soft_wrap=True)
        render_table(check.run([_item(make, serial)], context), console, show_all=True)


def show_batch(
    check: HitCheck, planted: Sequence[Planted], net: Network, asker: str, size: int,
    console: Console,
) -> Recall:  # fmt: skip
    """The batch check of a seizure list holding every planted firearm; returns the recall."""
    items = batch_items(planted, net.root / "registries" / f"{asker.lower()}.csv", size)
    path = net.root / "seizure-list.csv"
    write_csv(items, path)
    console.print(
        f"$ fedlookup check --config {net.nodes[asker].config_path} --file {path} "
        f'--case {CASE} --purpose "{PURPOSE}"',
        highlight=False,
        soft_wrap=True,
    )
    context = CheckContext(CASE, "seizure list", "", "inv-0042")
    done: dict[str, int] = {}
    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:  # fmt: skip
        task = bar.add_task("check", total=len(items) * len(check.peers))

        def progress(country: str, items_done: int) -> None:
            bar.advance(task, items_done - done.get(country, 0))
            done[country] = items_done

        result = check.run(items, context, progress=progress)
    render_table(result, console, show_all=False, limit=12)
    recall = measure_recall(result, planted)
    per_ms = result.elapsed_ms / max(1, len(items))
    console.print(
        f"Planted make+serial overlaps found as hits: [bold]{recall.exact_found}/"
        f"{recall.exact_planted}[/]; serial-only plantings found: [bold]"
        f"{recall.serial_only_found}/{recall.serial_only_planted}[/]; "
        f"other hits {recall.other_hits} (the same firearm registered in two countries by "
        f"chance), other possible matches {recall.other_possible}. "
        f"{per_ms:.2f} ms per firearm for {len(check.peers)} countries.",
        highlight=False,
    )
    return recall


def show_summary(
    console: Console,
    net: Network,
    asker: str,
    total_s: float,
    kept: bool,
    ok: bool,
    example: tuple[str, str] = ("Glock", "ABC123"),
) -> None:
    """The closing lines, with the commands to rerun a kept network."""
    console.rule("[bold]Done")
    verdict = "[green]all planted overlaps found, all audit logs valid[/]" if ok else (
        "[red]something did not hold: see above[/]"
    )  # fmt: skip
    console.print(f"Demo finished in {total_s:.0f} s: {verdict}")
    if not kept:
        console.print("Everything was temporary and is gone. Keep it with --keep DIR.")
        return
    r = net.root
    cfg = {c: n.config_path.relative_to(r) for c, n in net.nodes.items()}
    lines = [f"cd {r}"]
    lines += [f"fedlookup node serve --config {p} &" for p in cfg.values()]
    lines += [
        f"fedlookup check --config {cfg[asker]} --make {shlex.quote(example[0])} "
        f'--serial {shlex.quote(example[1])} --case {CASE} --purpose "{PURPOSE}"',
        f"fedlookup check --config {cfg[asker]} --file seizure-list.csv --case {CASE} "
        '--purpose "seizure list" --format csv',
        f"fedlookup desk serve --config {cfg[asker]} &   # web console; login printed above",
        "kill %1 %2 %3 %4   # stop the nodes and the desk, then audit:",
    ]
    for c, n in net.nodes.items():
        d = n.folder.relative_to(r)
        lines.append(
            f"fedlookup audit export --log {d}/data/audit --key {d}/keys/audit.key "
            f"--out exports/{c.lower()}-again && fedlookup audit verify exports/{c.lower()}-again"
        )
    console.print("The network is kept. To run it again:")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
