"""A member rewrites its own audit history: one follow-up decision is made to say "refused".

It holds its own audit key, so it can build a new log from its exported entries with that
one entry changed, sign fresh checkpoints over it and export the result: every signature
in it is genuine. What it cannot do is make the rewrite agree with the asking country's
log (cross-check) or with a checkpoint an auditor already holds (witness state).

Usage::

    python tests/adversarial/members/log_rewriter.py --export fr-export \
        --key fr/keys/audit.key --request-id RID --out fr-rewritten
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from audit.export import export_log
from audit.keys import load_private_key
from audit.log import AuditLog
from audit.verify import load_export


def main() -> None:
    """Write the rewritten export; print how many entries it holds."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    ap.add_argument("--request-id", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    view, _ = load_export(args.export)
    changed = 0
    with tempfile.TemporaryDirectory() as scratch:
        log_dir = Path(scratch) / "log"
        key = load_private_key(args.key)
        with AuditLog.open(log_dir, view.policy.origin, key, country=view.policy.country) as log:
            for entry in view.entries:
                if entry is None:
                    raise SystemExit("the export holds an entry that does not parse")
                if entry.kind == "followup_decision" and entry["request_id"] == args.request_id:
                    fields = {**entry.fields, "decision": "refused", "fields": "",
                              "reason": "no such record"}  # fmt: skip
                    entry = dataclasses.replace(entry, fields=fields)
                    changed += 1
                log.append(entry)
            log.checkpoint()
        if changed != 1:
            raise SystemExit(f"found {changed} decisions for {args.request_id}, expected 1")
        export_log(log_dir, args.out)
    print(len(view.entries), flush=True)


if __name__ == "__main__":
    main()
