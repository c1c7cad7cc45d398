"""A killed orchestrator leaves no node behind (``fedlookup.lifeline``).

An orchestrator process (as ``fedlookup demo`` or a test run) starts a real
``fedlookup node serve`` through :class:`node.demo.network.NodeProcesses`, then is killed
with SIGKILL, so none of its clean-up runs; the node must be gone within seconds. The
environment fallback is checked on its own with a child that only watches
:func:`fedlookup.lifeline.orphaned`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from node.demo.setup import create_network
from node.ops.operations import index_node
from registry_adapter import RegistryStore

ORCHESTRATOR = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from node.demo.network import NodeProcesses
    procs = NodeProcesses()
    node = procs.start("DE", Path(sys.argv[1]))
    print(node.process.pid, flush=True)
    time.sleep(600)
    """
)

WATCHER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from fedlookup.lifeline import PARENT_ENV
    child = "import time\\nfrom fedlookup.lifeline import orphaned\\n" \\
        "while not orphaned(): time.sleep(0.1)"
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    proc = subprocess.Popen([sys.executable, "-c", child], env=env, start_new_session=True)
    print(proc.pid, flush=True)
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_parent_and_wait(script: str, *args: str, grace: float = 10.0) -> float:
    """Run ``script``, read its child's pid, SIGKILL it; return how long the child lived on."""
    with subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        try:
            assert _alive(child)
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            killed = time.monotonic()
            while _alive(child) and time.monotonic() - killed < grace:
                time.sleep(0.05)
            assert not _alive(child), f"child {child} outlived its killed parent"
            return time.monotonic() - killed
        finally:
            if _alive(child):
                os.kill(child, signal.SIGKILL)


def test_node_dies_with_its_killed_orchestrator(tmp_path: Path) -> None:
    network = create_network(tmp_path, ["DE"])
    node = network.nodes["DE"]
    csv = tmp_path / "de.csv"
    csv.write_text("record_id,make,model,caliber,serial,category,recorded_at\n"
                   "de-1,Glock,17,9mm,DE000001,stolen,2024-03-01\n")  # fmt: skip
    with RegistryStore(node.config().registry.url) as store:
        store.import_file(csv)
    index_node(node.config(), workers=1)
    lived_on = _kill_parent_and_wait(ORCHESTRATOR, str(node.config_path))
    assert lived_on < 5.0


def test_orphaned_child_notices_without_the_kernel_signal() -> None:
    lived_on = _kill_parent_and_wait(WATCHER)
    assert lived_on < 5.0
