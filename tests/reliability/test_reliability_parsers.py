"""Every file a node or an auditor reads, damaged at random: clear errors, nothing half-written.

Registry imports (CSV and JSON Lines), the signed federation directory, ``node.toml``, the
node's index store and a saved mirror, and audit exports, each mutated by hypothesis (bit
flips, truncations, insertions, random text). Each read either succeeds or raises a
:class:`~fedlookup.errors.FedlookupError` (never a foreign exception); a failed import
leaves the registry as it was; a damaged export never verifies as valid.
``FEDLOOKUP_FUZZ_EXAMPLES`` scales the run (CI: 50 per parser).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relnet import export_and_verify, load_registry, registry_records

from audit.verify import verify_export
from federation.directory import parse_directory
from federation.index import NodeIndex
from federation.index_mirror import IndexMirror
from federation.keys import EpochKey, EpochKeyStore
from fedlookup.errors import (
    ConfigError,
    FedlookupError,
    ImportRejectedError,
    IndexIntegrityError,
)
from node.config import NodeConfig
from node.demo.setup import create_network
from node.ops.operations import index_node
from node.serve.service import NodeService
from registry_adapter import RegistryStore

EXAMPLES = int(os.environ.get("FEDLOOKUP_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CSV_HEADER = "record_id,make,model,caliber,serial,category,recorded_at\n"


@dataclass
class Files:
    root: Path
    config: NodeConfig
    ca_pem: Path
    directory: bytes
    toml: bytes
    csv: bytes
    jsonl: bytes
    mirror: bytes
    export: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("parsers")
    net = create_network(root / "net", ["DE", "FR"])
    cfg = net.nodes["DE"].config()
    records = registry_records("DE", 12)
    load_registry(cfg, records)
    index_node(cfg, workers=1)
    service = NodeService(cfg)
    try:
        service.audit_log.checkpoint()
        mirror = IndexMirror()
        mirror.apply(service.responder.sync_index("FR", None, None).blob)
    finally:
        service.close()
    export = root / "export"
    export_and_verify(cfg, cfg.audit_dir, export)
    rows = [f"{rid},{make},M,9mm,{serial},{cat},2024-03-01\n" for rid, make, serial, cat in records]
    jsonl = "".join(
        f'{{"record_id": "{rid}", "make": "{make}", "serial": "{serial}", '
        f'"category": "{cat}", "recorded_at": "2024-03-01"}}\n'
        for rid, make, serial, cat in records
    )
    return Files(
        root=root,
        config=cfg,
        ca_pem=net.ca_dir / "ca.pem",
        directory=cfg.directory.path.read_bytes(),
        toml=net.nodes["DE"].config_path.read_bytes(),
        csv=(CSV_HEADER + "".join(rows)).encode(),
        jsonl=jsonl.encode(),
        mirror=mirror.to_bytes(),
        export=export,
    )


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one random kind of damage."""
    how = draw(st.sampled_from(["flip", "truncate", "insert", "replace", "random"]))
    if how == "random" or not data:
        return draw(st.binary(max_size=400))
    pos = draw(st.integers(0, len(data) - 1))
    if how == "flip":
        return data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1 :]
    if how == "truncate":
        return data[:pos]
    if how == "insert":
        return data[:pos] + draw(st.binary(min_size=1, max_size=12)) + data[pos:]
    chunk = draw(st.sampled_from([b",", b"\n", b'"', b"\x00", b"\xff", b"=", b"[", b"{"]))
    return data[:pos] + chunk * draw(st.integers(1, 4)) + data[pos + 1 :]


def _fresh_registry(files: Files, name: str) -> str:
    db = files.root / f"{name}.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    with RegistryStore(url) as store:
        store.upsert([])  # schema in place, empty
    return url


def _import(files: Files, data: bytes, suffix: str, strict: bool) -> None:
    url = _fresh_registry(files, f"import{suffix}")
    path = files.root / f"input{suffix}"
    path.write_bytes(data)
    with RegistryStore(url) as store:
        before = store.count()
        try:
            summary = store.import_file(path, strict=strict)
        except ImportRejectedError:
            assert store.count() == before  # strict: nothing written
            return
        except FedlookupError:
            assert store.count() == before  # a failed import is rolled back whole
            return
        assert store.count() == before + summary.inserted
        if strict:
            assert summary.rejected == 0


@FUZZ
@given(data=st.data(), strict=st.booleans())
def test_registry_csv_import(files: Files, data: st.DataObject, strict: bool) -> None:
    _import(files, data.draw(damaged(files.csv)), ".csv", strict)


