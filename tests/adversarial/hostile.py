"""Helpers of the adversarial suite: run a misbehaving member as its own process
(``tests/adversarial/members/``) and the real ``fedlookup`` command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["ROOT", "fedlookup", "member_process"]

MEMBERS = Path(__file__).resolve().parent / "members"


@contextmanager
def member_process(program: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """Run ``members/<program>.py`` with ``args`` until the block ends (SIGTERM, then kill).

    The program prints ``listening`` once it serves; this waits for that line (10 s).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(MEMBERS / f"{program}.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 10
        line = proc.stdout.readline()
        if line.strip() != "listening":
            proc.kill()
            rest = proc.stdout.read()
            raise AssertionError(f"{program} did not start: {line}{rest}")
        assert time.monotonic() < deadline
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def fedlookup(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real ``fedlookup`` command (JSON log lines on stderr)."""
    env = {**os.environ, "FEDLOOKUP_NODE_LOG_FORMAT": "json"}
    exe = Path(sys.executable).parent / "fedlookup"
    return subprocess.run(
        [str(exe), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
