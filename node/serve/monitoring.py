"""What a node tells its monitoring: state metrics, peer reachability, and real health.

Added to the node's Prometheus registry (``node.serve.metrics``) by :func:`install`:

* process metrics (``process_*``: CPU, memory, open files) and ``python_info``;
* ``fedlookup_build_info{version, python, grpcio, openmined_psi}`` = 1;
* read at each scrape, from the node's files: ``fedlookup_certificate_expiry_timestamp_seconds``,
  ``fedlookup_crl_next_update_timestamp_seconds``, ``fedlookup_directory_version`` and
  ``fedlookup_directory_issued_timestamp_seconds`` (directories do not expire; their age
  is what an operator watches), ``fedlookup_mirror_age_seconds{peer}`` (how old this node's
  copy of each peer's index is) and ``fedlookup_healthy`` (1 or 0, see below);
* from :class:`PeerProbe`, which asks every other member's health over mutual TLS once per
  interval: ``fedlookup_peer_up{peer}`` and ``fedlookup_peer_probe_timestamp_seconds{peer}``.

:func:`health_problems` is the node's real health: an index is served, the certificate is
valid, the CRL is not past its next update. The metrics endpoint answers ``/healthz`` with
200 ``ok`` or 503 and the problems, one per line (:mod:`node.serve.metrics_http`).
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import Gauge, Info, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import fedlookup
from certs._files import load_certificate, load_crl
from federation.directory import Directory
from federation.peer_link import ServerCheck
from fedlookup.errors import FedlookupError
from node.config import NodeConfig
from node.serve.health import peer_health
from node.serve.metrics import NodeMetrics

__all__ = ["PeerProbe", "health_problems", "install"]

_log = logging.getLogger(__name__)


def _dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def health_problems(
    config: NodeConfig, index_ready: bool, now: datetime | None = None
) -> list[str]:
    """Why the node cannot answer its peers right now (empty: healthy).

    Args:
        config: the node configuration (certificate and CRL paths).
        index_ready: whether an index is served.
        now: the time to judge validity at (default: now).
    """
    when = now or datetime.now(UTC)
    problems = [] if index_ready else ["no index served yet (run fedlookup node index)"]
    try:
        cert = load_certificate(config.tls.cert)
        if cert.not_valid_after_utc <= when:
            problems.append(f"certificate expired at {cert.not_valid_after_utc.isoformat()}")
    except FedlookupError as exc:
        problems.append(f"certificate unreadable: {exc}")
    try:
        crl = load_crl(config.tls.crl)
        if crl.next_update_utc is None or crl.next_update_utc <= when:
            problems.append("CRL is past its next update: every caller is refused")
    except FedlookupError as exc:
        problems.append(f"CRL unreadable: {exc}")
    return problems


class _StateCollector(Collector):
    """Reads the node's files at scrape time (a few small reads, no lock held)."""

    def __init__(
        self,
        config: NodeConfig,
        directory: Callable[[], Directory | None],
        index_ready: Callable[[], bool],
    ) -> None:
        self._config = config
        self._directory = directory
        self._index_ready = index_ready

    def collect(self) -> Iterator[GaugeMetricFamily]:
        cfg = self._config
        try:
            cert = load_certificate(cfg.tls.cert)
            yield GaugeMetricFamily(
                "fedlookup_certificate_expiry_timestamp_seconds",
                "When this node's TLS certificate expires (Unix time).",
                value=cert.not_valid_after_utc.timestamp(),
            )
        except FedlookupError:
            pass  # fedlookup_healthy says why
        try:
            crl = load_crl(cfg.tls.crl)
            if crl.next_update_utc is not None:
                yield GaugeMetricFamily(
                    "fedlookup_crl_next_update_timestamp_seconds",
                    "When the federation CRL this node holds goes stale (Unix time).",
                    value=crl.next_update_utc.timestamp(),
                )
        except FedlookupError:
            pass
        directory = self._directory()
        if directory is not None:
            yield GaugeMetricFamily(
                "fedlookup_directory_version", "Version of the directory in force.",
                value=directory.version,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "fedlookup_directory_issued_timestamp_seconds",
                "When the authority signed the directory in force (Unix time).",
                value=directory.issued_at.timestamp(),
            )
        ages = GaugeMetricFamily(
            "fedlookup_mirror_age_seconds",
            "Seconds since this node's copy of a peer's index last changed.",
            labels=["peer"],
        )
        now = time.time()
        for path in sorted(cfg.layout.mirrors.glob("*.mirror")):
            try:
                ages.add_metric([path.stem], now - path.stat().st_mtime)
            except OSError:
                continue
        yield ages
        healthy = not health_problems(cfg, self._index_ready())
        yield GaugeMetricFamily(
            "fedlookup_healthy", "1 when the node can answer peers (see /healthz).",
            value=1.0 if healthy else 0.0,
        )  # fmt: skip