@FUZZ
@given(data=st.data(), strict=st.booleans())
def test_registry_jsonl_import(files: Files, data: st.DataObject, strict: bool) -> None:
    _import(files, data.draw(damaged(files.jsonl)), ".jsonl", strict)


@FUZZ
@given(data=st.data())
def test_directory(files: Files, data: st.DataObject) -> None:
    bad = data.draw(damaged(files.directory))
    try:
        parsed = parse_directory(bad, files.ca_pem, source="directory.json")
    except FedlookupError:
        return
    # Accepted only if the signed content is what the authority signed.
    assert parsed == parse_directory(files.directory, files.ca_pem)


@FUZZ
@given(data=st.data())
def test_node_configuration(files: Files, data: st.DataObject) -> None:
    path = files.config.node.data_dir.parent / "fuzzed.toml"
    path.write_bytes(data.draw(damaged(files.toml)))
    with contextlib.suppress(FedlookupError):  # anything else escaping fails the test
        NodeConfig.from_toml(path, env={})


def test_configuration_that_is_not_utf8_is_a_config_error(files: Files) -> None:
    # Defect 4, fixed: this was a UnicodeDecodeError (a traceback from the CLI).
    path = files.config.node.data_dir.parent / "latin1.toml"
    data = files.toml.replace(b"# fedlookup", b"# f\xe9dlookup", 1)
    assert data != files.toml
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=r"latin1\.toml.*not UTF-8.*byte offset \d+"):
        NodeConfig.from_toml(path, env={})


@FUZZ
@given(data=st.data())
def test_saved_mirror(files: Files, data: st.DataObject) -> None:
    path = files.root / "FR.mirror"
    bad = data.draw(damaged(files.mirror))
    path.write_bytes(bad)
    try:
        mirror = IndexMirror.load(path)
    except FedlookupError:
        return
    assert mirror.to_bytes() == files.mirror  # anything accepted is the original


@FUZZ
@given(data=st.data())
def test_node_index_store(files: Files, data: st.DataObject) -> None:
    source = files.config.index_dir
    target = files.root / "index-copy"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    victims = sorted(p for p in target.iterdir() if p.is_file() and p.stat().st_size)
    victim = data.draw(st.sampled_from(victims))
    victim.write_bytes(data.draw(damaged(victim.read_bytes())))
    key = EpochKeyStore(files.config.epoch_key_dir).current()
    try:
        index = NodeIndex(target, key=key, country="DE")
    except FedlookupError:  # defect 5, fixed: sqlite3, decoding and KeyError escaped
        return
    try:
        index.export(since_version=None)
    except FedlookupError:
        pass
    finally:
        index.close()


def test_corrupt_index_store_is_an_index_error(files: Files) -> None:
    target = files.root / "index-corrupt"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(files.config.index_dir, target)
    store = next(p for p in sorted(target.iterdir()) if p.suffix == ".sqlite3")
    data = bytearray(store.read_bytes())
    data[4096 : 4096 * 2] = b"\xff" * 4096  # a page of garbage
    store.write_bytes(bytes(data))
    key = EpochKeyStore(files.config.epoch_key_dir).current()
    with pytest.raises(IndexIntegrityError, match=r"damaged.*fedlookup node index --full"):
        _open_and_export(target, key)
    # The rebuild's way out: the damaged file set aside, a new store that opens.
    index = NodeIndex(target, key=key, country="DE", set_aside_damaged=True)
    index.close()
    assert any(p.name.startswith("index.sqlite3.damaged-") for p in target.iterdir())
    _open_and_export(target, key)


def _open_and_export(target: Path, key: EpochKey) -> None:
    index = NodeIndex(target, key=key, country="DE")
    try:
        index.export(since_version=None)
    finally:
        index.close()


@FUZZ
@given(data=st.data())
def test_audit_export(files: Files, data: st.DataObject) -> None:
    target = files.root / "export-copy"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(files.export, target)
    victims = sorted(p for p in target.rglob("*") if p.is_file())
    victim = data.draw(st.sampled_from(victims))
    original = victim.read_bytes()
    bad = data.draw(damaged(original))
    victim.write_bytes(bad)
    try:
        report = verify_export(target)
    except FedlookupError:
        return
    if bad != original:
        assert not report.ok or _harmless(victim, original, bad), victim.name


def _harmless(victim: Path, original: bytes, bad: bytes) -> bool:
    # policy.json is the export's own claim of whom to trust; an auditor verifies against
    # the federation's keys (--policy), so a policy edit that still verifies is not a miss.
    return victim.name == "policy.json"
