"""The node's monitoring HTTP endpoint: ``/metrics`` and a ``/healthz`` that means it.

``/metrics`` is Prometheus text; ``/healthz`` answers 200 ``ok`` when the node can answer
its peers and 503 with one problem per line otherwise (``node.serve.monitoring.health_problems``);
any other path is 404. It names no peer's data but shows per-peer query volumes, so it is
plain HTTP on loopback only; anywhere else it is HTTPS (TLS 1.2 or later, the configuration
refuses otherwise), optionally requiring a scraper's client certificate from the monitoring
system's own CA (``[metrics] tls_cert``, ``tls_key``, ``client_ca``).
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from fedlookup.errors import ConfigError
from node.config import MetricsConfig
from node.config_fields import is_loopback_host
from node.serve.metrics import MetricsEndpoint

__all__ = ["monitoring_tls", "serve_monitoring"]

_log = logging.getLogger("fedlookup.node.metrics")

StartResponse = Callable[..., Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A refused TLS handshake is a log line naming the client, not a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ssl.SSLError | ConnectionError):
            host, port = client_address[:2]
            _log.warning(
                "refused metrics client %s:%s: %s",
                host,
                port,
                getattr(exc, "reason", None) or exc,
                extra={"event": "metrics_refused", "address": f"{host}:{port}"},
            )
            return
        super().handle_error(request, client_address)


def _app(
    registry: CollectorRegistry, problems: Callable[[], list[str]]
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            found = problems()
            status = "503 Service Unavailable" if found else "200 OK"
            body = ("\n".join(found) if found else "ok").encode() + b"\n"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics or /healthz\n"]

    return app


def monitoring_tls(config: MetricsConfig) -> ssl.SSLContext | None:
    """The server TLS context of the endpoint, or ``None`` for plain HTTP (no certificate).

    Raises:
        ConfigError: a certificate, key or CA file is missing, unreadable or not PEM (the
            field and file are named).
    """
    if config.tls_cert is None or config.tls_key is None:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # scrapers vary; 1.2 with forward secrecy
    field, path = "metrics.tls_cert", config.tls_cert
    try:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
        if config.client_ca is not None:
            field, path = "metrics.client_ca", config.client_ca
            ctx.load_verify_locations(cafile=config.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ConfigError(field, f"cannot load {path}: {reason}") from exc
    return ctx


def serve_monitoring(
    registry: CollectorRegistry,
    listen: str,
    problems: Callable[[], list[str]],
    tls: ssl.SSLContext | None = None,
) -> MetricsEndpoint:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` from a background thread.

    Args:
        registry: the metrics to expose.
        listen: ``host:port`` (port 0 picks a free port).
        problems: the node's current health problems (empty: healthy).
        tls: serve HTTPS with this context (:func:`monitoring_tls`); ``None``: plain HTTP,
            refused anywhere but loopback.

    Returns:
        The running endpoint (bound port, stop).

    Raises:
        ValueError: plain HTTP on an address that is not loopback.
    """
    host, _, port = listen.rpartition(":")
    if not is_loopback_host(host):
        if tls is None:
            raise ValueError(f"metrics endpoint on {listen} is not loopback and not HTTPS")
        if tls.verify_mode != ssl.CERT_REQUIRED:
            _log.warning(
                "metrics endpoint on %s is not loopback and any client may scrape it (HTTPS "
                "without metrics.client_ca); keep it off any network the peers share",
                listen,
                extra={"event": "metrics_exposed", "listen": listen},
            )
    server = make_server(
        host.strip("[]"),
        int(port),
        _app(registry, problems),
        server_class=_ThreadingServer,
        handler_class=_Quiet,
    )
    if tls is not None:
        # The handshake runs in the request's thread, on first read: a slow or silent
        # client never holds up the accept loop.
        server.socket = tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return MetricsEndpoint(port=int(server.server_port), stop=stop)
