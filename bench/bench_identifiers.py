"""Identifier rules v1 against v2: items per firearm, index entries per record, CPU cost.

Usage::

    .venv/bin/python bench/bench_identifiers.py [--records 100000] [--index-records 5000]

Measured on a generated registry (``registry generate``, the realistic mix of spellings
and formats) and on the matching evaluation set (``tests/data/matching/pairs.csv``, whose
serials carry labels, marks, leading zeros and other scripts far more often than a
registry does). For each, v1 (``record_identifiers``, the baseline) and v2 (``identify``)
in the same run: identifier items a check sends per firearm (what a peer's quota counts),
index entries per record, and the CPU time of deriving them; then a real encrypted index
of the first ``--index-records`` records built under each (``node index``'s code path): its
entries and the bytes of its full export (what a peer downloads) per record. Prints a
Markdown section for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from federation.index import NodeIndex
from federation.keys import EpochKeyStore
from fedlookup.errors import InputError
from node.ops.indexing import run_index
from registry_adapter import RegistryStore
from registry_adapter.canonical_v2 import identify
from registry_adapter.generate import generate_registry
from registry_adapter.identifier_versions import IdentifierRules
from registry_adapter.identifiers import record_identifiers

ROOT = Path(__file__).resolve().parent.parent


def _v1(make: str, serial: str) -> tuple[bytes, ...]:
    ids = record_identifiers(make, serial)
    return (ids.make_serial, ids.serial_only)


def _v2(make: str, serial: str) -> tuple[bytes, ...]:
    return identify(make, serial).items()


def _measure(
    rows: Sequence[tuple[str, str]], derive: Callable[[str, str], tuple[bytes, ...]]
) -> tuple[int, int, float, float]:
    """(accepted, refused, items per accepted firearm, microseconds of CPU per row)."""
    items = accepted = 0
    started = time.process_time()
    for make, serial in rows:
        try:
            items += len(derive(make, serial))
            accepted += 1
        except InputError:
            continue
    cpu = time.process_time() - started
    return accepted, len(rows) - accepted, items / max(1, accepted), cpu / len(rows) * 1e6


def main(argv: Sequence[str] | None = None) -> None:
    """Run the measurements and print the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--index-records", type=int, default=5_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reg.csv"
        generate_registry(path, country="DE", records=args.records, seed=1)
        with path.open(encoding="utf-8", newline="") as fh:
            registry = [(r["make"], r["serial"]) for r in csv.DictReader(fh)]
        small = Path(tmp) / "small.csv"
        generate_registry(small, country="DE", records=args.index_records, seed=1)
        indexes = [_index(Path(tmp), small, v) for v in ("v1", "v2")]
    with (ROOT / "tests/data/matching/pairs.csv").open(encoding="utf-8", newline="") as fh:
        pairs = list(csv.DictReader(fh))
    stored = [(p["stored_make"], p["stored_serial"]) for p in pairs]
    typed = [(p["typed_make"], p["typed_serial"]) for p in pairs]
    print("## Identifier rules v1 and v2: items per firearm, index entries per record\n")
    print(f"Command: `.venv/bin/python bench/bench_identifiers.py --records {args.records}`"
          f" (Python {platform.python_version()}, {platform.machine()}).\n")  # fmt: skip
    print("| input | rules | rows | refused | items per firearm | CPU per row |")
    print("|---|---|---:|---:|---:|---:|")
    for name, rows in (
        (f"generated registry ({args.records:,} records)", registry),
        ("evaluation set, stored side", stored),
        ("evaluation set, typed side", typed),
    ):
        for label, derive in (("v1 (baseline)", _v1), ("v2", _v2)):
            _, refused, per, us = _measure(rows, derive)
            print(f"| {name} | {label} | {len(rows):,} | {refused} | {per:.3f} | {us:.1f} µs |")
    n = args.index_records
    print(f"\nEncrypted index of {n:,} generated records (one worker):\n")
    print("| rules | index entries | entries per record | export bytes per record | build CPU |")
    print("|---|---:|---:|---:|---:|")
    for version, (entries, size, cpu) in zip(("v1 (baseline)", "v2"), indexes, strict=True):
        print(f"| {version} | {entries:,} | {entries / n:.3f} | {size / n:.1f} | {cpu:.1f} s |")
    sys.stdout.flush()


def _index(tmp: Path, registry: Path, version: str) -> tuple[int, int, float]:
    """Import ``registry`` and index it under ``version``: (entries, export bytes, CPU s)."""
    folder = tmp / version
    folder.mkdir()
    with RegistryStore(f"sqlite:///{folder / 'registry.db'}") as store:
        store.import_file(registry)
        keys = EpochKeyStore(folder / "keys")
        index = NodeIndex(folder / "index", key=keys.current(), country="DE")
        try:
            started = time.process_time()
            run_index(store, index, reference_key=b"r" * 32, country="DE", workers=1,
                      rules=IdentifierRules((version,)))  # fmt: skip
            cpu = time.process_time() - started
            return index.size, len(index.export(since_version=None)), cpu
        finally:
            index.close()


if __name__ == "__main__":
    main()
