"""Long reliability runs with figures: ``python scripts/reliability.py {fuzz,load,...}``.

Each command lays out a fresh federation under a temporary folder, starts real node
processes on 127.0.0.1 (the same set-up as the test suite, ``tests/reliability``), runs,
prints its figures as a table (``--json`` for one JSON document) and stops every node.

* ``fuzz``: hostile requests to every RPC of a node over mutual TLS (default 100,000 per
  RPC), the status codes seen, unacceptable answers (must be 0), the node's memory before
  and after, and whether it still serves;
* ``load``: concurrent investigators x checks against N nodes (default 50 x 200 x 5):
  errors (must be 0), p50 / p99 latency of a whole check, audit entries at both ends
  against the queries answered;
* ``compat``: what ``CompatSetup`` costs the node, cached and when a peer varies the fpr;
* ``enumeration``: a peer sweeping serials one identifier at a time against a quota: how
  many are answered before the cut-off, before and after a restart, and the audit report's
  flags;
* ``bulk-update``: a kept demo network whose NL registry grows by a bulk load (default
  100,000 new records plus 20,000 changed ones in one import), then ``node index``,
  ``node index --full`` and a rebuild from a set-aside index folder on the serving node,
  each timed and followed by a check from DE that must find every probe.

The CI-sized versions are the tests: ``pytest tests/reliability -m "not slow"``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m_at_end": round(load[0], 1),
    }


def fuzz(args: argparse.Namespace) -> dict[str, Any]:
    """Hostile bytes to every RPC."""
    from fuzzcases import METHODS, CaseFactory, fuzz_method
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from relnet import NODE_ENV, RelNet

    from audit.keys import load_private_key

    rows = []
    with tempfile.TemporaryDirectory() as tmp, RelNet.start(Path(tmp), ["DE", "FR"]) as net:
        key = load_private_key(net.network.nodes["FR"].config().audit.key)
        pid = net.procs.nodes["DE"].process.pid
        for m, method in enumerate(args.methods or list(METHODS)):

            def build(seed: int, m: int = m) -> CaseFactory:
                return CaseFactory(
                    args.seed + m * 1000 + seed,
                    asker="FR",
                    node="DE",
                    audit_key=key,
                    max_message=int(NODE_ENV["FEDLOOKUP_SERVER_MAX_MESSAGE_BYTES"]),
                    max_items=1000,
                )

            rss_before = _rss_mib(pid)
            with net.channel("FR", "DE") as ch:
                stats = fuzz_method(ch, build, method, args.cases, threads=args.threads)
                health = health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(), timeout=10
                )
            rows.append(
                {
                    "method": method,
                    "cases": stats.cases,
                    "seconds": round(stats.seconds, 1),
                    "per_second": round(stats.cases / stats.seconds),
                    "unacceptable": len(stats.failures),
                    "failures": stats.failures[:5],
                    "codes": dict(stats.codes.most_common()),
                    "kinds": dict(stats.kinds.most_common()),
                    "alive": net.alive("DE"),
                    "serving": health.status == health_pb2.HealthCheckResponse.SERVING,
                    "rss_mib_before": round(rss_before, 1),
                    "rss_mib_after": round(_rss_mib(pid), 1),
                }
            )
            print(json.dumps({k: rows[-1][k] for k in list(rows[-1])[:6]}), file=sys.stderr)
        errors = [r for r in net.log_records("DE") if r.get("event") == "error"]
        internal = [r for r in errors if r.get("logger") != "grpc._common"]
    return {
        "run": "fuzz",
        "command": " ".join(sys.argv),
        "machine": _machine(),
        "methods": rows,
        "node_internal_errors_logged": len(internal),
        "first_internal_errors": [str(r.get("detail"))[:200] for r in internal[:3]],
    }


def load(args: argparse.Namespace) -> dict[str, Any]:
    """Concurrent investigators against N nodes."""
    from loadrun import run_load
    from relnet import RelNet

    countries = ["DE", "FR", "NL", "BE", "AT", "PL", "IT", "ES"][: args.nodes]
    with (
        tempfile.TemporaryDirectory() as tmp,
        RelNet.start(Path(tmp), countries, records=args.records) as net,
    ):
        result = run_load(net, args.investigators, args.checks)
    doc = result.to_json()
    doc["error_kinds"] = dict(list(doc["error_kinds"].items())[:5])
    return {"run": "load", "command": " ".join(sys.argv), "machine": _machine(), **doc}


def enumeration(args: argparse.Namespace) -> dict[str, Any]:
    """A serial sweep against a quota, across a restart, and the audit report."""
    import subprocess

    from relnet import RelNet, export_and_verify
    from test_reliability_enumeration import sweep

    from node.demo.network import fedlookup_command

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        per_request = min(10, args.quota)
        with RelNet.start(
            root / "net",
            ["DE", "FR"],
            records=30,
            items_per_day=args.quota,
            max_items_per_request=per_request,
        ) as net:
            started = time.monotonic()
            first = sweep(net, range(args.quota + args.extra))
            seconds = time.monotonic() - started
            net.restart("DE")
            after_restart = sweep(net, range(10**6, 10**6 + 10))
            net.procs.stop("DE")
            cfg = net.network.nodes["DE"].config()
            export_and_verify(cfg, cfg.audit_dir, root / "export")
            report = subprocess.run(
                [*fedlookup_command(), "audit", "report", str(root / "export"), "--json"],
                capture_output=True,
                text=True,
                check=True,
            )
    doc = json.loads(report.stdout)
    return {
        "run": "enumeration",
        "command": " ".join(sys.argv),
        "machine": _machine(),
        "quota_items_per_day": args.quota,
        "swept": len(first),
        "answered_before_cutoff": first.index("RESOURCE_EXHAUSTED")
        if "RESOURCE_EXHAUSTED" in first
        else len(first),
        "answered_total": first.count("answered"),
        "refused_total": first.count("RESOURCE_EXHAUSTED"),
        "sweep_seconds": round(seconds, 1),
        "answered_after_restart": after_restart.count("answered"),
        "report_verified": doc["verified"],
        "report_flags": doc["flags"],
    }


def compat(args: argparse.Namespace) -> dict[str, Any]:
    """Cost of ``CompatSetup`` calls: the first, cached ones, and callers varying the fpr
    (refused: the node offers only its configured parameters)."""
    import grpc
    from relnet import RelNet

    from protos.fedlookup.v1 import fedlookup_pb2 as pb

    with (
        tempfile.TemporaryDirectory() as tmp,
        RelNet.start(Path(tmp), ["DE", "FR"], records=args.records) as net,
        net.channel("FR", "DE") as ch,
    ):
        setup = ch.unary_stream("/fedlookup.v1.Federation/CompatSetup")

        def call(fpr: float) -> tuple[float, str]:
            request = pb.CompatSetupRequest(fpr=fpr).SerializeToString()
            started = time.monotonic()
            try:
                for _ in setup(request, timeout=600):
                    pass
                status = "OK"
            except grpc.RpcError as exc:
                status = exc.code().name  # type: ignore[attr-defined]
            return round(time.monotonic() - started, 3), status

        first = call(0)
        cached = [call(0) for _ in range(3)]
        fresh = [call(1e-6 * (1 + (i + 1) / 100)) for i in range(args.calls)]
        audited = sum(b"compat" in r.lower() for r in _entries(net.audit_dir("DE")))
    return {
        "run": "compat",
        "command": " ".join(sys.argv),
        "machine": _machine(),
        "records": args.records,
        "first_call_s": first,
        "cached_calls_s": cached,
        "new_fpr_calls_s": fresh,
        "audit_entries_mentioning_compat": audited,
    }


def bulk_update(args: argparse.Namespace) -> dict[str, Any]:
    """The operator's bulk update (issue 14) with the time of each step."""
    from bulkrun import bulk_update_run

    with tempfile.TemporaryDirectory() as tmp:
        doc = bulk_update_run(
            Path(tmp), records=args.records, growth=args.growth, changed=args.changed
        )
    return {"run": "bulk-update", "command": " ".join(sys.argv), "machine": _machine(), **doc}


