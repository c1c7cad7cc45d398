"""A member serving at another member's endpoint with its own valid certificate.

It speaks the federation's gRPC service on ``127.0.0.1:PORT`` over mutual TLS and would
answer anything with a well-formed but poisoned reply; every call that reaches it is
written, one JSON line per call (method, request size, caller certificate present), to
``--record``. An honest asker that authenticates the node it dialled sends it nothing, so
the record stays empty.

Usage::

    python tests/adversarial/members/impostor.py --port 7443 --cert nl.pem --key nl.key \
        --ca ca.pem --record calls.jsonl
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

import grpc


def _recorder(record: Path) -> grpc.GenericRpcHandler:
    lock = threading.Lock()

    def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
        auth = context.auth_context()
        line = {
            "method": context._rpc_event.call_details.method.decode(),
            "bytes": len(request),
            "client_cert": bool(auth.get("x509_pem_cert")),
        }
        with lock, record.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        return b""  # an empty message of any type: "country FR, index version 0, no limits"

    class Handler(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> Any:
            return grpc.unary_unary_rpc_method_handler(handle)

    return Handler()


def main() -> None:
    """Serve until SIGTERM."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    ap.add_argument("--ca", type=Path, required=True)
    ap.add_argument("--record", type=Path, required=True)
    args = ap.parse_args()
    args.record.write_text("", encoding="utf-8")
    creds = grpc.ssl_server_credentials(
        [(args.key.read_bytes(), args.cert.read_bytes())],
        root_certificates=args.ca.read_bytes(),
        require_client_auth=True,
    )
    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([_recorder(args.record)])
    server.add_secure_port(f"127.0.0.1:{args.port}", creds)
    server.start()
    print("listening", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
