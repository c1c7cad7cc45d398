"""Container health check: ``grpc.health.v1.Health/Check`` on the node's own mTLS listener.

Runs inside the node's container (the image's ``HEALTHCHECK``) and in the loopback topology
test. It reads the same configuration the node serves from (``$FEDLOOKUP_CONFIG``, default
``/etc/fedlookup/node.toml``, with the same ``FEDLOOKUP_<SECTION>_<FIELD>`` overrides),
connects to ``127.0.0.1`` on the configured port with the node's own certificate and key,
and asks for the overall status.

Exit status (what Docker's HEALTHCHECK expects): 0 when the node answers SERVING, 1
otherwise, with one line on stderr saying why.

    python docker/healthcheck.py [--config PATH] [--service NAME] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import os
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


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run :func:`check`, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.environ.get("FEDLOOKUP_CONFIG", DEFAULT_CONFIG))
    parser.add_argument("--service", default="")
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    try:
        config = NodeConfig.from_toml(Path(args.config))
        status = check(config, service=args.service, timeout=args.timeout)
    except FedlookupError as exc:
        print(f"unhealthy: configuration: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"unhealthy: cannot read TLS material: {exc}", file=sys.stderr)
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