def _entries(log_dir: Path) -> list[bytes]:
    from audit.records import read_records

    return read_records(log_dir / "entries.rec")


def main() -> None:
    """Parse the command line, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    sub = parser.add_subparsers(dest="run", required=True)
    f = sub.add_parser("fuzz", help="hostile requests to every RPC")
    f.add_argument("--cases", type=int, default=100_000, help="cases per RPC")
    f.add_argument("--threads", type=int, default=4)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--methods", nargs="*", help="default: all five")
    ld = sub.add_parser("load", help="concurrent investigators")
    ld.add_argument("--investigators", type=int, default=50)
    ld.add_argument("--checks", type=int, default=200)
    ld.add_argument("--nodes", type=int, default=5)
    ld.add_argument("--records", type=int, default=200, help="registry size per node")
    e = sub.add_parser("enumeration", help="a serial sweep against a quota")
    e.add_argument("--quota", type=int, default=200, help="items per day")
    e.add_argument("--extra", type=int, default=50, help="requests past the quota")
    c = sub.add_parser("compat", help="cost of stock setups with changing fpr")
    c.add_argument("--records", type=int, default=3000)
    c.add_argument("--calls", type=int, default=5)
    b = sub.add_parser("bulk-update", help="a bulk registry load, re-indexed while serving")
    b.add_argument("--records", type=int, default=20_000, help="demo registry size")
    b.add_argument("--growth", type=int, default=100_000, help="records the bulk load adds")
    b.add_argument("--changed", type=int, default=20_000, help="existing records changed")
    args = parser.parse_args()
    runs = {
        "fuzz": fuzz,
        "load": load,
        "enumeration": enumeration,
        "compat": compat,
        "bulk-update": bulk_update,
    }
    doc = runs[args.run](args)
    print(json.dumps(doc, indent=2, default=str))


if __name__ == "__main__":
    main()
