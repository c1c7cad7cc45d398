"""A federation of real node processes on 127.0.0.1 for the reliability suite and script.

Built with the same set-up code as ``fedlookup demo`` and the integration tests
(:mod:`node.demo.setup`, :mod:`node.demo.network`): a CA, one initialised node folder per
country, an encrypted index per node, a signed directory, one ``fedlookup node serve``
process per node logging JSON lines.

Example::

    with RelNet.start(tmp_path, ["DE", "FR"], records=50) as net:
        channel = net.channel("FR", "DE")          # FR's certificate, DE's port
        ...
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from audit.entries import LogEntry
from audit.records import read_records
from federation.grpc_transport import ClientCredentials
from node.config import NodeConfig
from node.demo.network import NodeProcesses
from node.demo.setup import Network, create_network, pin_listen, publish_directory
from node.ops.operations import index_node
from registry_adapter import RegistryStore

__all__ = [
    "NODE_ENV",
    "Rec",
    "RelNet",
    "audit_kinds",
    "export_and_verify",
    "load_registry",
    "registry_records",
]

#: (record_id, make, serial, category)
Rec = tuple[str, str, str, str]

#: JSON logs (searchable by reason) and a small message limit (oversized cases stay cheap).
NODE_ENV = {
    "FEDLOOKUP_NODE_LOG_FORMAT": "json",
    "FEDLOOKUP_SERVER_MAX_MESSAGE_BYTES": str(256 * 1024),
    "FEDLOOKUP_SERVER_CHUNK_BYTES": str(64 * 1024),
}


def registry_records(country: str, n: int) -> list[Rec]:
    """``n`` deterministic records of ``country`` (serials ``<CC>000000`` upwards)."""
    makes = ("Glock", "Beretta", "Walther", "CZ")
    cats = ("stolen", "lost", "registered", "seized")
    return [
        (f"{country.lower()}-{i}", makes[i % 4], f"{country}{i:06d}", cats[i % 4]) for i in range(n)
    ]


def load_registry(config: NodeConfig, records: Sequence[Rec]) -> None:
    """Import ``records`` into the node's registry database (a CSV through the importer)."""
    path = config.node.data_dir / "registry-import.csv"
    rows = ["record_id,make,model,caliber,serial,category,recorded_at"]
    rows += [f"{rid},{make},M1,9mm,{serial},{cat},2024-03-01" for rid, make, serial, cat in records]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with RegistryStore(config.registry.url) as store:
        summary = store.import_file(path)
    assert summary.rejected == 0, summary


def export_and_verify(config: NodeConfig, log_dir: Path, out: Path) -> int:
    """Export a log that no process holds (signing a fresh checkpoint with the node's audit
    key, as ``fedlookup audit export --key`` does), verify the export offline, and return
    its number of entries.

    Raises:
        AssertionError: the export does not verify (the findings are in the message).
    """
    from audit.export import export_log
    from audit.keys import load_private_key
    from audit.verify import verify_export

    summary = export_log(log_dir, out, signing_key=load_private_key(config.audit.key))
    report = verify_export(out)
    assert report.ok, [f for f in report.findings if not f.valid]
    return summary.size


def audit_kinds(log_dir: Path) -> list[str]:
    """The kind of every entry in an audit log directory (read-only; the node may run)."""
    return [LogEntry.parse(r).kind for r in read_records(log_dir / "entries.rec")]


@dataclass
class RelNet:
    """A running federation (see the module docstring)."""

    network: Network
    procs: NodeProcesses
    records: dict[str, list[Rec]]
    ports: dict[str, int] = field(default_factory=dict)
    version: int = 2

    @classmethod
    @contextmanager
    def start(
        cls,
        root: Path,
        countries: Sequence[str],
        *,
        records: int = 50,
        items_per_day: int = 1_000_000,
        max_items_per_request: int = 1000,
        env: dict[str, str] | None = None,
    ) -> Iterator[RelNet]:
        """Lay out, index and start a federation; stop every node on exit."""
        network = create_network(
            root,
            list(countries),
            items_per_day=items_per_day,
            max_items_per_request=max_items_per_request,
        )
        regs = {c: registry_records(c, records) for c in countries}
        for country, recs in regs.items():
            load_registry(network.nodes[country].config(), recs)
            index_node(network.nodes[country].config(), workers=1)
        with NodeProcesses(env={**NODE_ENV, **(env or {})}) as procs:
            net = cls(network, procs, regs)
            for country in countries:
                proc = procs.start(country, network.nodes[country].config_path)
                net.ports[country] = proc.port
                pin_listen(network.nodes[country], proc.port)  # restarts keep the endpoint
            net.publish()
            yield net

    def publish(self) -> None:
        """Sign a new directory version with the current endpoints into every node folder."""
        endpoints = {c: f"127.0.0.1:{p}" for c, p in self.ports.items()}
        publish_directory(self.network, endpoints, version=self.version)
        self.version += 1

    def folder(self, country: str) -> Path:
        """The node folder of ``country``."""
        return self.network.nodes[country].folder

    def endpoint(self, country: str) -> str:
        """``127.0.0.1:port`` of ``country``'s node."""
        return f"127.0.0.1:{self.ports[country]}"

    def credentials(self, country: str) -> ClientCredentials:
        """``country``'s node credentials, as a client."""
        cfg = self.network.nodes[country].config()
        return ClientCredentials.from_files(ca=cfg.tls.ca, cert=cfg.tls.cert, key=cfg.tls.key)

    def channel(self, caller: str, target: str, **options: Any) -> grpc.Channel:
        """A raw mTLS channel from ``caller`` (its certificate) to ``target``'s node."""
        c = self.credentials(caller)
        creds = grpc.ssl_channel_credentials(c.ca, c.key, c.cert)
        return grpc.secure_channel(self.endpoint(target), creds, options=list(options.items()))

    def restart(self, country: str) -> None:
        """Stop (SIGTERM) and start ``country``'s node on the same port."""
        self.procs.stop(country)
        self.procs.start(country, self.network.nodes[country].config_path)

    def start_again(self, country: str) -> None:
        """Start a node that was stopped or killed, on its pinned port."""
        self.procs.start(country, self.network.nodes[country].config_path)

    def alive(self, country: str) -> bool:
        """Whether ``country``'s process is running."""
        node = self.procs.nodes.get(country)
        return node is not None and node.alive()

    def log_records(self, country: str) -> list[dict[str, Any]]:
        """The JSON log records ``country``'s node wrote so far."""
        path = self.network.nodes[country].folder / "node.log"
        out = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def audit_dir(self, country: str) -> Path:
        """``country``'s incoming-query audit log."""
        return self.network.nodes[country].config().audit_dir

    def outgoing_dir(self, country: str) -> Path:
        """``country``'s outgoing-query audit log."""

        return self.network.nodes[country].config().layout.audit_outgoing
