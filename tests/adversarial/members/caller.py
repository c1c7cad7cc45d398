"""A member that calls ``NodeInfo`` on a node with the certificate it is given.

Prints one JSON line: the status code and details of the call.

Usage::

    python tests/adversarial/members/caller.py --target 127.0.0.1:7443 --ca ca.pem \
        --cert fr.pem --key fr.key
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import grpc

from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc


def main() -> None:
    """Call NodeInfo once and print the outcome."""
    ap = argparse.ArgumentParser()
    for name in ("target", "ca", "cert", "key"):
        ap.add_argument(f"--{name}", required=True)
    args = ap.parse_args()
    creds = grpc.ssl_channel_credentials(
        Path(args.ca).read_bytes(), Path(args.key).read_bytes(), Path(args.cert).read_bytes()
    )
    with grpc.secure_channel(args.target, creds) as channel:
        try:
            pb_grpc.FederationStub(channel).NodeInfo(pb.NodeInfoRequest(), timeout=20)
            out = {"code": "OK", "details": ""}
        except grpc.RpcError as exc:
            call = exc if isinstance(exc, grpc.Call) else None
            out = {
                "code": call.code().name if call else "UNKNOWN",
                "details": (call.details() if call else str(exc)) or "",
            }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
