"""Wiring a running node from its configuration: :class:`NodeService` and :func:`serving`.

The service owns the long-lived parts (epoch keys, index, quota ledger, audit log,
directory watcher, peer verifier, metrics, health) and adapts them to the
:class:`~federation.responder.Responder`'s ports (straight from ``federation``). A housekeeping
thread, once a second, reports SERVING as soon as the index holds a version, refreshes the
index gauges, picks up a new directory and lets the audit log sign checkpoints and
heartbeats. A cosigning thread (:class:`node.serve.cosign_timer.CosignTimer`) asks the peers to
cosign the logs' latest checkpoints every ``audit.cosign_interval_s`` and on request, and
the servicer witnesses the peers' own checkpoints (``AddCheckpoint``).

Example::

    config = NodeConfig.from_toml(Path("node.toml"))
    with serving(config) as node:
        print("listening on port", node.port)
        node.wait()            # until SIGTERM / SIGINT or node.stop()
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from audit.entries import LogEntry
from audit.keys import load_private_key
from audit.log import AuditLog
from certs import PeerAuthenticator, ReloadingPeerVerifier
from federation.directory_watch import DirectoryWatcher
from federation.evaluation import Evaluator
from federation.followup import FollowUpOwner
from federation.index import NodeIndex
from federation.index_head import sign_head
from federation.keys import EpochKeyStore
from federation.responder import Responder
from federation.trail import ResponderTrail
from fedlookup.errors import FedlookupError, InputError
from node.config import NodeConfig
from node.followups import FollowUpStore, log_decisions, record_data
from node.layout import node_log_origin
from node.policy import ConfigPolicy
from node.serve.adapters import on_directory_change
from node.serve.compat import CompatSetups
from node.serve.cosign_timer import CosignTimer
from node.serve.cosigning import node_witness
from node.serve.followup_notice import notifier
from node.serve.followup_servicer import FollowUpServicer
from node.serve.health import NodeHealth
from node.serve.identity import FEDERATION_SERVICE, IdentityInterceptor, install_address_filter
from node.serve.metrics import MetricsEndpoint, MetricsInterceptor, NodeMetrics
from node.serve.metrics_http import monitoring_tls, serve_monitoring
from node.serve.monitoring import PeerProbe, health_problems
from node.serve.monitoring import install as install_monitoring
from node.serve.quotas import SqliteQuotaLedger
from node.serve.server import bind, build_server
from node.serve.servicer import FederationServicer
from protos.fedlookup.v1 import fedlookup_pb2 as pb
from protos.fedlookup.v1 import fedlookup_pb2_grpc as pb_grpc

__all__ = ["NodeService", "RunningNode", "serving"]

_log = logging.getLogger("fedlookup.node")
_TICK_S = 1.0


class NodeService:
    """The parts of one node, opened from its configuration (close with :meth:`close`).

    Args:
        config: the validated configuration.

    Raises:
        FedlookupError: a key, the directory, the audit log or the TLS files are unusable
            (the node refuses to start rather than serve half-configured).
    """

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self._epoch: str | None = None
        country = config.node.country
        self._stack = ExitStack()
        try:
            self.metrics = NodeMetrics()
            self.health = NodeHealth()
            self.keys = EpochKeyStore(config.epoch_key_dir)
            self.index = NodeIndex(config.index_dir, key=self.keys.current(), country=country)
            self._stack.callback(self.index.close)
            self.quotas = SqliteQuotaLedger(config.quota_db)
            self._stack.callback(self.quotas.close)
            # The audit key signs the log's checkpoints and the heads of index downloads.
            self.audit_key = load_private_key(config.audit.key)
            self.audit_log = AuditLog.open(
                config.audit_dir,
                node_log_origin(country),
                self.audit_key,
                country=country,
                checkpoint_interval=config.audit.checkpoint_interval_s,
                heartbeat_interval=config.audit.heartbeat_interval_s,
            )
            self._stack.callback(self.audit_log.close)
            self.directory = DirectoryWatcher(
                config.directory.path,
                config.directory.authority,
                on_change=on_directory_change(self.audit_log),
            )
            if country not in self.directory.current.countries:
                _log.warning("this node's country is not in the federation directory")
            self.verifier = ReloadingPeerVerifier([config.tls.ca], [config.tls.crl])
            self.trail = ResponderTrail(self.audit_log, used=self.quotas.used)
            # Pending refusal counts are written before the log closes (callbacks run LIFO).
            self._stack.callback(self.trail.flush_refusals)
            self.responder = Responder(
                country=country,
                index=self._ready_index,
                evaluator_factory=lambda epoch: Evaluator(self.keys.load(epoch)),
                policy=ConfigPolicy(config.policy.default, config.policy.peers),
                quotas=self.quotas,
                audit=self.trail,
                directory=self.directory,
                on_evaluated=lambda peer, n: self.metrics.items.labels(peer=peer).inc(n),
                identifier_version="+".join(config.registry.identifiers),
                signer=self.audit_key.sign,
                head_signer=functools.partial(sign_head, key=self.audit_key),
            )
            # The responder's grant is the node's policy capped by the directory's limits.
            self.compat = CompatSetups(
                config, self.keys, self._served_version, self.responder, self._record_setup
            )
            self.followups = FollowUpStore(config.layout.followups)
            self._stack.callback(self.followups.close)
            self.followup_owner = FollowUpOwner(
                country=country,
                directory=self.directory,
                store=self.followups,
                log=self._log_follow_up,
                policy=config.followup.policy,
                lookup=self._lookup_reference,
                resolve=lambda record_id: record_data(
                    config.registry.url,
                    config.registry.mapping,
                    record_id,
                    contact=config.followup.contact,
                ),
                on_queued=notifier(config.followup.smtp, country),
            )
            self.witness = node_witness(self.audit_log, lambda: self.directory.current)
            self.authenticator = PeerAuthenticator(self.verifier, self.directory)
            self.identity = IdentityInterceptor(self.authenticator, on_refusal=self.metrics.refused)
            install_address_filter()  # every refusal line names the caller's address
            install_monitoring(
                self.metrics, config, lambda: self.directory.current, lambda: self.health.serving
            )
        except BaseException:
            self._stack.close()
            raise

    def _record_setup(
        self, peer: str, epoch_id: str, version: int, inputs: int, fpr: float
    ) -> None:
        """Audit a stock setup before it is sent (LogWriteError: it is not sent)."""
        self.audit_log.append(
            LogEntry.compat_setup(peer, epoch_id=epoch_id, version=version, inputs=inputs, fpr=fpr)
        )

    def _note_epoch(self) -> None:
        """Log an epoch change (``node rotate-key`` rebuilt the index) in the audit log."""
        epoch = self.index.epoch_id
        if self._epoch is not None and epoch != self._epoch:
            self.audit_log.append(LogEntry.key_rotation("epoch", epoch))
            _log.info("serving a new epoch", extra={"event": "epoch", "epoch_id": epoch})
        self._epoch = epoch

    def _log_follow_up(self, entry: LogEntry) -> None:
        """Append a ``followup_*`` entry and sign a checkpoint over it at once (follow-ups
        come at a person's pace; auditors and the requester's cross-check see them now)."""
        self.audit_log.append(entry)
        self.audit_log.checkpoint()

    def _lookup_reference(self, reference: str) -> str | None:
        """The record id of a reference this node issued, or ``None``."""
        try:
            return self.index.resolve_reference(reference)
        except InputError:
            return None

    def _served_version(self) -> tuple[str, int] | None:
        index = self._ready_index()
        return (index.epoch_id, index.version) if index is not None else None

    def _ready_index(self) -> NodeIndex | None:
        return self.index if self.index.version > 0 else None

    def tick(self) -> None:
        """One round of housekeeping (see the module docstring); never raises."""
        try:
            version = self.index.version
            self.metrics.index_version.set(version)
            self.metrics.index_size.set(self.index.size)
            if (version > 0) != self.health.serving:
                self.health.set_serving(version > 0)
                _log.info(
                    "index ready" if version > 0 else "index not ready",
                    extra={"event": "health", "index_version": version},
                )
            self._note_epoch()
            self.directory.poll()
            log_decisions(self.followups, self.config.node.country, self._log_follow_up)
            self.audit_log.maybe_heartbeat()
            self.trail.flush_refusals(everything=False)
        except FedlookupError as exc:
            _log.error("housekeeping failed: %s", exc)

    def close(self) -> None:
        """Close the index, ledger and audit log."""
        self._stack.close()


class RunningNode:
    """A serving node: its bound port and a way to stop it.

    Attributes:
        port: the gRPC port bound.
        service: the node's parts.
        metrics_port: the metrics endpoint's port, when one is configured.
    """

    def __init__(self, service: NodeService, port: int, metrics_port: int | None) -> None:
        self.service = service
        self.port = port
        self.metrics_port = metrics_port
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the node to shut down (what SIGTERM does)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop`; returns whether it was called."""
        return self._stop.wait(timeout)


