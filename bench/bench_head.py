"""What a signed index head v2 costs the answering node: a delta export with and without
the digest of the full export it leads to.

Usage::

    .venv/bin/python bench/bench_head.py --records 500000

Builds an index of ``--records`` records (two identifiers each, so twice as many entries;
built once, with every core), changes 1,000 records, and measures, in the same run: a plain
delta export (what a v1 responder sent), the first signed delta of that version (the
responder exports the full index once to hash it), a following signed delta (the digest is
cached per index version and grant shape), and the full export with its SHA-256. Prints a
Markdown table for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.directory_model import DirectoryLimits
from federation.index import IndexInput, NodeIndex
from federation.index_head import sign_head
from federation.keys import EpochKeyStore
from federation.labels import Label, make_reference
from federation.responder import PeerGrant, Responder

_REF = b"r" * 32


def _inputs(ids: range, category: str = "stolen") -> list[IndexInput]:
    return [
        IndexInput(
            f"r{i}",
            (f"v1|MS|GLOCK|SN{i:08d}".encode(), f"v1|S|SN{i:08d}".encode()),
            Label(category, make_reference(_REF, "FR", f"r{i}")),
        )
        for i in ids
    ]


@dataclass(frozen=True)
class _Member:
    limits: DirectoryLimits


class _Directory:
    def member(self, country: str) -> _Member:
        return _Member(DirectoryLimits(max_items_per_request=1000, items_per_day=10**6))


class _Policy:
    def grant(self, peer: str) -> PeerGrant:
        return PeerGrant(True, None, True, max_items_per_request=1000, items_per_day=10**6)


def _time(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    """Build, change, measure, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = EpochKeyStore(Path(tmp) / "keys").current()
        index = NodeIndex(Path(tmp) / "index", key=key, country="FR")
        start = time.perf_counter()
        index.update(_inputs(range(args.records)))
        built = time.perf_counter() - start
        index.update(_inputs(range(1000), category="lost"))  # version 2: 1,000 changed
        audit = Ed25519PrivateKey.generate()
        responder = Responder(
            country="FR",
            index=lambda: index,
            evaluator_factory=lambda epoch: None,  # type: ignore[arg-type,return-value]
            policy=_Policy(),
            quotas=None,  # type: ignore[arg-type]
            audit=None,  # type: ignore[arg-type]
            directory=_Directory(),  # type: ignore[arg-type]
            head_signer=lambda head: sign_head(head, audit),
        )
        epoch = index.epoch_id
        plain = _time(lambda: index.export(since_version=1), args.repeat)
        start = time.perf_counter()
        first = responder.sync_index("DE", 1, epoch)
        cold = time.perf_counter() - start
        warm = _time(lambda: responder.sync_index("DE", 1, epoch), args.repeat)
        full = _time(lambda: hashlib.sha256(index.export(since_version=None)).digest(), args.repeat)
        entries = index.size
        index.close()
    print(f"| index entries ({args.records:,} records, built in {built:.0f} s) | {entries:,} |")
    print(f"| delta of 1,000 changed records | {len(first.blob):,} bytes |")
    print(f"| plain delta export (no head), median of {args.repeat} | {plain * 1e3:.1f} ms |")
    print(f"| first signed delta of a version (full export + SHA-256) | {cold * 1e3:.1f} ms |")
    print(f"| following signed deltas (digest cached), median | {warm * 1e3:.1f} ms |")
    print(f"| full export + SHA-256, median | {full * 1e3:.1f} ms |")


if __name__ == "__main__":
    main()
