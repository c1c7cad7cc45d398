"""Crash safety: a node killed at any instant restarts with a log that verifies and holds
every entry it reported as written (what it would have answered)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog, LogEntry, save_private_key
from audit.export import export_log
from audit.verify import verify_export

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from audit import AuditLog, LogEntry, load_private_key

    log = AuditLog.open(Path(sys.argv[1]), "fedlookup.test/DE", load_private_key(Path(sys.argv[2])),
                        country="DE")
    for i in range(100000):
        index = log.append(LogEntry.heartbeat())
        if i % 7 == 0:
            log.checkpoint()
        print(index, flush=True)   # the answer leaves only after append returned
    """
)


@pytest.mark.parametrize("kill_after", [1, 13, 40])
def test_sigkill_mid_append_loop(tmp_path: Path, kill_after: int) -> None:
    key = Ed25519PrivateKey.generate()
    save_private_key(key, tmp_path / "audit.key")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "log"), str(tmp_path / "audit.key")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    answered = -1
    for _ in range(kill_after):
        answered = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    with AuditLog.open(tmp_path / "log", "fedlookup.test/DE", key, country="DE") as log:
        assert log.size >= answered + 1
        log.append(LogEntry.heartbeat())
        log.checkpoint()
    export_log(tmp_path / "log", tmp_path / "export")
    report = verify_export(tmp_path / "export")
    assert report.ok, [f for f in report.findings if not f.valid]
