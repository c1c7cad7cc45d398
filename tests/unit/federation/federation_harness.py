"""Several countries in one process as real node services (for cosigning tests).

Hit-check tests use :mod:`federation_sim`, built from ``federation`` and ``audit`` alone;
this harness is for what needs the node's own parts (its witness, its cosigning).

Each country is a real :class:`node.serve.service.NodeService` built from a ``node.toml``-shaped
configuration over the session's test PKI (epoch keys, encrypted index, policy capped by the
directory, durable quotas, audit log, directory watcher), with the registry fed straight
into its index. The asking country gets :class:`federation.trail.AskerTrail` over its own
outgoing log. Peers are reached through :class:`InProcessTransport`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from federation_sim import Firearm
from pki_fixtures import TestPKI

from audit.commitment import OpeningStore
from audit.log import AuditLog
from federation.directory import load_directory
from federation.hitcheck import HitCheck
from federation.index import IndexInput, NodeIndex
from federation.index_head import DirectoryHeadCheck
from federation.inprocess import InProcessTransport
from federation.keys import load_or_create_reference_key
from federation.labels import Label, make_reference
from federation.mirrors import MirrorStore
from federation.trail import AskerTrail
from node.config import NodeConfig
from node.layout import outgoing_log_origin
from node.serve.service import NodeService
from registry_adapter.identifiers import record_identifiers


@dataclass
class Country:
    """One in-process node."""

    code: str
    service: NodeService
    reference_key: bytes
    records: dict[str, Firearm] = field(default_factory=dict)

    @property
    def responder(self) -> Any:
        return self.service.responder

    @property
    def log(self) -> AuditLog:
        return self.service.audit_log

    def inputs(self, records: Sequence[Firearm]) -> list[IndexInput]:
        out = []
        for r in records:
            label = Label(r.category, make_reference(self.reference_key, self.code, r.record_id))
            out.append(IndexInput(r.record_id, record_identifiers(r.make, r.serial), label))
        return out

    def add(self, records: Sequence[Firearm]) -> int:
        """Add or change records; return the new index version."""
        for r in records:
            self.records[r.record_id] = r
        return self.service.index.update(self.inputs(records), workers=1)

    def rotate_epoch(self) -> str:
        """Rotate the epoch key and rebuild the index under it; return the new epoch id."""
        key = self.service.keys.rotate()
        config = self.service.config
        self.service.index.close()
        self.service.index = NodeIndex(config.index_dir, key=key, country=self.code)
        self.service.index.update(
            self.inputs(list(self.records.values())), workers=1, complete=True
        )
        return key.epoch_id


class Federation:
    """DE, FR and NL from the session's test PKI, each with its own registry."""

    def __init__(self, root: Path, pki: TestPKI) -> None:
        self.root = root
        self.pki = pki
        self.directory = load_directory(pki.directory_path, pki.ca.cert_path)
        self.countries: dict[str, Country] = {}
        self._closers: list[Callable[[], None]] = []
        self._auditors: dict[str, AskerTrail] = {}

    def add_country(
        self, code: str, records: Sequence[Firearm], policy: dict[str, Any] | None = None
    ) -> Country:
        """Start ``code``'s node service with ``records`` indexed.

        Args:
            code: DE, FR or NL.
            records: its registry.
            policy: the ``[policy]`` table of its configuration.
        """
        root = self.root / code
        node_files = self.pki.nodes[code]
        raw = {
            "node": {"country": code, "data_dir": str(root / "data")},
            "registry": {"url": f"sqlite:///{root / 'registry.db'}"},
            "tls": {
                "ca": str(self.pki.ca.cert_path),
                "cert": str(node_files.cert_path),
                "key": str(node_files.key_path),
                "crl": str(self.pki.ca.crl_path),
            },
            "directory": {"path": str(self.pki.directory_path)},
            "audit": {"key": str(self.pki.audit_key_paths[code])},
            "policy": policy or {},
        }
        config = NodeConfig.from_mapping(raw, base=root, env={})
        service = NodeService(config)
        self._closers.append(service.close)
        country = Country(code, service, load_or_create_reference_key(config.epoch_key_dir))
        country.add(records)
        self.countries[code] = country
        return country

    def transports(self, asker: str, wrap: Callable[[Country], Any] | None = None) -> list[Any]:
        """In-process transports from ``asker`` to every other country."""
        out = []
        for code, c in sorted(self.countries.items()):
            if code == asker:
                continue
            responder = wrap(c) if wrap else c.responder
            out.append(InProcessTransport(responder, as_country=asker, country=code))
        return out

    def hit_check(
        self, asker: str, *, timeout: float = 5.0, peers: list[Any] | None = None
    ) -> HitCheck:
        """A hit check from ``asker``: a new mirror store each time (as after a restart: it
        reads the mirrors from disk), one outgoing log and openings store per asker."""
        root = self.root / f"asker-{asker}"
        auditor = self._auditors.get(asker)
        if auditor is None:
            root.mkdir(parents=True, exist_ok=True)
            key = self.pki.audit_keys[asker]
            log = AuditLog.open(
                root / "audit-outgoing", outgoing_log_origin(asker), key, country=asker
            )
            openings = OpeningStore(root / "openings.sqlite3")
            self._closers += [log.close, openings.close]
            auditor = AskerTrail(
                country=asker, log=log, openings=openings, key=key, directory=self.directory
            )
            self._auditors[asker] = auditor
        check = HitCheck(
            country=asker,
            peers=peers if peers is not None else self.transports(asker),
            mirrors=MirrorStore(root / "mirrors", head_check=DirectoryHeadCheck(self.directory)),
            auditor=auditor,
            timeout=timeout,
            sync_timeout=timeout,
        )
        self._closers.append(check.close)
        return check

    def close(self) -> None:
        """Close every log, store and service opened."""
        for close in reversed(self._closers):
            close()
        self._closers.clear()
