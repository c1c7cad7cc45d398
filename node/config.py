"""Node configuration: one TOML file, environment overrides, validated at start-up.

A node reads ``node.toml`` (written by ``fedlookup node init``) through
:meth:`NodeConfig.from_toml`. Every scalar field of a section can be overridden from the
environment as ``FEDLOOKUP_<SECTION>_<FIELD>`` (``FEDLOOKUP_NODE_LISTEN=127.0.0.1:7000``,
``FEDLOOKUP_POLICY_ITEMS_PER_DAY=500``); per-peer policy tables are file-only. A bad value
raises :class:`~fedlookup.errors.ConfigError` naming the dotted field and the source it came
from. Relative paths are resolved against the directory of the configuration file.
The reference of every field is ``docs/node.md``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedlookup.errors import ConfigError
from node.config_fields import (
    ENV_PREFIX,
    SECTIONS,
    Fields,
    apply_env,
    country_code,
    host_port,
    is_loopback_host,
)
from node.followup_config import FollowUpConfig
from node.layout import NodeLayout
from node.policy import DEFAULT_MAX_ITEMS_PER_REQUEST, PeerPolicy, parse_peer_policy
from registry_adapter.identifier_versions import IdentifierRules, parse_versions
from registry_adapter.mapping import ColumnMapping

__all__ = [
    "AskConfig",
    "AuditConfig",
    "CompatConfig",
    "DirectoryConfig",
    "MetricsConfig",
    "NodeConfig",
    "NodeSection",
    "PolicyConfig",
    "RegistryConfig",
    "ServerConfig",
    "TlsConfig",
]

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class NodeSection:
    """``[node]``: who this node is and where it keeps its state.

    Attributes:
        country: ISO 3166-1 alpha-2 code, upper case; must match the node certificate.
        listen: ``host:port`` the gRPC server binds (port 0 picks a free port).
        data_dir: epoch keys, index, quota ledger and audit log live under it.
        log_format: ``text`` for people, ``json`` for log collectors.
        log_level: ``debug``, ``info``, ``warning`` or ``error``.
    """

    country: str
    listen: str = "127.0.0.1:7443"
    data_dir: Path = Path("data")
    log_format: str = "text"
    log_level: str = "info"


@dataclass(frozen=True)
class ServerConfig:
    """``[server]``: gRPC server limits (see :func:`node.serve.server.build_server`).

    Attributes:
        max_workers: threads answering calls; each holds its own PSI evaluator.
        max_message_bytes: largest message received or sent (index and setup are streamed
            in chunks below this size).
        chunk_bytes: chunk size of streamed index and setup payloads.
        keepalive_s: interval of server keepalive pings on idle connections.
        shutdown_grace_s: on SIGTERM, time in-flight calls get to finish.
        max_concurrent_rpcs: calls beyond this are refused with RESOURCE_EXHAUSTED.
    """

    max_workers: int = 8
    max_message_bytes: int = 16 * 1024 * 1024
    chunk_bytes: int = 1024 * 1024
    keepalive_s: float = 60.0
    shutdown_grace_s: float = 10.0
    max_concurrent_rpcs: int = 64


@dataclass(frozen=True)
class RegistryConfig:
    """``[registry]``: the registry this node answers from.

    Attributes:
        url: ``sqlite:///path`` (embedded store) or a PostgreSQL SQLAlchemy URL.
        aliases: optional manufacturer alias table (CSV) folded into identifiers.
        mapping: optional column mapping onto an existing schema (``[registry.mapping]``,
            see :class:`registry_adapter.ColumnMapping`), validated at start-up.
        identifiers: identifier rule versions the index serves and checks use, oldest first
            (``"v2"``, or ``"v1+v2"`` during a migration; ``docs/identifiers.md``).
    """

    url: str
    aliases: Path | None = None
    mapping: ColumnMapping | None = None
    identifiers: tuple[str, ...] = ("v2",)


@dataclass(frozen=True)
class TlsConfig:
    """``[tls]``: the node's certificate and the federation CA (PEM files).

    The files are re-read when they change: renewing a certificate or the CRL needs no
    restart.

    Attributes:
        ca: federation root CA certificate; client certificates must chain to it.
        cert: this node's certificate (chain).
        key: this node's private key (0600).
        crl: the federation's certificate revocation list, signed by the CA. Required:
            without a current CRL every caller is refused (fail closed).
    """

    ca: Path
    cert: Path
    key: Path
    crl: Path


@dataclass(frozen=True)
class DirectoryConfig:
    """``[directory]``: the signed federation directory (members and their audit keys).

    Attributes:
        path: the signed directory file; re-read when it changes.
        authority: certificate whose key signs the directory (defaults to ``tls.ca``).
    """

    path: Path
    authority: Path


@dataclass(frozen=True)
class AuditConfig:
    """``[audit]``: the node's signed query log.

    Attributes:
        key: Ed25519 private key signing checkpoints and receipts (0600).
        checkpoint_interval_s: how often a new signed checkpoint is published.
        heartbeat_interval_s: how often an empty heartbeat entry proves liveness.
        cosign_interval_s: how often the serving node asks every peer to cosign its logs'
            latest checkpoints; 0 turns the timer off (``fedlookup node cosign`` still works).
        cosign_timeout_s: deadline of each add-checkpoint call to a peer.
    """

    key: Path
    checkpoint_interval_s: float = 60.0
    heartbeat_interval_s: float = 300.0
    cosign_interval_s: float = 300.0
    cosign_timeout_s: float = 10.0


@dataclass(frozen=True)
class MetricsConfig:
    """``[metrics]``: the Prometheus endpoint.

    Attributes:
        listen: ``host:port`` of the HTTP endpoint (``/metrics``, ``/healthz``), or
            ``None`` for no endpoint.
        peer_probe_interval_s: how often the serving node asks every other member's health
            (``fedlookup_peer_up``); 0 turns the probe off. Only with an endpoint.
        tls_cert: PEM certificate (chain) the endpoint serves HTTPS with; required when
            ``listen`` is not loopback.
        tls_key: its PEM private key.
        client_ca: PEM roots a scraper's client certificate must chain to (``None``: any
            client may scrape). Never the federation CA: every member would qualify.
    """

    listen: str | None = None
    peer_probe_interval_s: float = 60.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None


@dataclass(frozen=True)
class CompatConfig:
    """``[compat]``: the one stock openmined setup the node offers (``CompatSetup``).

    A setup is built from the whole registry, so the node builds it for these parameters
    only, once per index version; a caller asking for others is refused.

    Attributes:
        fpr: false-positive rate of the setup's filter, between 1e-12 and 0.5.
        num_client_inputs: the client set size the filter is sized for.
    """

    fpr: float = 1e-9
    num_client_inputs: int = DEFAULT_MAX_ITEMS_PER_REQUEST


@dataclass(frozen=True)
class AskConfig:
    """``[ask]``: how this node asks its peers (``fedlookup check``, the desk).

    Attributes:
        max_items_per_request: this node's own cap on the items of one request; each
            peer's chunk size is the smaller of this and the limit the peer publishes.
            ``None`` (the default) follows each peer's limit alone.
    """

    max_items_per_request: int | None = None


@dataclass(frozen=True)
class PolicyConfig:
    """``[policy]`` defaults plus ``[policy.peers.CC]`` overrides.

    Attributes:
        default: policy of every directory member without an override.
        peers: per-country overrides (each field falls back to ``default``).
    """

    default: PeerPolicy = field(default_factory=PeerPolicy)
    peers: Mapping[str, PeerPolicy] = field(default_factory=dict)

    def for_peer(self, country: str) -> PeerPolicy:
        """The policy that applies to ``country``."""
        return self.peers.get(country, self.default)


@dataclass(frozen=True)
class NodeConfig:
    """The whole validated configuration of one node."""

    node: NodeSection
    registry: RegistryConfig
    tls: TlsConfig
    directory: DirectoryConfig
    audit: AuditConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    compat: CompatConfig = field(default_factory=CompatConfig)
    followup: FollowUpConfig = field(default_factory=FollowUpConfig)
    ask: AskConfig = field(default_factory=AskConfig)
    source: Path | None = None

    @property
    def layout(self) -> NodeLayout:
        """The paths of the data folder (:mod:`node.layout`)."""
        return NodeLayout(self.node.data_dir)

    def identifier_rules(self) -> IdentifierRules:
        """The identifier versions and maker tables ``[registry]`` names."""
        return IdentifierRules(self.registry.identifiers, self.registry.aliases)

    @property
    def epoch_key_dir(self) -> Path:
        """Directory of the epoch key files."""
        return self.layout.epoch_keys

    @property
    def reference_key_dir(self) -> Path:
        """Directory of the reference key (follow-up references of labels)."""
        return self.layout.reference_keys

    @property
    def index_dir(self) -> Path:
        """Directory of the encrypted index."""
        return self.layout.index

    @property
    def audit_dir(self) -> Path:
        """Directory of the audit log."""
        return self.layout.audit

    @property
    def quota_db(self) -> Path:
        """SQLite file of the quota ledger."""
        return self.layout.quotas

    @classmethod
    def from_toml(cls, path: Path, env: Mapping[str, str] | None = None) -> NodeConfig:
        """Read, override from the environment, and validate a configuration file.

        Args:
            path: the TOML file.
            env: environment to take ``FEDLOOKUP_*`` overrides from (default ``os.environ``).

        Returns:
            The validated configuration, paths absolute.

        Raises:
            ConfigError: unreadable file, bad TOML, or an invalid field (named).
        """
        src = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError("(file)", f"cannot read: {exc.strerror}", src) from exc
        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError("(file)", _not_utf8(data, exc), src) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("(file)", f"not valid TOML: {exc}", src) from exc
        return cls.from_mapping(raw, base=path.parent.resolve(), source=src, env=env)

    @classmethod
    def from_mapping(
        cls,
        raw: Mapping[str, Any],
        *,
        base: Path,
        source: str = "(mapping)",
        env: Mapping[str, str] | None = None,
    ) -> NodeConfig:
        """Validate an already-parsed configuration (see :meth:`from_toml`)."""
        data = apply_env(raw, os.environ if env is None else env, ENV_PREFIX)
        for name in data:
            if name not in SECTIONS:
                raise ConfigError(name, "unknown section", source)
        f = Fields(data, base, source)
        country = country_code(f.str_("node", "country"), "node.country", source)
        node = NodeSection(
            country=country,
            listen=host_port(f.str_("node", "listen", "127.0.0.1:7443"), "node.listen", source),
            data_dir=f.path("node", "data_dir", "data"),
            log_format=f.choice("node", "log_format", LOG_FORMATS, "text"),
            log_level=f.choice("node", "log_level", LOG_LEVELS, "info"),
        )
        server = ServerConfig(
            max_workers=f.int_("server", "max_workers", 8, lo=1, hi=256),
            max_message_bytes=f.int_(
                "server", "max_message_bytes", 16 * 1024 * 1024, lo=64 * 1024, hi=1 << 30
            ),
            chunk_bytes=f.int_("server", "chunk_bytes", 1024 * 1024, lo=1024, hi=1 << 28),
            keepalive_s=f.float_("server", "keepalive_s", 60.0, lo=1.0),
            shutdown_grace_s=f.float_("server", "shutdown_grace_s", 10.0, lo=0.0),
            max_concurrent_rpcs=f.int_("server", "max_concurrent_rpcs", 64, lo=1),
        )
        if server.chunk_bytes > server.max_message_bytes // 2:
            raise ConfigError("server.chunk_bytes", "must be at most max_message_bytes / 2", source)
        mapping = f.table("registry", "mapping")
        registry = RegistryConfig(
            url=_sqlite_relative(f.str_("registry", "url"), base),
            aliases=f.opt_path("registry", "aliases"),
            mapping=ColumnMapping.from_dict(mapping, source=source) if mapping else None,
            identifiers=parse_versions(f.str_("registry", "identifiers", "v2"), source=source),
        )
        tls = TlsConfig(
            ca=f.path("tls", "ca"),
            cert=f.path("tls", "cert"),
            key=f.path("tls", "key"),
            crl=f.path("tls", "crl"),
        )
        directory = DirectoryConfig(
            path=f.path("directory", "path"),
            authority=f.opt_path("directory", "authority") or tls.ca,
        )
        audit = AuditConfig(
            key=f.path("audit", "key"),
            checkpoint_interval_s=f.float_("audit", "checkpoint_interval_s", 60.0, lo=0.1),
            heartbeat_interval_s=f.float_("audit", "heartbeat_interval_s", 300.0, lo=0.1),
            cosign_interval_s=f.float_("audit", "cosign_interval_s", 300.0, lo=0.0),
            cosign_timeout_s=f.float_("audit", "cosign_timeout_s", 10.0, lo=0.1),
        )
        metrics_listen = f.opt_str("metrics", "listen")
        metrics = _metrics(
            MetricsConfig(
                listen=host_port(metrics_listen, "metrics.listen", source)
                if metrics_listen
                else None,
                peer_probe_interval_s=f.float_("metrics", "peer_probe_interval_s", 60.0, lo=0.0),
                tls_cert=f.opt_path("metrics", "tls_cert"),
                tls_key=f.opt_path("metrics", "tls_key"),
                client_ca=f.opt_path("metrics", "client_ca"),
            ),
            tls.ca,
            source,
        )
        compat = CompatConfig(
            fpr=f.float_("compat", "fpr", 1e-9),
            num_client_inputs=f.int_(
                "compat", "num_client_inputs", DEFAULT_MAX_ITEMS_PER_REQUEST, lo=1, hi=1_000_000
            ),
        )
        if not 1e-12 <= compat.fpr <= 0.5:  # NaN fails too
            raise ConfigError("compat.fpr", f"{compat.fpr} not in [1e-12, 0.5]", source)
        ask_limit = f.int_("ask", "max_items_per_request", 0, lo=1, hi=1_000_000)
        ask = AskConfig(max_items_per_request=ask_limit or None)
        policy = _policy(data.get("policy", {}), source)
        # [desk] is read and validated by node.desk.settings (the investigators' desk).
        followup = FollowUpConfig.from_mapping(data.get("followup"), source)
        f.finish(skip=("policy", "desk", "followup"))
        return cls(
            node=node,
            registry=registry,
            tls=tls,
            directory=directory,
            audit=audit,
            server=server,
            metrics=metrics,
            policy=policy,
            compat=compat,
            followup=followup,
            ask=ask,
            source=Path(source) if source != "(mapping)" else None,
        )


def _metrics(metrics: MetricsConfig, federation_ca: Path, source: str) -> MetricsConfig:
    """``[metrics]`` checked as a whole: HTTPS off loopback, a key with every certificate,
    and never the federation's roots as the scrapers' (every member would qualify)."""
    if (metrics.tls_cert is None) != (metrics.tls_key is None):
        raise ConfigError("metrics.tls_key", "metrics.tls_cert and tls_key go together", source)
    if metrics.client_ca is not None and metrics.tls_cert is None:
        raise ConfigError("metrics.client_ca", "needs metrics.tls_cert and tls_key", source)
    off_loopback = bool(metrics.listen) and not is_loopback_host(
        str(metrics.listen).rpartition(":")[0]
    )
    if off_loopback and metrics.tls_cert is None:
        raise ConfigError(
            "metrics.listen",
            f"{metrics.listen} is not loopback: the endpoint shows per-peer query volumes, "
            "so off loopback it must be HTTPS (set metrics.tls_cert and metrics.tls_key, "
            "and metrics.client_ca to require the scraper's certificate) or bind 127.0.0.1",
            source,
        )
    if metrics.client_ca is not None and _same_file(metrics.client_ca, federation_ca):
        raise ConfigError(
            "metrics.client_ca",
            "is the federation CA (tls.ca): every member could scrape this node; use the "
            "monitoring system's own CA",
            source,
        )
    return metrics


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes().strip() == b.read_bytes().strip()
    except OSError:
        return a == b  # unreadable now: the node's start names the missing file


def _not_utf8(data: bytes, exc: UnicodeDecodeError) -> str:
    """Where a file stops being UTF-8 (1-based line and column, 0-based byte offset)."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return (
        f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {column} "
        f"(byte offset {exc.start}); save the file as UTF-8"
    )


def _sqlite_relative(url: str, base: Path) -> str:
    """Make a relative ``sqlite:///path`` absolute against the configuration's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        rest = url[len(prefix) :]
        if rest and rest != ":memory:":
            return prefix + str((base / rest).resolve())
    return url


def _policy(raw: Any, source: str) -> PolicyConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError("policy", "must be a table", source)
    defaults = {k: v for k, v in raw.items() if k != "peers"}
    default = parse_peer_policy(defaults, PeerPolicy(), "policy", source)
    peers_raw = raw.get("peers", {})
    if not isinstance(peers_raw, Mapping):
        raise ConfigError("policy.peers", "must be a table of country tables", source)
    peers: dict[str, PeerPolicy] = {}
    for cc, table in peers_raw.items():
        name = f"policy.peers.{cc}"
        country = country_code(cc, name, source)
        if not isinstance(table, Mapping):
            raise ConfigError(name, "must be a table", source)
        peers[country] = parse_peer_policy(table, default, name, source)
    return PolicyConfig(default=default, peers=peers)
