"""Export, verify, cross-check, reveal and report over two real logs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from audit_helpers import cosign_both, fill, make_statement, run_queries
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import AuditLog, LogEntry, OpeningStore, report
from audit.canonical import unb64
from audit.commitment import Opening
from audit.crosscheck import cross_check
from audit.export import export_log
from audit.policy import Policy
from audit.report import summarise
from audit.reveal import check_reveal
from audit.verify import load_export, verify_export
from fedlookup.errors import InputError, VerificationError

OpenLog = Callable[..., AuditLog]


@dataclass
class Network:
    fr: AuditLog
    de: AuditLog
    openings: OpeningStore
    ids: list[str]
    tmp: Path


@pytest.fixture
def network(open_log: OpenLog, keys: dict[str, Ed25519PrivateKey], tmp_path: Path) -> Network:
    fr, de = open_log("FR"), open_log("DE")
    openings = OpeningStore(tmp_path / "openings.db")
    ids = run_queries(fr, de, keys["FR"], openings, 6, refuse_every=3)
    cosign_both(fr, de)
    ids += run_queries(fr, de, keys["FR"], openings, 3)
    cosign_both(fr, de)
    yield Network(fr, de, openings, ids, tmp_path)
    openings.close()


def _export(net: Network, log: AuditLog, name: str) -> Path:
    out = net.tmp / "exports" / name
    export_log(log.directory, out)
    return out


def test_exports_of_both_sides_verify_and_reconcile(network: Network) -> None:
    a, b = _export(network, network.fr, "FR"), _export(network, network.de, "DE")
    for path in (a, b):
        report = verify_export(path)
        assert report.ok, [f for f in report.findings if not f.valid]
        counts = report.counts()
        assert counts["cosignatures"][0] >= 2
        # One partial level-0 tile per checkpoint size (fewer than 256 entries): a client
        # holding an earlier checkpoint finds the tile of its own width.
        sizes = sorted(int(p.name) for p in (path / "checkpoints").iterdir())
        assert counts["tiles"] == (len(set(sizes)), len(set(sizes)))
        for size in sizes:
            assert (path / "tile" / "0" / "000.p" / str(size)).is_file()
            assert (path / "tile" / "entries" / "000.p" / str(size)).is_file()
    result = cross_check(load_export(a)[0], load_export(b)[0], skew=5)
    assert result.ok, [f for f in result.findings if not f.valid]
    assert result.matched == 9
    assert sum(f.category == "receipts" for f in result.findings) == 7


def test_quorum_policy_requires_cosignatures(network: Network) -> None:
    b = _export(network, network.de, "DE")
    own = Policy.parse((b / "policy.json").read_bytes())
    strict = Policy(own.origin, own.country, own.log_vkey, own.cosigners, quorum=1)
    assert verify_export(b, policy=strict).ok
    fill(network.de, 1)
    network.de.checkpoint()  # newest checkpoint not yet cosigned
    c = _export(network, network.de, "DE2")
    assert not verify_export(c, policy=strict).ok


def test_cross_check_finds_a_query_missing_on_one_side(
    network: Network, keys: dict[str, Ed25519PrivateKey], open_log: OpenLog
) -> None:

    network.fr.append(LogEntry.query_sent(make_statement("FR", "DE")))  # never reached DE
    network.de.append(LogEntry.query_received(make_statement("FR", "DE"), b"x"))  # FR forgot
    network.fr.checkpoint()
    network.de.checkpoint()
    a, b = _export(network, network.fr, "FR"), _export(network, network.de, "DE")
    result = cross_check(load_export(a)[0], load_export(b)[0])
    unmatched = [f for f in result.findings if f.category == "unmatched"]
    assert len(unmatched) == 2
    assert {("has no matching entry in DE" in f.reason) for f in unmatched} == {True, False}


def test_deleting_newest_entries_is_caught_against_a_cosigned_checkpoint(
    network: Network, keys: dict[str, Ed25519PrivateKey], tmp_path: Path
) -> None:
    cosigned = network.de.checkpoint()  # carries FR's cosignature
    good = _export(network, network.de, "DE")
    assert verify_export(good, against=[("cosigned", cosigned)]).ok
    # DE rebuilds its log without its last 3 entries and signs that shorter history.
    shorter = AuditLog.open(tmp_path / "DE-short", network.de.origin, keys["DE"], country="DE")
    for i in range(network.de.size - 3):
        shorter.append(LogEntry.parse(network.de.entry(i)))
    shorter.checkpoint()
    shorter.close()
    out = tmp_path / "exports" / "DE-short"
    export_log(tmp_path / "DE-short", out)
    assert verify_export(out).ok  # self-consistent on its own ...
    report = verify_export(out, against=[("cosigned", cosigned)])
    bad = [f for f in report.findings if not f.valid]
    assert [f.category for f in bad] == ["consistency"]
    assert "deleted" in bad[0].reason
    # ... and FR's receipts betray it in a cross-check too.
    a = _export(network, network.fr, "FR")
    result = cross_check(load_export(a)[0], load_export(out)[0])
    assert any(f.category == "receipts" and not f.valid for f in result.findings)


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def pristine(network: Network) -> Path:
    return _export(network, network.de, "DE")


@settings(
    max_examples=int(os.environ.get("FEDLOOKUP_TAMPER_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_single_byte_change_in_an_export_is_caught(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    copy = tmp_path_factory.mktemp("tamper") / "export"
    shutil.copytree(pristine, copy)
    files = _all_files(copy)
    target = data.draw(st.sampled_from(files), label="file")
    blob = bytearray(target.read_bytes())
    offset = data.draw(st.integers(0, len(blob) - 1), label="offset")
    blob[offset] ^= data.draw(st.integers(1, 255), label="xor")
    target.write_bytes(bytes(blob))
    try:
        report = verify_export(copy)
    except InputError:
        return  # policy.json unusable: the tool refuses the export outright
    assert not report.ok, f"{target.relative_to(copy)} byte {offset} change not caught"


def test_removed_or_extra_files_are_caught(pristine: Path) -> None:
    (pristine / "tile" / "0").rename(pristine / "tile" / "zero")
    (pristine / "notes.txt").write_text("unverified\n")
    report = verify_export(pristine)
    reasons = {f.artefact: f.reason for f in report.findings if not f.valid}
    assert reasons["notes.txt"] == "unexpected file in export"
    assert any(r == "missing" for r in reasons.values())


def test_reveal_checks_against_the_commitment(network: Network) -> None:
    a = _export(network, network.fr, "FR")
    view = load_export(a)[0]
    opening = Opening.parse(network.openings.get(network.ids[0]).to_bytes())
    assert [kind for _, kind in check_reveal(view, opening)] == ["query_sent"]
    forged = Opening(opening.request_id, opening.nonce, (b"v1|OTHER|1",), opening.created_at)
    with pytest.raises(VerificationError):
        check_reveal(view, forged)


def test_report_counts_and_flags(network: Network) -> None:
    network.de.append(LogEntry.quota_exhausted("r", "FR", items=2, used=1000, quota=1000))
    network.de.checkpoint()
    summary = summarise(load_export(_export(network, network.de, "DE"))[0]).to_json()
    assert summary["country"] == "DE"
    assert sum(r["queries"] for r in summary["queries"]) == 7
    assert summary["refusals"] == [{"peer": "FR", "reason": "QuotaExceededError", "count": 2}]
    assert any("enumeration" in flag for flag in summary["flags"])


def test_report_flags_many_small_requests(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = load_export(_export(network, network.de, "DE"))[0]
    assert not any("few items at a time" in f for f in summarise(export).flags)
    monkeypatch.setattr(report, "SMALL_REQUEST_ITEMS", 10**6)
    monkeypatch.setattr(report, "SMALL_REQUESTS_PER_DAY", 2)
    flags = [f for f in summarise(export).flags if "few items at a time" in f]
    assert flags
    assert flags[0].startswith("FR sent ")


def test_cross_check_refuses_a_receipt_for_another_request(network: Network) -> None:
    a = _export(network, network.fr, "FR")
    entries = [LogEntry.parse(line) for line in (a / "entries.jsonl").read_bytes().splitlines()]
    receipts = [e for e in entries if e.kind == "receipt" and e["receipt"]]
    swapped = LogEntry.receipt(
        receipts[0]["request_id"], "FR", "DE", status="answered",
        receipt=unb64(receipts[1]["receipt"], "receipt"),
    )  # fmt: skip
    network.fr.append(swapped)
    network.fr.checkpoint()
    result = cross_check(
        load_export(_export(network, network.fr, "FR2"))[0],
        load_export(_export(network, network.de, "DE"))[0],
    )
    bad = [f for f in result.findings if not f.valid]
    assert [f.category for f in bad] == ["receipts"]
    assert "receipt is for request" in bad[0].reason
