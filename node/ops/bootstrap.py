"""``fedlookup node init``: lay out a new node's folder with sane defaults.

Layout under the node folder::

    node.toml            configuration (docs/node.md)
    tls/node.pem         node certificate   (issued here with --ca-dir, else put there)
    tls/node.key         its key, 0600
    tls/ca.pem           federation root
    tls/crl.pem          federation revocation list
    directory.json       signed federation directory (from the authority)
    keys/audit.key       Ed25519 audit key, 0600; its public half in keys/audit.pub
    data/                index, epoch keys, reference key, quota ledger, audit log

Nothing existing is overwritten: a second ``init`` on the same folder fails.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import tomlkit
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tomlkit.items import Table

from audit.keys import generate_key, public_key_b64, save_private_key
from certs import CAFiles, issue_node_certificate, validate_country
from federation.keys import EpochKeyStore, load_or_create_reference_key
from fedlookup.errors import ConfigError

__all__ = ["InitReport", "init_node", "render_config"]


@dataclass(frozen=True)
class InitReport:
    """What ``init`` created.

    Attributes:
        config: the configuration file.
        audit_public_key: base64 raw Ed25519 public key (goes into the directory).
        epoch_id: the first epoch key.
        certificate_issued: whether a node certificate was issued from ``--ca-dir``.
    """

    config: Path
    audit_public_key: str
    epoch_id: str
    certificate_issued: bool


def render_config(country: str, *, listen: str, registry_url: str) -> str:
    """The ``node.toml`` text ``init`` writes (paths relative to the file).

    The values are set through a TOML library on a commented template, so any string (a
    registry URL holding ``\\`` or ``"``) is quoted correctly.
    """
    doc = tomlkit.parse(_TEMPLATE)
    node, registry = cast(Table, doc["node"]), cast(Table, doc["registry"])
    node["country"] = country
    node["listen"] = listen
    registry["url"] = registry_url
    return tomlkit.dumps(doc)


_TEMPLATE = """# fedlookup node configuration (reference: docs/node.md).
# Every scalar can be overridden from the environment as FEDLOOKUP_<SECTION>_<FIELD>.

[node]
country = ""
listen = ""
data_dir = "data"
log_format = "text"        # or "json"
log_level = "info"

[server]
max_workers = 8
max_message_bytes = 16777216
chunk_bytes = 1048576
shutdown_grace_s = 10.0

[registry]
url = ""
# aliases = "aliases.csv"  # extra manufacturer aliases (canonical,alias)
identifiers = "v2"  # identifier rules the index serves; "v1+v2" while peers migrate

[tls]
ca = "tls/ca.pem"
cert = "tls/node.pem"
key = "tls/node.key"
crl = "tls/crl.pem"

[directory]
path = "directory.json"
# authority = "tls/ca.pem" # defaults to tls.ca

[audit]
key = "keys/audit.key"
checkpoint_interval_s = 60.0
heartbeat_interval_s = 300.0

[metrics]
# listen = "127.0.0.1:9464"

# Conservative defaults for every federation member; narrow one with [policy.peers.CC].
[policy]
allow = true
categories = ["*"]
mode = "reveal"            # or "cardinality": counts only
max_items_per_request = 1000
items_per_day = 2000

# [policy.peers.XX]
# categories = ["stolen", "lost"]
# mode = "cardinality"
# items_per_day = 500
"""


def init_node(
    country: str,
    folder: Path,
    *,
    ca_dir: Path | None = None,
    listen: str = "127.0.0.1:7443",
    registry_url: str = "sqlite:///data/registry.db",
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
) -> InitReport:
    """Create a node folder.

    Args:
        country: the node's country code.
        folder: the node folder (created; must not already hold ``node.toml``).
        ca_dir: a federation CA folder to issue the node certificate from (demo and tests;
            in production the authority issues it and the operator copies it to ``tls/``).
        listen: the gRPC address.
        registry_url: the registry URL (relative SQLite paths are relative to the folder).
        hosts: names and addresses in the node certificate.

    Returns:
        What was created.

    Raises:
        ConfigError: the folder is already initialised, or the CA folder is incomplete.
        InputError: ``country`` is not a two-letter code.
        KeyFileError: a key file cannot be written.
    """
    validate_country(country, field="--country")
    config = folder / "node.toml"
    if config.exists():
        raise ConfigError("--dir", f"{config} exists: this node is already initialised")
    for sub in ("tls", "keys", "data"):
        (folder / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    issued = False
    if ca_dir is not None:
        ca = CAFiles.open(ca_dir)
        issue_node_certificate(ca, country, folder / "tls", hosts=hosts)
        shutil.copyfile(ca.crl_path, folder / "tls" / "crl.pem")
        issued = True
    audit_key = generate_key()
    save_private_key(audit_key, folder / "keys" / "audit.key")
    (folder / "keys" / "audit.pub").write_bytes(
        audit_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    data = folder / "data"
    epoch = EpochKeyStore(data / "keys" / "epoch").current()
    load_or_create_reference_key(data / "keys")
    tmp = config.with_name(".node.toml.tmp")
    tmp.write_text(
        render_config(country, listen=listen, registry_url=registry_url), encoding="utf-8"
    )
    tmp.replace(config)
    return InitReport(
        config=config,
        audit_public_key=public_key_b64(audit_key.public_key()),
        epoch_id=epoch.epoch_id,
        certificate_issued=issued,
    )