class PeerProbe:
    """Asks every other member's health over mutual TLS, once per ``interval`` seconds.

    Args:
        config: the node configuration (its certificate asks).
        directory: the directory in force.
        metrics: the node's metrics (gauges are added to its registry).
        interval: seconds between rounds.
        servers: authenticates each member's endpoint (``certs.PeerAuthenticator``): the
            default ``ask`` is :func:`node.serve.health.peer_health` with it.
        ask: ``(config, country, endpoint) -> status``, instead of the default.
    """

    def __init__(
        self,
        config: NodeConfig,
        directory: Callable[[], Directory | None],
        metrics: NodeMetrics,
        *,
        interval: float = 60.0,
        servers: ServerCheck | None = None,
        ask: Callable[[NodeConfig, str, str], str] | None = None,
    ) -> None:
        self._config = config
        self._directory = directory
        self._interval = interval
        if ask is None:
            if servers is None:
                raise ValueError("PeerProbe needs the server check or its own ask")
            checked = servers
            ask = lambda cfg, country, endpoint: peer_health(cfg, country, endpoint, checked)  # noqa: E731
        self._ask = ask
        self.up = Gauge(
            "fedlookup_peer_up", "1 when the peer's node answered SERVING to the last probe.",
            ["peer"], registry=metrics.registry,
        )  # fmt: skip
        self.probed = Gauge(
            "fedlookup_peer_probe_timestamp_seconds", "When the peer was last probed.",
            ["peer"], registry=metrics.registry,
        )  # fmt: skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peer-probe", daemon=True)

    def round(self) -> dict[str, str]:
        """Probe every other member once; returns each peer's answer."""
        directory = self._directory()
        if directory is None:
            return {}
        answers: dict[str, str] = {}
        for member in directory.members:
            if member.country == self._config.node.country:
                continue
            status = self._ask(self._config, member.country, member.endpoint)
            answers[member.country] = status
            self.up.labels(peer=member.country).set(1.0 if status == "SERVING" else 0.0)
            self.probed.labels(peer=member.country).set(time.time())
            if status != "SERVING":
                _log.warning(
                    "peer not serving",
                    extra={"event": "peer_down", "peer": member.country, "detail": status},
                )
        return answers

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.round()
            except Exception:  # a probe must never take the node down
                _log.exception("peer probe failed")

    def start(self) -> None:
        """Probe in the background until :meth:`stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Stop probing."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def install(
    metrics: NodeMetrics,
    config: NodeConfig,
    directory: Callable[[], Directory | None],
    index_ready: Callable[[], bool],
) -> None:
    """Add process, build-info and node-state metrics to ``metrics.registry``."""
    ProcessCollector(registry=metrics.registry)
    PlatformCollector(registry=metrics.registry)
    build = Info("fedlookup_build", "fedlookup build.", registry=metrics.registry)
    build.info(
        {
            "version": fedlookup.__version__,
            "python": platform.python_version(),
            "grpcio": _dist_version("grpcio"),
            "openmined_psi": _dist_version("openmined-psi"),
        }
    )
    metrics.registry.register(_StateCollector(config, directory, index_ready))
