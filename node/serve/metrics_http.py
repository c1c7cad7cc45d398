"""The node's monitoring HTTP endpoint: ``/metrics`` and a ``/healthz`` that means it.

``/metrics`` is Prometheus text; ``/healthz`` answers 200 ``ok`` when the node can answer
its peers and 503 with one problem per line otherwise (``node.serve.monitoring.health_problems``);
any other path is 404. Keep it on loopback or an internal network: it names no peer's
data, but it is not authenticated.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from node.serve.metrics import MetricsEndpoint

__all__ = ["serve_monitoring"]

_log = logging.getLogger("fedlookup.node.metrics")

StartResponse = Callable[..., Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


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


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: cannot tell, so warn


def serve_monitoring(
    registry: CollectorRegistry, listen: str, problems: Callable[[], list[str]]
) -> MetricsEndpoint:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` from a background thread.

    Args:
        registry: the metrics to expose.
        listen: ``host:port`` (port 0 picks a free port).
        problems: the node's current health problems (empty: healthy).

    Returns:
        The running endpoint (bound port, stop).
    """
    host, _, port = listen.rpartition(":")
    if not _loopback(host.strip("[]")):
        _log.warning(
            "metrics endpoint on %s is not loopback: it is plain HTTP and shows per-peer query "
            "volumes; keep it off any network the peers share",
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
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return MetricsEndpoint(port=int(server.server_port), stop=stop)
