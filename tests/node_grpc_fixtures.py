"""The DE node of the gRPC integration tests (``tests/integration/test_node_grpc*.py``).

Fixtures ``de`` (started before its index exists) and ``indexed_de`` (a plugin of the root
``conftest.py``): module-scoped, so each test module gets its own node, on 127.0.0.1 port 0
with mutual TLS from the session PKI. Helpers write its ``node.toml``, fill its index, and
call it as a peer.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from pki_fixtures import ANY_SERVER, TestPKI

from audit.statements import QueryStatement, sign
from federation.evaluation import BlindedQuery
from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.index import IndexInput, NodeIndex
from federation.keys import EpochKeyStore, load_or_create_reference_key
from federation.labels import Label, make_reference
from node.config import NodeConfig
from node.serve.service import RunningNode, serving
from registry_adapter import RegistryStore
from registry_adapter.identifiers import record_identifiers

TIMEOUT = 10.0
RECORDS = [("r1", "Glock", "ABC123", "stolen"), ("r2", "Beretta", "XY-998", "lost")] + [
    (f"g{i}", "Walther", f"W{i:05d}", "registered")
    for i in range(40)  # a multi-chunk index
]


def write_config(folder: Path, pki: TestPKI, country: str, extra: str = "") -> NodeConfig:
    """A node.toml for ``country`` using the session PKI; returns the loaded config."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = folder / "tls"
    if not tls.exists():  # a private copy, so a test may renew the certificate
        tls.mkdir()
        shutil.copy(pki.nodes[country].cert_path, tls / "node.pem")
        shutil.copy(pki.nodes[country].key_path, tls / "node.key")
    text = f"""
[node]
country = "{country}"
listen = "127.0.0.1:0"
data_dir = "data"
[server]
max_workers = 4
chunk_bytes = 1024
shutdown_grace_s = 2
[registry]
url = "sqlite:///registry.db"
identifiers = "v1"  # fill_index derives v1 identifiers (record_identifiers)
[tls]
ca = "{pki.ca.cert_path}"
cert = "tls/node.pem"
key = "tls/node.key"
crl = "{pki.ca.crl_path}"
[directory]
path = "{pki.directory_path}"
[audit]
key = "{pki.audit_key_paths[country]}"
[metrics]
listen = "127.0.0.1:0"
[policy]
max_items_per_request = 10
items_per_day = 12
[policy.peers.NL]
mode = "cardinality"
{extra}
"""
    path = folder / "node.toml"
    path.write_text(text, encoding="utf-8")
    return NodeConfig.from_toml(path, env={})


def fill_index(cfg: NodeConfig) -> int:
    """Index RECORDS directly (no registry needed); returns the new version."""
    key = EpochKeyStore(cfg.epoch_key_dir).current()
    ref_key = load_or_create_reference_key(cfg.reference_key_dir)
    index = NodeIndex(cfg.index_dir, key=key, country=cfg.node.country)
    try:
        inputs = [
            IndexInput(
                rid,
                record_identifiers(make, serial),
                Label(cat, make_reference(ref_key, cfg.node.country, rid)),
            )
            for rid, make, serial, cat in RECORDS
        ]
        return index.update(inputs, workers=1)
    finally:
        index.close()


def credentials(pki: TestPKI, name: str) -> ClientCredentials:
    """Client credentials of ``name`` (a member or one of the bad certificates)."""
    files = pki.nodes.get(name) or pki.bad[name]
    return ClientCredentials.from_files(
        ca=pki.ca.cert_path, cert=files.cert_path, key=files.key_path
    )


def statement(frm: str, to: str, items: int) -> QueryStatement:
    """A query statement from ``frm`` to ``to`` for ``items`` items."""
    return QueryStatement(
        request_id=QueryStatement.new_request_id(),
        from_country=frm,
        to_country=to,
        case_id="case-1",
        purpose="investigation",
        legal_basis="test",
        investigator="inv-1",
        item_count=items,
        commitment=bytes(32),
    )


@pytest.fixture(scope="module")
def de(test_pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """DE node, started before its index exists (health is checked in order)."""
    folder = tmp_path_factory.mktemp("de")
    cfg = write_config(folder, test_pki, "DE")
    csv = folder / "records.csv"
    rows = [f"{rid},{make},m,9mm,{serial},{cat},2024-01-01" for rid, make, serial, cat in RECORDS]
    header = "record_id,make,model,caliber,serial,category,recorded_at"
    csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with RegistryStore(cfg.registry.url) as store:  # what CompatSetup reads
        store.import_file(csv)
    with serving(cfg) as node:
        yield node


@pytest.fixture(scope="module")
def indexed_de(de: RunningNode) -> RunningNode:
    """The DE node once its index holds RECORDS."""
    fill_index(de.service.config)
    de.service.tick()
    return de


def channel(port: int, pki: TestPKI, name: str) -> grpc.Channel:
    """A mutual-TLS channel to the node as ``name`` (a member or a bad certificate)."""
    c = credentials(pki, name)
    creds = grpc.ssl_channel_credentials(c.ca, c.key, c.cert)
    return grpc.secure_channel(f"127.0.0.1:{port}", creds)


def evaluate(port: int, pki: TestPKI, n: int) -> None:
    """FR asks DE to evaluate ``n`` items (raises what the node answers)."""
    st = statement("FR", "DE", n)
    data = st.canonical()
    query = BlindedQuery.create([f"v1|item{i}".encode() for i in range(n)])
    with GrpcTransport(
        "DE", f"127.0.0.1:{port}", credentials(pki, "FR"), server_check=ANY_SERVER
    ) as t:
        t.evaluate(data, sign(data, pki.audit_keys["FR"]), query.request, timeout=TIMEOUT)
