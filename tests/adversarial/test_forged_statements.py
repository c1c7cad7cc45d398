"""A member sends statements claiming other countries, forged, empty and oversized.

NL, with its own valid certificate and audit key, sends FR statements ``from`` DE and FR,
statements ``to`` DE and FR, a 0-item request, a request over the per-request limit, and 40
more copies of the first. DE also makes one honest check against FR. Afterwards FR's log
must hold every refusal under NL (the certificate's country), never a field NL claimed, at
most the per-interval bound of single refusal entries plus one count; FR's and DE's exports
must verify; and cross-checking them must match DE's real query and blame nobody.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import ROOT, fedlookup
from reliability.relnet import RelNet

from audit.entries import LogEntry
from audit.records import read_records

pytestmark = pytest.mark.integration

FORGER = Path(__file__).resolve().parent / "members" / "forger.py"
REPEAT = 40
#: from DE, to DE, from FR, 0 items, over the limit
FORGED = 5


def _forge(net: RelNet) -> dict[str, int]:
    nl = net.folder("NL")
    run = subprocess.run(
        [
            sys.executable,
            str(FORGER),
            "--target",
            net.endpoint("FR"),
            "--me",
            "NL",
            "--to",
            "FR",
            "--claim",
            "DE",
            "--claim",
            "FR",
            "--ca",
            str(nl / "tls" / "ca.pem"),
            "--cert",
            str(nl / "tls" / "node.pem"),
            "--key",
            str(nl / "tls" / "node.key"),
            "--audit-key",
            str(nl / "keys" / "audit.key"),
            "--repeat",
            str(REPEAT),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    codes: dict[str, int] = json.loads(run.stdout)
    return codes


def _export(net: RelNet, country: str, log: Path, out: Path) -> Path:
    key = net.folder(country) / "keys" / "audit.key"
    run = fedlookup("audit", "export", "--log", log, "--out", out, "--key", key)
    assert run.returncode == 0, run.stderr
    return out


def test_forged_claims_are_logged_as_facts_and_blame_nobody(tmp_path: Path) -> None:
    with RelNet.start(tmp_path / "net", ["DE", "FR", "NL"], records=20) as net:
        honest = fedlookup(
            "check", "--config", net.folder("DE") / "node.toml", "--peer", "FR",
            "--make", "Glock", "--serial", "FR000000", "--case", "CASE-1",
            "--purpose", "honest", "--json",
        )  # fmt: skip
        assert honest.returncode == 0, honest.stderr
        codes = _forge(net)
        fr_log, de_out = net.audit_dir("FR"), net.outgoing_dir("DE")
        net.procs.stop_all()
        lines = [r for r in net.log_records("FR") if r.get("message") == "refused evaluation"]
    # FR's operator log: every refusal names NL and the address it called from.
    assert len(lines) == FORGED + REPEAT
    assert {r["peer"] for r in lines} == {"NL"}
    assert all(str(r.get("address", "")).startswith("ipv4:127.0.0.1:") for r in lines), lines[0]
    # What FR did: refused every forged call; answered none.
    assert "OK" not in codes, codes
    assert sum(codes.values()) == FORGED + REPEAT
    # What FR's log shows: refusals under NL only, claims only as hashes, bounded.
    entries = [LogEntry.parse(r) for r in read_records(fr_log / "entries.rec")]
    refused = [e for e in entries if e.kind == "refused_request"]
    assert {e["peer"] for e in refused} == {"NL"}
    assert all(len(e["statement_sha256"]) == 64 for e in refused)
    # Only NL's own, authenticated statements (0 items, oversized) are logged with fields.
    authentic = [e for e in entries if e.kind == "refusal"]
    assert [(e["from"], e["to"], e["items"]) for e in authentic] == [
        ("NL", "FR", 0),
        ("NL", "FR", 1001),
    ]
    received = [e for e in entries if e.kind == "query_received"]
    assert [(e["from"], e["to"]) for e in received] == [("DE", "FR")]  # only the honest query
    (counted,) = [e for e in entries if e.kind == "refusals_aggregated"]
    assert counted["peer"] == "NL"
    assert len(refused) + len(authentic) + counted["count"] == FORGED + REPEAT
    assert len(refused) + len(authentic) == 20  # the default bound per peer per interval
    # Both logs verify, and cross-check matches DE's query and blames nobody.
    fr_x = _export(net, "FR", fr_log, tmp_path / "fr-export")
    de_x = _export(net, "DE", de_out, tmp_path / "de-export")
    for country, x, outgoing in (("FR", fr_x, []), ("DE", de_x, ["--outgoing"])):
        trusted = tmp_path / f"trusted-{country}.json"  # the auditor's trust root
        made = fedlookup(
            "audit", "policy", "--directory", net.folder("DE") / "directory.json",
            "--authority", net.network.ca_dir / "ca.pem", "--country", country,
            "--quorum", "0", "--out", trusted, *outgoing,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        verified = fedlookup("audit", "verify", x, "--policy", trusted)
        assert verified.returncode == 0, verified.stdout
    cross = fedlookup(
        "audit", "cross-check", de_x, fr_x, "--json",
        "--policy-a", tmp_path / "trusted-DE.json", "--policy-b", tmp_path / "trusted-FR.json",
    )  # fmt: skip
    report = json.loads(cross.stdout)
    assert report["valid"], report
    assert report["matched"] == 1
