"""The audit monitor follows a log over time: consistent growth, fork, rollback, cosignatures.

Each case builds real logs (``audit.AuditLog`` on disk), exports them as a member would
(``audit.export.export_log``) and lets a :class:`audit.monitor.LogMonitor` look at the
successive exports, as ``fedlookup audit monitor`` does on a schedule.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import cosign_both, fill
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog
from audit.export import export_log
from audit.keys import log_vkey
from audit.monitor import LogMonitor, Observation
from audit.policy import Policy
from node.cli.audit_monitor import metrics_text

ORIGIN = "fedlookup.test/DE"


def _policy(log: AuditLog, cosigners: tuple[str, ...] = (), quorum: int = 0) -> Policy:
    return Policy(ORIGIN, "DE", log.vkey, cosigners, quorum)


def _export(log: AuditLog, out: Path) -> Path:
    log.checkpoint()
    export_log(log.directory, out)
    return out


def _kinds(o: Observation) -> list[str]:
    return [a.kind for a in o.alerts]


def test_a_log_that_grows_consistently_raises_nothing(
    tmp_path: Path, open_log: Callable[..., AuditLog]
) -> None:
    de = open_log("DE")
    fill(de, 3)
    monitor = LogMonitor(tmp_path / "state", [_policy(de)])
    first = monitor.observe(_export(de, tmp_path / "e1"))
    assert (first.previous_size, first.size, _kinds(first)) == (None, 3, [])
    fill(de, 4)
    second = monitor.observe(_export(de, tmp_path / "e2"))
    assert (second.previous_size, second.size, _kinds(second)) == (3, 7, [])
    again = monitor.observe(tmp_path / "e2")
    assert (again.previous_size, again.size, _kinds(again)) == (7, 7, [])
    assert monitor.held(ORIGIN) is not None


def test_a_rewritten_history_is_a_fork_and_the_state_stays(
    tmp_path: Path, keys: dict[str, Ed25519PrivateKey], open_log: Callable[..., AuditLog]
) -> None:
    de = open_log("DE")
    fill(de, 3)
    monitor = LogMonitor(tmp_path / "state", [_policy(de)])
    monitor.observe(_export(de, tmp_path / "honest"))
    held = monitor.held(ORIGIN)
    # The same key and origin sign another history: other entries, then more of them.
    with AuditLog.open(tmp_path / "forged", ORIGIN, keys["DE"], country="DE") as forged:
        fill(forged, 1)
        from audit import LogEntry

        forged.append(LogEntry.key_rotation("epoch", "rewritten"))
        fill(forged, 1)
        same_size = _export(forged, tmp_path / "forged-3")
        fill(forged, 5)
        longer = _export(forged, tmp_path / "forged-8")
    for export in (same_size, longer):
        seen = monitor.observe(export)
        assert _kinds(seen) == ["fork"], seen
        assert monitor.held(ORIGIN) == held  # never advanced past the honest checkpoint


def test_a_shorter_log_is_a_rollback(tmp_path: Path, open_log: Callable[..., AuditLog]) -> None:
    de = open_log("DE")
    fill(de, 2)
    early = _export(de, tmp_path / "early")
    fill(de, 3)
    late = _export(de, tmp_path / "late")
    monitor = LogMonitor(tmp_path / "state", [_policy(de)])
    assert _kinds(monitor.observe(late)) == []
    rolled = monitor.observe(early)
    assert _kinds(rolled) == ["rollback"]
    assert "from 5 down to 2" in rolled.alerts[0].detail


def test_missing_cosignatures_alert_until_the_peer_cosigns(
    tmp_path: Path, open_log: Callable[..., AuditLog]
) -> None:
    de, fr = open_log("DE"), open_log("FR")
    fill(de, 2)
    fill(fr, 1)
    monitor = LogMonitor(tmp_path / "state", [_policy(de, (fr.cosigner_vkey,), quorum=1)])
    bare = monitor.observe(_export(de, tmp_path / "bare"))
    assert _kinds(bare) == ["missing_cosignature"]
    assert bare.cosignatures == 0
    cosign_both(fr, de)
    export_log(de.directory, tmp_path / "cosigned")
    witnessed = monitor.observe(tmp_path / "cosigned")
    assert (_kinds(witnessed), witnessed.cosignatures) == ([], 1)
    text = metrics_text([bare, witnessed], 1.0)
    assert f'fedlookup_monitor_alerts{{origin="{ORIGIN}",kind="missing_cosignature"}} 1' in text
    assert f'fedlookup_monitor_cosignatures{{origin="{ORIGIN}"}} 1' in text


@pytest.mark.parametrize("damage", ["other key", "unknown log", "tampered entry"])
def test_an_export_that_cannot_be_trusted_is_invalid(
    tmp_path: Path,
    keys: dict[str, Ed25519PrivateKey],
    open_log: Callable[..., AuditLog],
    damage: str,
) -> None:
    de = open_log("DE")
    fill(de, 2)
    export = _export(de, tmp_path / "e")
    policy = _policy(de)
    if damage == "other key":
        policy = Policy(ORIGIN, "DE", log_vkey(ORIGIN, keys["FR"].public_key()), (), 0)
    elif damage == "unknown log":
        policy = Policy("fedlookup.test/XX", "XX", de.vkey, (), 0)
    else:
        lines = (export / "entries.jsonl").read_text().splitlines()
        lines[0] = lines[0].replace("heartbeat", "heartbeaT")
        (export / "entries.jsonl").write_text("\n".join(lines) + "\n")
    monitor = LogMonitor(tmp_path / "state", [policy])
    seen = monitor.observe(export)
    assert _kinds(seen) == ["invalid"]
    assert monitor.held(ORIGIN) is None
    shutil.rmtree(export)
