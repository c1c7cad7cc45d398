"""A member that sends another node statements claiming to be from, or for, someone else.

With its own valid certificate and audit key it calls ``Evaluate`` on the target node with,
for every country named in ``--claim``: a statement ``from`` that country, one ``to`` that
country, one signed with a key that is not the claimed sender's, one of 0 items and one over
the per-request limit, then ``--repeat`` copies of the first to push past the refusal
bound. It prints one JSON line: the status code of each call.

Usage::

    python tests/adversarial/members/forger.py --target 127.0.0.1:7443 --me NL --to FR \
        --claim DE --ca ca.pem --cert nl.pem --key nl.key --audit-key nl-audit.key
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import grpc

from audit.keys import load_private_key
from audit.statements import QueryStatement, sign
from federation.evaluation import BlindedQuery
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc


def _statement(frm: str, to: str, items: int) -> QueryStatement:
    return QueryStatement(
        request_id=QueryStatement.new_request_id(),
        from_country=frm,
        to_country=to,
        case_id="CASE-FORGED",
        purpose="forged",
        legal_basis="none",
        investigator="mallory",
        item_count=items,
        commitment=os.urandom(32),
    )


def main() -> None:
    """Send the forged calls and print their status codes."""
    ap = argparse.ArgumentParser()
    for name in ("target", "me", "to", "ca", "cert", "key", "audit-key"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--claim", action="append", required=True)
    ap.add_argument("--oversize", type=int, default=1001)
    ap.add_argument("--repeat", type=int, default=0)
    args = ap.parse_args()
    key = load_private_key(Path(args.audit_key))
    creds = grpc.ssl_channel_credentials(
        Path(args.ca).read_bytes(), Path(args.key).read_bytes(), Path(args.cert).read_bytes()
    )
    one = BlindedQuery.create([b"v1|GLOCK|X1"]).request
    big = BlindedQuery.create([b"v1|x%d" % i for i in range(args.oversize)]).request
    empty = BlindedQuery.create([]).request
    calls: list[tuple[QueryStatement, bytes]] = []
    for claimed in args.claim:
        if claimed != args.me:
            calls.append((_statement(claimed, args.to, 1), one))  # from someone else
        if claimed != args.to:
            calls.append((_statement(args.me, claimed, 1), one))  # to someone else
    calls.append((_statement(args.me, args.to, 0), empty))  # 0 items
    calls.append((_statement(args.me, args.to, args.oversize), big))  # over the limit
    codes: Counter[str] = Counter()
    with grpc.secure_channel(args.target, creds) as channel:
        stub = pb_grpc.FederationStub(channel)
        for stmt, request in calls + [calls[0]] * args.repeat:
            data = stmt.canonical()
            message = pb.EvaluateRequest(
                statement=pb.SignedStatement(statement=data, signature=sign(data, key)),
                request=request,
            )
            try:
                stub.Evaluate(message, timeout=30)
                codes["OK"] += 1
            except grpc.RpcError as exc:
                codes[exc.code().name if isinstance(exc, grpc.Call) else "UNKNOWN"] += 1
    print(json.dumps(dict(codes)), flush=True)


if __name__ == "__main__":
    main()