def _housekeeping(service: NodeService, stop: threading.Event) -> None:
    while not stop.wait(_TICK_S):
        service.tick()


@contextmanager
def serving(config: NodeConfig) -> Iterator[RunningNode]:
    """Run a node for the duration of a ``with`` block.

    On exit the node reports NOT_SERVING, stops accepting calls, lets in-flight calls finish
    within ``server.shutdown_grace_s``, then closes its stores.

    Args:
        config: the validated configuration.

    Yields:
        The running node (bound port, stop switch).

    Raises:
        ConfigError: the address cannot be bound or the TLS files are unusable.
        FedlookupError: see :class:`NodeService`.
    """
    service = NodeService(config)
    with ExitStack() as stack:
        stack.callback(service.close)
        server = build_server(
            config.server, [MetricsInterceptor(service.metrics), service.identity]
        )
        pb_grpc.add_FederationServicer_to_server(
            FederationServicer(
                service.responder,
                service.metrics,
                chunk_bytes=config.server.chunk_bytes,
                compat_setup=service.compat,
                witness=service.witness.add_checkpoint,
            ),
            server,
        )
        pb_grpc.add_FollowUpServicer_to_server(
            FollowUpServicer(service.followup_owner, service.metrics), server
        )
        health_pb2_grpc.add_HealthServicer_to_server(service.health.servicer, server)
        names = (
            pb.DESCRIPTOR.services_by_name["Federation"].full_name,
            pb.DESCRIPTOR.services_by_name["FollowUp"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, server)
        port = bind(server, config.node.listen, config.tls)
        endpoint: MetricsEndpoint | None = None
        if config.metrics.listen:
            endpoint = serve_monitoring(
                service.metrics.registry,
                config.metrics.listen,
                lambda: health_problems(config, service.health.serving),
                monitoring_tls(config.metrics),
            )
            stack.callback(endpoint.stop)
            if config.metrics.peer_probe_interval_s > 0:
                probe = PeerProbe(
                    config,
                    lambda: service.directory.current,
                    service.metrics,
                    interval=config.metrics.peer_probe_interval_s,
                    servers=service.authenticator,
                )
                probe.start()
                stack.callback(probe.stop)
        service.tick()  # SERVING at once when an index is already there
        server.start()
        stop_housekeeping = threading.Event()
        keeper = threading.Thread(
            target=_housekeeping, args=(service, stop_housekeeping), daemon=True
        )
        keeper.start()
        cosigner = CosignTimer(config, service.audit_log, lambda: service.directory.current)
        cosigner.start()
        host = config.node.listen.rpartition(":")[0]
        _log.info(
            "node serving",
            extra={
                "event": "serving",
                "country": config.node.country,
                "address": f"{host}:{port}",
                "service": FEDERATION_SERVICE,
                "metrics_port": endpoint.port if endpoint else None,
            },
        )
        node = RunningNode(service, port, endpoint.port if endpoint else None)
        try:
            yield node
        finally:
            _log.info("node stopping", extra={"event": "stopping"})
            service.health.shutting_down()
            cosigner.stop()
            server.stop(config.server.shutdown_grace_s).wait()
            stop_housekeeping.set()
            keeper.join(timeout=5)
            _log.info("node stopped", extra={"event": "stopped"})
