"""A member that opens TLS to a node at one protocol version, with its valid certificate.

Prints one JSON line: whether the handshake completed and the version negotiated.

Usage::

    python tests/adversarial/members/tls_client.py --target 127.0.0.1:7443 --version 1.2 \
        --cert fr.pem --key fr.key
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def main() -> None:
    """Try one handshake and print the outcome."""
    ap = argparse.ArgumentParser()
    for name in ("target", "version", "cert", "key"):
        ap.add_argument(f"--{name}", required=True)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # this member only probes the protocol version
    ctx.minimum_version = ctx.maximum_version = VERSIONS[args.version]
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2"])
    host, _, port = args.target.rpartition(":")
    try:
        with (
            socket.create_connection((host, int(port)), timeout=10) as sock,
            ctx.wrap_socket(sock) as tls,
        ):
            out = {"handshake": True, "version": tls.version()}
    except (ssl.SSLError, OSError) as exc:
        out = {"handshake": False, "error": type(exc).__name__}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
