"""A member holding FR's TLS key (stolen) serves a poisoned FR index at FR's endpoint.

It presents FR's own valid certificate, so the asker's check of the answering node passes,
announces a newer index version in NodeInfo, and answers SyncIndex with a well-formed FR
index (one random entry) whose head is signed with a key that is not FR's audit key (the
member's own). Every call is recorded as in ``impostor.py``.

Usage::

    python tests/adversarial/members/poisoner.py --port 7443 --cert fr.pem --key fr.key \
        --ca ca.pem --audit-key nl-audit.key --epoch E --version 99 --record calls.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import threading
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from audit.keys import load_private_key
from federation.index_format import IndexBlob, encode
from federation.index_head import IndexHead, sign_head
from federation.labels import LABEL_LENGTH
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc


class Poisoner(pb_grpc.FederationServicer):
    """Answers NodeInfo and SyncIndex as FR would, with a poisoned index."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        blob = IndexBlob("FR", args.epoch, 0, args.version, array("q", [7]), b"\0" * LABEL_LENGTH,
                         array("q"), 1, False)  # fmt: skip
        self.blob = encode(blob)
        head = IndexHead.of_blob(self.blob)
        self.head, self.signature = (
            head.canonical(),
            sign_head(head, load_private_key(Path(args.audit_key))),
        )
        self.lock = threading.Lock()

    def _record(self, method: str) -> None:
        with self.lock, Path(self.args.record).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"method": method}) + "\n")

    def NodeInfo(self, request: Any, context: Any) -> pb.NodeInfoResponse:
        self._record("NodeInfo")
        return pb.NodeInfoResponse(
            country="FR", epoch_id=self.args.epoch, index_version=self.args.version,
            index_size=1, limits=pb.Limits(max_items_per_request=1000, items_per_day=10**6,
                                           items_remaining_today=10**6, mode="reveal",
                                           categories=["*"]),
            identifier_version="v1", protocol_version="fedlookup.v1",
        )  # fmt: skip

    def SyncIndex(self, request: Any, context: Any) -> Iterator[pb.IndexChunk]:
        self._record("SyncIndex")
        yield pb.IndexChunk(
            data=self.blob, offset=0, total_size=len(self.blob),
            sha256=hashlib.sha256(self.blob).digest(), index_version=self.args.version,
            epoch_id=self.args.epoch, final=True, head=self.head,
            head_signature=self.signature,
        )  # fmt: skip


def main() -> None:
    """Serve until SIGTERM."""
    ap = argparse.ArgumentParser()
    for name in ("cert", "key", "ca", "audit-key", "epoch", "record"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--version", type=int, required=True)
    args = ap.parse_args()
    Path(args.record).write_text("", encoding="utf-8")
    creds = grpc.ssl_server_credentials(
        [(Path(args.key).read_bytes(), Path(args.cert).read_bytes())],
        root_certificates=Path(args.ca).read_bytes(),
        require_client_auth=True,
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_FederationServicer_to_server(Poisoner(args), server)
    server.add_secure_port(f"127.0.0.1:{args.port}", creds)
    server.start()
    print("listening", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
