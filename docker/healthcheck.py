"""Container health check: ``grpc.health.v1.Health/Check`` on the node's own mTLS listener,
or, with ``--desk``, the investigators' desk's login page.

Runs inside the node's and the desk's containers (the image's ``HEALTHCHECK``; compose's
for the desk) and in the loopback topology test. It reads the same configuration the node
serves from (``$FEDLOOKUP_CONFIG``, default ``/etc/fedlookup/node.toml``, with the same
``FEDLOOKUP_<SECTION>_<FIELD>`` overrides), connects to ``127.0.0.1`` on the configured
port with the node's own certificate and key, and asks for the overall status.

With ``--desk`` it reads ``[desk]`` of the same file instead and sends ``GET /login`` to
``127.0.0.1`` on the desk's port: over HTTPS when the desk has a certificate, and then the
certificate the desk presents must be the one configured in ``desk.tls_cert`` (compared
byte for byte, so no CA is needed inside the container).

Exit status (what Docker's HEALTHCHECK expects): 0 when the node answers SERVING (the desk:
200 with its own certificate), 1 otherwise, with one line on stderr saying why.

    python docker/healthcheck.py [--config PATH] [--service NAME] [--timeout SECONDS] [--desk]
"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
import sys
from pathlib import Path

import grpc
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fedlookup.errors import FedlookupError
from node.config import NodeConfig

DEFAULT_CONFIG = "/etc/fedlookup/node.toml"


def _server_name(cert_pem: bytes) -> str | None:
    """A DNS name the node's own certificate is valid for, to match against on 127.0.0.1."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = san.get_values_for_type(x509.DNSName)
    return names[0] if names else None


def check(config: NodeConfig, *, service: str = "", timeout: float = 4.0) -> str:
    """Ask the node described by ``config`` for its health over mTLS on loopback.

    Args:
        config: the node's configuration (port, CA, certificate, key).
        service: the health service name; ``""`` is the node as a whole.
        timeout: seconds for the whole call, handshake included.

    Returns:
        The status name (``SERVING``, ``NOT_SERVING``, ...).

    Raises:
        grpc.RpcError: the node did not answer (down, handshake refused, timeout).
    """
    port = config.node.listen.rsplit(":", 1)[1]
    cert = config.tls.cert.read_bytes()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=config.tls.ca.read_bytes(),
        private_key=config.tls.key.read_bytes(),
        certificate_chain=cert,
    )
    options: list[tuple[str, str]] = []
    name = _server_name(cert)
    if name is not None:
        # The certificate names the node's public host name, not 127.0.0.1.
        options.append(("grpc.ssl_target_name_override", name))
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def check_desk(config_path: Path, config: NodeConfig, *, timeout: float = 4.0) -> str:
    """``GET /login`` of the desk configured in ``config_path``'s ``[desk]``, on loopback.

    Args:
        config_path: the node's configuration file (its ``[desk]`` section).
        config: the same file, validated as the node's configuration.
        timeout: seconds for the connection and the answer.

    Returns:
        ``"SERVING"`` when the page answers 200, else ``"HTTP <status>"``.

    Raises:
        OSError: ``desk.tls_cert`` is unreadable or not PEM, nothing answers, TLS fails,
            or the desk presents another certificate than its configured one
            (:class:`ssl.SSLError`).
    """
    from node.desk.settings import DeskSettings

    settings = DeskSettings.from_toml(config_path, config.node.data_dir)
    port = int(settings.listen.rsplit(":", 1)[1])
    conn: http.client.HTTPConnection
    if settings.tls_cert is not None:
        try:
            expected = ssl.PEM_cert_to_DER_cert(settings.tls_cert.read_text(encoding="ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise OSError(f"{settings.tls_cert}: not a PEM certificate ({exc})") from exc
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # Checked below against the configured certificate itself, not through a CA.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    else:
        expected = b""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.connect()
        if expected and conn.sock.getpeercert(binary_form=True) != expected:  # type: ignore[union-attr]
            raise ssl.SSLError("the desk presents another certificate than desk.tls_cert")
        conn.request("GET", "/login")
        reply = conn.getresponse()
        reply.read()
    finally:
        conn.close()
    return "SERVING" if reply.status == 200 else f"HTTP {reply.status}"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run :func:`check` (or :func:`check_desk`), return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.environ.get("FEDLOOKUP_CONFIG", DEFAULT_CONFIG))
    parser.add_argument("--service", default="")
    parser.add_argument("--timeout", type=float, default=4.0)
    parser.add_argument("--desk", action="store_true", help="Check the desk's login page.")
    args = parser.parse_args(argv)
    try:
        config = NodeConfig.from_toml(Path(args.config))
        if args.desk:
            status = check_desk(Path(args.config), config, timeout=args.timeout)
        else:
            status = check(config, service=args.service, timeout=args.timeout)
    except FedlookupError as exc:
        print(f"unhealthy: configuration: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        what = "desk" if args.desk else "cannot read TLS material"
        print(f"unhealthy: {what}: {exc}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        print(f"unhealthy: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    if status != "SERVING":
        print(f"unhealthy: status {status}", file=sys.stderr)
        return 1
    print(status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
