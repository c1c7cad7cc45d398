"""Laying out a whole federation on disk: CA, node folders, indexes, signed directory.

Used by ``fedlookup demo``, the integration tests and the benchmarks, so all three run the
same set-up an operator would (``fedlookup ca init``, ``node init``, ``node index``,
``ca directory``), through the same library calls.

Layout under ``root``::

    ca/                 federation root CA (key 0600), CRL, ledger
    members.toml        the authority's members file (endpoints, certificates, audit keys)
    de/ fr/ nl/ ...     one node folder each (``fedlookup node init`` layout)

Example::

    net = create_network(root, ["DE", "FR"])
    index_records(net.nodes["FR"], [("fr-1", "Glock", "ABC123", "stolen")])
    publish_directory(net, {"DE": "127.0.0.1:7001", "FR": "127.0.0.1:7002"})
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from certs import init_ca
from federation.directory import Directory, write_directory
from federation.index import IndexInput, NodeIndex
from federation.keys import EpochKeyStore, load_or_create_reference_key
from federation.labels import Label, make_reference
from fedlookup.errors import ConfigError
from node.config import NodeConfig
from node.ops.bootstrap import init_node
from node.ops.ca_members import read_members
from registry_adapter.identifiers import record_identifiers

__all__ = [
    "FEDERATION_NAME",
    "Network",
    "NetworkNode",
    "create_network",
    "index_records",
    "pin_listen",
    "publish_directory",
]

FEDERATION_NAME = "fedlookup demo federation"
#: Placeholder endpoint of a node that has not started yet (nothing listens on port 9).
_UNSTARTED = "127.0.0.1:9"


@dataclass(frozen=True)
class NetworkNode:
    """One node folder of the network."""

    country: str
    folder: Path

    @property
    def config_path(self) -> Path:
        """Its ``node.toml``."""
        return self.folder / "node.toml"

    def config(self) -> NodeConfig:
        """Its configuration, validated."""
        return NodeConfig.from_toml(self.config_path, env={})


@dataclass(frozen=True)
class Network:
    """A federation laid out on disk."""

    root: Path
    nodes: dict[str, NetworkNode]

    @property
    def ca_dir(self) -> Path:
        """The federation CA folder."""
        return self.root / "ca"

    @property
    def members_file(self) -> Path:
        """The authority's members file."""
        return self.root / "members.toml"


def _set_policy(path: Path, field: str, value: int) -> None:
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{field} = \d+$", re.MULTILINE)
    if len(pattern.findall(text)) != 1:
        raise ConfigError(f"policy.{field}", "cannot find the line to set", str(path))
    path.write_text(pattern.sub(f"{field} = {value}", text), encoding="utf-8")


def create_network(
    root: Path,
    countries: Sequence[str],
    *,
    max_items_per_request: int = 1000,
    items_per_day: int = 1_000_000,
    registry_urls: Mapping[str, str] | None = None,
    identifiers: str = "v1",
) -> Network:
    """Create the CA and one initialised node folder per country (nothing started).

    Args:
        root: an empty or missing folder.
        countries: the member countries.
        max_items_per_request: every node's per-request limit for every peer.
        items_per_day: every node's daily quota for every peer.
        registry_urls: each node's registry URL (default ``sqlite:///data/registry.db``).
        identifiers: the identifier rules every node speaks (``[registry] identifiers``):
            ``"v1"`` (default) for networks whose index :func:`index_records` derives with
            ``record_identifiers``; ``"v2"`` for networks indexed through ``node index``
            (the demo).

    Returns:
        The network (publish a directory before starting the nodes).
    """
    root.mkdir(parents=True, exist_ok=True)
    init_ca(root / "ca", FEDERATION_NAME)
    nodes: dict[str, NetworkNode] = {}
    for country in countries:
        folder = root / country.lower()
        url = (registry_urls or {}).get(country, "sqlite:///data/registry.db")
        init_node(country, folder, ca_dir=root / "ca", listen="127.0.0.1:0", registry_url=url)
        _set_policy(folder / "node.toml", "max_items_per_request", max_items_per_request)
        _set_policy(folder / "node.toml", "items_per_day", items_per_day)
        toml = folder / "node.toml"
        text = toml.read_text(encoding="utf-8")
        toml.write_text(
            re.sub(r'^identifiers = "v2"', f'identifiers = "{identifiers}"', text, flags=re.M),
            encoding="utf-8",
        )
        nodes[country] = NetworkNode(country, folder)
    network = Network(root, nodes)
    publish_directory(network, {}, version=1)
    return network


def publish_directory(network: Network, endpoints: Mapping[str, str], *, version: int) -> Path:
    """Write the members file and sign the directory into every node folder.

    Args:
        network: the network.
        endpoints: ``host:port`` per country (placeholders for countries not listed).
        version: the directory version (must grow).

    Returns:
        The members file.
    """
    lines = [f'federation = "{FEDERATION_NAME}"', ""]
    lines += ["[defaults.limits]", "max_items_per_request = 100000", "items_per_day = 100000000"]
    for country, node in sorted(network.nodes.items()):
        rel = node.folder.relative_to(network.root)
        lines += [
            "",
            "[[members]]",
            f'country = "{country}"',
            f'endpoint = "{endpoints.get(country, _UNSTARTED)}"',
            f'cert = "{rel}/tls/node.pem"',
            f'audit_public_key = "{rel}/keys/audit.pub"',
        ]
    network.members_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    name, members = read_members(network.members_file)
    directory = Directory(
        federation=name or FEDERATION_NAME,
        version=version,
        issued_at=datetime.now(UTC),
        members=tuple(members),
    )
    from certs import CAFiles

    ca = CAFiles.open(network.ca_dir)
    for node in network.nodes.values():
        write_directory(directory, ca, node.config().directory.path)
    return network.members_file


def pin_listen(node: NetworkNode, port: int) -> None:
    """Make the node listen on ``port`` from now on (so a restart keeps its endpoint)."""
    path = node.config_path
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(
        r'^listen = "[^"]*"$', f'listen = "127.0.0.1:{port}"', text, count=1, flags=re.M
    )
    if count != 1:
        raise ConfigError("node.listen", "cannot find the line to set", str(path))
    path.write_text(new, encoding="utf-8")


def pin_metrics(node: NetworkNode, port: int) -> None:
    """Serve the node's Prometheus endpoint on 127.0.0.1:``port`` (``[metrics] listen``)."""
    import tomlkit

    path = node.config_path
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    metrics = doc.get("metrics")
    if metrics is None:
        metrics = tomlkit.table()
        doc["metrics"] = metrics
    metrics["listen"] = f"127.0.0.1:{port}"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def index_records(
    node: NetworkNode,
    records: Iterable[tuple[str, str, str, str]],
    *,
    workers: int | None = None,
) -> int:
    """Index ``(record_id, make, serial, category)`` records straight into the node's index
    (what ``fedlookup node index`` does from a registry); returns the index version."""
    config = node.config()
    keys = EpochKeyStore(config.epoch_key_dir)
    reference_key = load_or_create_reference_key(config.reference_key_dir)
    index = NodeIndex(config.index_dir, key=keys.current(), country=node.country)
    try:
        inputs = [
            IndexInput(
                rid,
                record_identifiers(make, serial),
                Label(category, make_reference(reference_key, node.country, rid)),
            )
            for rid, make, serial, category in records
        ]
        return index.update(inputs, workers=workers, complete=True)
    finally:
        index.close()
