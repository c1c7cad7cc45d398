"""The README tour and the pages that continue it run as written, in order, in a new folder.

Every ```` ```bash ```` block of README.md's "A short tour", then of each page in
:data:`CONTINUES_THE_TOUR`, is concatenated, in document order, into one ``bash -e``
script, run in an empty temporary folder with this environment's ``fedlookup`` first on
``PATH``. Nothing is rewritten: sizes, ports and paths are the documents' own. Background
nodes the tour starts (``&``) are stopped when the script ends, by process group.

Blocks fenced other than ``bash`` (``toml``, ``json``, plain, and the runbook's container
and production commands in docs/operations.md) are not run here; their commands are
still resolved against the real CLI by ``tests/unit/docs/test_operations_runbook.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
#: Pages whose ``bash`` blocks run after the README's, in the README tour's folder.
CONTINUES_THE_TOUR = ["docs/investigators.md"]
#: The tour's fixed ports (README: two nodes on one host, and DE's desk).
TOUR_PORTS = (7441, 7442, 8080)
#: Serialises tours of every checkout on this machine (they share the ports).
LOCK = Path(tempfile.gettempdir()) / "fedlookup-readme-tour.lock"
#: grpc's own chatter that must never reach an investigator or a node log at INFO.
NATIVE_NOISE = ("is not suitable for production", "absl::InitializeLog")


def bash_blocks(text: str) -> list[str]:
    """The ``bash`` fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


def tour_script() -> str:
    """The README tour's blocks, then each continuing page's, as one script."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    parts = [f"# README.md: A short tour\n{block}" for block in bash_blocks(tour)]
    for page in CONTINUES_THE_TOUR:
        text = (ROOT / page).read_text(encoding="utf-8")
        parts += [f"# {page}\n{block}" for block in bash_blocks(text)]
    return "set -euo pipefail\nset -x\n" + "\n".join(parts)


def test_the_tour_is_found_and_covers_every_user() -> None:
    script = tour_script()
    for needed in (
        "fedlookup ca init",
        "fedlookup node init",
        "fedlookup registry import",
        "fedlookup node index",
        "fedlookup ca directory",
        "fedlookup node serve",
        "fedlookup check",
        "fedlookup audit export",
        "fedlookup audit cross-check",
    ):
        assert needed in script, f"the tour no longer runs `{needed}`"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the servers do: a port whose last connections sit in TIME_WAIT is free to listen on.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stop_group(pgid: int) -> None:
    """SIGTERM every process of the tour's group, wait for them, SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextlib.contextmanager
def _tour_lock() -> Iterator[None]:
    """One tour at a time on a machine: every checkout's run needs the same two ports."""
    with LOCK.open("a") as handle:
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{LOCK} held for ten minutes"
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    with _tour_lock():
        _run_tour(tmp_path)


def _run_tour(tmp_path: Path) -> None:
    busy = [p for p in TOUR_PORTS if not _port_free(p)]
    assert not busy, f"ports {busy} on 127.0.0.1 are taken: the tour's nodes need them"
    script = tmp_path / "tour.sh"
    script.write_text(tour_script(), encoding="utf-8")
    work = tmp_path / "tour"
    work.mkdir()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in [n for n in env if n.startswith("FEDLOOKUP_")]:
        del env[name]  # the documents' commands, not this machine's overrides
    log = tmp_path / "tour.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(script)],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=240)
        finally:
            _stop_group(proc.pid)  # the nodes the tour left serving
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"the tour stopped with exit {code}:\n{text[-6000:]}"
    # What the README promises the reader sees.
    assert re.search(r"Smith & Wesson\s*│\s*AB 12345\s*│\s*FR\s*│\s*hit\s*│\s*stolen", text)
    assert '"complete": true' in (work / "results.json").read_text(encoding="utf-8")
    assert "no-hit" in (work / "results.json").read_text(encoding="utf-8")
    assert "0 finding(s)" in text
    node_logs = "".join(
        (work / name).read_text(encoding="utf-8") for name in ("fr-node.log", "de-node.log")
    )
    for noise in NATIVE_NOISE:
        assert noise not in text
        assert noise not in node_logs
