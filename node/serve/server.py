"""Building and running the node's gRPC server behind mutual TLS.

:func:`build_server` is the one place server options are chosen; each is documented
there. :func:`server_credentials` makes TLS credentials whose certificate, key and CA are
re-read when their files change (checked at each new handshake), so a renewal needs no
restart. Client certificates are required: a caller without one never completes the
handshake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any, cast

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs import CredentialFiles
from fedlookup.errors import ConfigError, FedlookupError
from fedlookup.tls import require_tls13
from node.config import ServerConfig, TlsConfig

require_tls13()  # before any TLS credentials are built (docs/node.md, TLS)

__all__ = ["bind", "build_server", "server_credentials", "server_options"]

_log = logging.getLogger("fedlookup.node.server")


def _certificate_config(tls: TlsConfig) -> grpc.ServerCertificateConfiguration:
    """Read the node's key, certificate chain and CA, checking the key fits the certificate."""
    try:
        key_pem, cert_pem, ca_pem = tls.key.read_bytes(), tls.cert.read_bytes(), tls.ca.read_bytes()
    except OSError as exc:
        raise ConfigError("tls", f"cannot read {exc.filename}: {exc.strerror}") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        x509.load_pem_x509_certificates(ca_pem)
    except ValueError as exc:
        raise ConfigError("tls", f"unreadable PEM: {exc}") from exc
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
        # A renewal caught half-way (new certificate, old key) must not break handshakes.
        raise ConfigError("tls.key", f"{tls.key} does not match the certificate {tls.cert}")
    return grpc.ssl_server_certificate_configuration(
        [(key_pem, cert_pem)], root_certificates=ca_pem
    )


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """TLS server credentials requiring a client certificate, reloaded on file change.

    Args:
        tls: the node's key, certificate and federation CA.

    Returns:
        Credentials for ``add_secure_port``.

    Raises:
        ConfigError: the files cannot be read, or the key does not fit the certificate.
    """
    initial = _certificate_config(tls)
    watched = CredentialFiles([tls.key, tls.cert, tls.ca])

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        if not watched.changed():
            return None
        try:
            fresh = _certificate_config(tls)
        except FedlookupError as exc:
            _log.warning("keeping previous TLS credentials: %s", exc)
            return None
        _log.info("reloaded TLS certificate, key and CA", extra={"event": "tls_reload"})
        return fresh

    # grpc accepts None from the fetcher ("unchanged"); the stubs do not say so.
    return grpc.dynamic_ssl_server_credentials(
        initial,
        cast(Callable[[], grpc.ServerCertificateConfiguration], fetch),
        require_client_authentication=True,
    )


def server_options(config: ServerConfig) -> list[tuple[str, Any]]:
    """The channel arguments of the server.

    * ``grpc.max_receive_message_length`` / ``grpc.max_send_message_length``: the largest
      message either way (``server.max_message_bytes``); index and setup payloads are
      streamed in ``server.chunk_bytes`` pieces well below it.
    * ``grpc.keepalive_time_ms`` / ``grpc.keepalive_timeout_ms``: ping idle connections every
      ``server.keepalive_s`` and drop them if no answer within 20 s (dead peers do not hold
      threads).
    * ``grpc.http2.min_ping_interval_without_data_ms`` and
      ``grpc.keepalive_permit_without_calls``: accept client keepalives no more often than
      every 10 s, so a misbehaving client cannot flood pings.
    * ``grpc.so_reuseport = 0``: two nodes never share a port by accident (port 0 in tests).
    """
    return [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.keepalive_time_ms", int(config.keepalive_s * 1000)),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.so_reuseport", 0),
    ]


def build_server(
    config: ServerConfig, interceptors: Sequence[grpc.ServerInterceptor]
) -> grpc.Server:
    """Create the (not yet bound) gRPC server.

    Args:
        config: ``[server]`` settings: ``max_workers`` threads answer calls (each keeps its
            own PSI evaluator); at most ``max_concurrent_rpcs`` calls run or wait at once,
            further calls get RESOURCE_EXHAUSTED instead of queueing without bound.
        interceptors: outermost first (metrics, then identity).

    Returns:
        The server; add servicers, then :func:`bind` and ``start()``.
    """
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="rpc"),
        interceptors=list(interceptors),
        options=server_options(config),
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )


def bind(server: grpc.Server, listen: str, tls: TlsConfig) -> int:
    """Bind ``listen`` with mutual TLS and return the port actually bound.

    Raises:
        ConfigError: the address cannot be bound, or the TLS files are unusable.
    """
    hint = (
        "the address is in use (another node on this host? give each node its own port:"
        " node init --listen, [node] listen, or FEDLOOKUP_NODE_LISTEN) or is not an address"
        " of this machine"
    )
    try:
        port = server.add_secure_port(listen, server_credentials(tls))
    except RuntimeError as exc:
        # grpc's own text ("Failed to bind ... set GRPC_VERBOSITY=debug") says less than this.
        raise ConfigError("node.listen", f"cannot bind {listen}: {hint}") from exc
    if port == 0:
        raise ConfigError("node.listen", f"cannot bind {listen}: {hint}")
    return port


def write_port_file(path: Path, port: int) -> None:
    """Write the bound port to ``path`` atomically (for scripts and tests)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{port}\n", encoding="ascii")
    tmp.replace(path)
