"""A member at another member's endpoint that relays the first connection to the real node.

It listens on ``127.0.0.1:PORT`` (the endpoint the directory lists for the victim). The
*first* TCP connection it accepts is relayed byte for byte to the real node at
``--upstream``, so whoever dials sees the real node's certificate on it. Every later
connection it answers itself: a gRPC server over mutual TLS with its own valid member
certificate, which would answer anything with a well-formed but poisoned reply and writes
one JSON line per call it receives in plaintext to ``--record`` (as ``impostor.py`` does).

This is the attack on an asker that authenticates the endpoint on one connection and then
sends its requests on another: the check passes on the relayed connection and the requests
arrive at this process. An asker that authenticates the connection carrying its bytes sends
it nothing, so the record stays empty.

Usage::

    python tests/adversarial/members/relay.py --port 7443 --upstream 127.0.0.1:7444 \
        --cert nl.pem --key nl.key --ca ca.pem --record calls.jsonl
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from impostor import member_arguments, recording_server  # a sibling program, not a package


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _relay(conn: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        conn.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
    back.start()
    _pipe(conn, upstream)
    back.join(timeout=10)
    conn.close()
    upstream.close()


def _split(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host, int(port)


def main() -> None:
    """Serve until SIGTERM."""
    args = member_arguments("--upstream")
    server, own = recording_server(args, "127.0.0.1:0")  # this member's own answering node
    front = socket.create_server(("127.0.0.1", args.port))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: (done.set(), front.close()))
    print("listening", flush=True)
    accepted = 0
    while not done.is_set():
        try:
            conn, _ = front.accept()
        except OSError:
            break
        target = _split(args.upstream) if accepted == 0 else ("127.0.0.1", own)
        accepted += 1
        threading.Thread(target=_relay, args=(conn, target), daemon=True).start()
    server.stop(0)


if __name__ == "__main__":
    main()
