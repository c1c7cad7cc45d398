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
from concurrent.futures import ThreadPoolExecutor
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


def member_arguments(*extra: str) -> argparse.Namespace:
    """``--port --cert --key --ca --record`` (and ``extra`` required options), parsed; the
    record file is emptied."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    for name in extra:
        ap.add_argument(name, required=True)
    for name in ("--cert", "--key", "--ca", "--record"):
        ap.add_argument(name, type=Path, required=True)
    args = ap.parse_args()
    args.record.write_text("", encoding="utf-8")
    return args


def recording_server(args: argparse.Namespace, address: str) -> tuple[grpc.Server, int]:
    """A gRPC server at ``address`` with the member's certificate that records every call
    (a client certificate required, as a node's); started, with its bound port."""
    creds = grpc.ssl_server_credentials(
        [(args.key.read_bytes(), args.cert.read_bytes())],
        root_certificates=args.ca.read_bytes(),
        require_client_auth=True,
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([_recorder(args.record)])
    port = server.add_secure_port(address, creds)
    server.start()
    return server, port


def main() -> None:
    """Serve until SIGTERM."""
    args = member_arguments()
    server, _ = recording_server(args, f"127.0.0.1:{args.port}")
    print("listening", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
