"""A member holding FR's TLS key (stolen) serves a poisoned FR index at FR's endpoint.

It presents FR's own valid certificate, so the asker's check of the answering node passes,
announces a newer index version in NodeInfo, and answers SyncIndex with a well-formed FR
index (one random entry) whose head is signed with a key that is not FR's audit key (the
member's own). Every call is recorded as in ``impostor.py``.

With ``--state-sha256`` it plays a dishonest FR holding FR's *audit* key as well: asked for
a delta, it sends a well-formed delta to ``--version`` that removes the tag
``--delta-remove`` (leaving ``--delta-total`` entries), under a head correctly signed and
true to the delta's bytes, but naming ``--state-sha256`` as the state it leads to (a state
the delta does not produce); asked for the full index, it answers UNAVAILABLE.

Usage::

    python tests/adversarial/members/poisoner.py --port 7443 --cert fr.pem --key fr.key \
        --ca ca.pem --audit-key nl-audit.key --epoch E --version 99 --record calls.jsonl \
        [--state-sha256 HEX --delta-remove TAG --delta-total N]
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

    def _record(self, method: str, **extra: Any) -> None:
        with self.lock, Path(self.args.record).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"method": method, **extra}) + "\n")

    def NodeInfo(self, request: Any, context: Any) -> pb.NodeInfoResponse:
        self._record("NodeInfo")
        return pb.NodeInfoResponse(
            country="FR", epoch_id=self.args.epoch, index_version=self.args.version,
            index_size=1, limits=pb.Limits(max_items_per_request=1000, items_per_day=10**6,
                                           items_remaining_today=10**6, mode="reveal",
                                           categories=["*"]),
            identifier_version="v1", protocol_version="fedlookup.v1",
        )  # fmt: skip

    def _lying_delta(self, since: int) -> tuple[bytes, bytes, bytes]:
        """A delta from ``since`` whose signed head names a state it does not lead to."""
        args = self.args
        gone = array("q", [args.delta_remove])
        blob = encode(IndexBlob("FR", args.epoch, since, args.version, array("q"), b"", gone,
                                args.delta_total, True))  # fmt: skip
        head = IndexHead.of_blob(blob, state_sha256=args.state_sha256)
        return blob, head.canonical(), sign_head(head, load_private_key(Path(args.audit_key)))

    def SyncIndex(self, request: Any, context: Any) -> Iterator[pb.IndexChunk]:
        delta = request.HasField("since_version")
        self._record("SyncIndex", since=request.since_version if delta else None)
        blob, head, signature = self.blob, self.head, self.signature
        if self.args.state_sha256:
            if not delta:
                context.abort(grpc.StatusCode.UNAVAILABLE, "busy")
            blob, head, signature = self._lying_delta(request.since_version)
        yield pb.IndexChunk(
            data=blob, offset=0, total_size=len(blob),
            sha256=hashlib.sha256(blob).digest(), index_version=self.args.version,
            epoch_id=self.args.epoch, final=True, head=head, head_signature=signature,
        )  # fmt: skip


def main() -> None:
    """Serve until SIGTERM."""
    ap = argparse.ArgumentParser()
    for name in ("cert", "key", "ca", "audit-key", "epoch", "record"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--version", type=int, required=True)
    ap.add_argument("--state-sha256", default="")
    ap.add_argument("--delta-remove", type=int, default=0)
    ap.add_argument("--delta-total", type=int, default=0)
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
