"""A bulk update at registry scale gives exactly a fresh build's index (``slow``).

The CI-sized proof is the state machine of ``tests/unit/federation``
(``test_index_updates_stateful.py``), which shrinks batch and chunk sizes so that every
boundary falls inside small updates. This run keeps the product's own sizes (50,000-row
flushes, 4,096-identifier chunks, every core) and the issue's shape: a registry of
``BASE`` records, then one update adding as many again, changing the category of 20,000,
the serial of 10,000 and removing 5,000, all drawn from a serial space small enough that
thousands of records share identifiers. The updated index must equal a fresh build of the
same registry, and a mirror kept by delta must equal a full export.

``FEDLOOKUP_BULK_RECORDS`` sets ``BASE`` (default 100,000; 500,000 gives 10^6 records).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from index_content import export_entries, index_content, mirror_entries
from psi_helpers import Rec, firearm

from federation.index import IndexInput, IndexMirror, NodeIndex
from federation.keys import EpochKeyStore
from federation.labels import CATEGORIES

BASE = int(os.environ.get("FEDLOOKUP_BULK_RECORDS", "100000"))
MAKES = ("GLOCK", "SIG", "BERETTA", "WALTHER", "CZ")


@pytest.mark.slow
def test_bulk_update_at_scale_equals_a_fresh_build(tmp_path: Path) -> None:
    rng = random.Random(14)
    space = BASE // 2  # about two records per serial: many shared identifiers

    def record(rid: str, category: str | None = None) -> Rec:
        serial = f"S{rng.randrange(space)}"
        return firearm(rid, rng.choice(MAKES), serial, category or rng.choice(CATEGORIES))

    registry = {f"r{i}": record(f"r{i}") for i in range(BASE)}
    key = EpochKeyStore(tmp_path / "keys").current()
    index = NodeIndex(tmp_path / "index", key=key, country="DE")
    index.update(r.input() for r in registry.values())
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None))

    changes: list[IndexInput] = []
    old = list(registry)
    for i in range(BASE):
        new = record(f"n{i}")
        registry[new.record_id] = new
        changes.append(new.input())
    picked = rng.sample(old, 35_000)
    for rid in picked[:20_000]:
        was = registry[rid]
        relabelled = firearm(rid, *was.items[0].decode().split("|")[2:4], rng.choice(CATEGORIES))
        registry[rid] = relabelled
        changes.append(relabelled.input())
    for rid in picked[20_000:30_000]:
        registry[rid] = record(rid)
        changes.append(registry[rid].input())
    for rid in picked[30_000:]:
        del registry[rid]
        changes.append(IndexInput(rid, None))
    rng.shuffle(changes)

    started = time.monotonic()
    index.update(changes)
    took = time.monotonic() - started
    assert index.last_update is not None
    print(f"bulk update of {len(changes)} changes on {BASE} records: {took:.1f} s")

    fresh = NodeIndex(tmp_path / "fresh", key=key, country="DE")
    fresh.update(r.input() for r in registry.values())
    assert index.size == fresh.size
    assert index_content(index) == index_content(fresh)
    mirror.apply(index.export(since_version=mirror.version, epoch_id=mirror.epoch_id))
    assert mirror_entries(mirror) == export_entries(index)
