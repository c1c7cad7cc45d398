"""The audit log's disk fills up under a serving node: it refuses, never answers unlogged.

FR's audit log directory is moved onto a small tmpfs (needs root to mount; skipped
otherwise, with the reason). DE then asks until FR refuses: every refusal is UNAVAILABLE
with the fixed message "node cannot record queries right now", the node stays up, each
answer FR gave has its entry, and once space is back (the tmpfs grown in place) FR answers
again without a restart. The log, exported afterwards, verifies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pki_fixtures import ANY_SERVER
from relnet import RelNet, audit_kinds, export_and_verify

from audit.keys import load_private_key
from audit.statements import QueryStatement, sign
from federation.evaluation import BlindedQuery
from federation.grpc_transport import GrpcTransport
from fedlookup.errors import PeerError

pytestmark = pytest.mark.integration


def _mount(target: Path, size: int) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target)],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[RelNet, Path]]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    with RelNet.start(tmp_path / "net", ["DE", "FR"], records=20) as net:
        net.procs.stop("FR")
        audit = net.audit_dir("FR")
        saved = audit.with_name("audit.saved")
        audit.rename(saved)
        audit.mkdir()
        pages = sum(-(-p.stat().st_size // 4096) for p in saved.iterdir())
        try:
            _mount(audit, (pages + 3) * 4096)  # room for a few dozen entries
        except subprocess.CalledProcessError as exc:
            audit.rmdir()
            saved.rename(audit)
            pytest.skip(f"cannot mount a tmpfs here: {exc.stderr.decode().strip()}")
        try:
            for p in saved.iterdir():
                shutil.copy2(p, audit / p.name)
            net.start_again("FR")
            yield net, audit
        finally:
            if net.alive("FR"):
                net.procs.stop("FR")
            for p in audit.iterdir():
                shutil.copy2(p, saved / p.name)
            subprocess.run(["umount", str(audit)], check=True)
            audit.rmdir()
            saved.rename(audit)


def _ask(net: RelNet, n: int) -> list[str]:
    key = load_private_key(net.network.nodes["DE"].config().audit.key)
    out = []
    with GrpcTransport(
        "FR", net.endpoint("FR"), net.credentials("DE"), server_check=ANY_SERVER
    ) as t:
        for i in range(n):
            st = QueryStatement(
                request_id=QueryStatement.new_request_id(),
                from_country="DE",
                to_country="FR",
                case_id="DISK",
                purpose="p",
                legal_basis="l",
                investigator="i",
                item_count=1,
                commitment=bytes(32),
            )
            data = st.canonical()
            try:
                t.evaluate(
                    data, sign(data, key), BlindedQuery.create([b"v1|S|%d" % i]).request, timeout=10
                )
                out.append("answered")
            except PeerError as exc:
                out.append(exc.reason)
    return out


def test_full_audit_disk_refuses_and_recovers(
    full_disk: tuple[RelNet, Path], tmp_path: Path
) -> None:
    net, audit = full_disk
    before = audit_kinds(audit).count("query_received")
    results = _ask(net, 200)
    answered = results.count("answered")
    first_refusal = results.index(next(r for r in results if r != "answered"))
    assert answered >= 1
    assert results[first_refusal:].count("answered") == 0  # no answer once the log is full
    refusals = set(results[first_refusal:])
    assert refusals == {"Evaluate: UNAVAILABLE: node cannot record queries right now"}, refusals
    assert net.alive("FR")
    # Every answer has its entry; an entry may exist for a refused call (its receipt's
    # checkpoint could not be stored), never the other way round.
    logged = audit_kinds(audit).count("query_received") - before
    assert answered <= logged <= answered + 1

    subprocess.run(["mount", "-o", "remount,size=4m", str(audit)], check=True)
    again = _ask(net, 5)
    assert again == ["answered"] * 5  # space is back: no restart needed

    net.procs.stop("FR")
    cfg = net.network.nodes["FR"].config()
    export_and_verify(cfg, audit, tmp_path / "export")
    assert audit_kinds(audit).count("query_received") - before == logged + 5


WRITER = """
import resource, signal, sys
from pathlib import Path
from audit import AuditLog, LogEntry, load_private_key
from fedlookup.errors import LogWriteError

log = AuditLog.open(Path(sys.argv[1]), "fedlookup.test/DE", load_private_key(Path(sys.argv[2])),
                    country="DE")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death, as a full disk
limit = (log.directory / "entries.rec").stat().st_size + 6000
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
for i in range(1000):
    try:
        index = log.append(LogEntry.heartbeat())
    except LogWriteError:
        print("refused", flush=True)
        continue
    print(index, flush=True)  # an answer leaves only after append returned
"""


def test_file_size_limit_refuses_appends_and_loses_none(tmp_path: Path) -> None:
    # Works without root: RLIMIT_FSIZE makes every write past the limit fail with EFBIG.
    import sys

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit import AuditLog, LogEntry, save_private_key
    from audit.export import export_log
    from audit.verify import verify_export

    key = Ed25519PrivateKey.generate()
    save_private_key(key, tmp_path / "audit.key")
    with AuditLog.open(tmp_path / "log", "fedlookup.test/DE", key, country="DE") as log:
        log.append(LogEntry.heartbeat())
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "log"), str(tmp_path / "audit.key")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    written = [int(x) for x in out if x != "refused"]
    assert written, out
    assert out[len(written) :] == ["refused"] * (1000 - len(written))  # refused from then on
    with AuditLog.open(tmp_path / "log", "fedlookup.test/DE", key, country="DE") as log:
        assert log.size == 1 + len(written)  # every acknowledged entry, nothing half-written
        log.checkpoint()
    export_log(tmp_path / "log", tmp_path / "export")
    assert verify_export(tmp_path / "export").ok
