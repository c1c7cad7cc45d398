"""Helpers for the PSI engine tests: a small registry model and its plain-set answer."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from federation.evaluation import BlindedQuery, Evaluator
from federation.index import IndexInput, IndexMirror, NodeIndex
from federation.keys import EpochKey, EpochKeyStore
from federation.labels import CATEGORIES, Label, make_reference

REFERENCE_KEY = b"r" * 32


@dataclass(frozen=True)
class Rec:
    """A registry record as the index sees it."""

    record_id: str
    items: tuple[bytes, ...]
    category: str

    def label(self, country: str = "DE") -> Label:
        return Label(self.category, make_reference(REFERENCE_KEY, country, self.record_id))

    def input(self) -> IndexInput:
        return IndexInput(self.record_id, self.items, self.label())


def firearm(record_id: str, make: str, serial: str, category: str = "stolen") -> Rec:
    """A record with the two identifiers registry_adapter would give it."""
    return Rec(record_id, (f"v1|MS|{make}|{serial}".encode(), f"v1|S|{serial}".encode()), category)


def random_registry(rng: random.Random, n: int, serials: int) -> list[Rec]:
    """``n`` records drawn from a small serial space, so serials and makes repeat."""
    makes = ["GLOCK", "SIG", "BERETTA"]
    return [
        firearm(f"r{i}", rng.choice(makes), f"S{rng.randrange(serials)}", rng.choice(CATEGORIES))
        for i in range(n)
    ]


def expected(records: Sequence[Rec], items: Sequence[bytes]) -> list[list[Label]]:
    """The answer a plain set intersection gives: per item, the labels of every holder."""
    return [sorted_labels([r.label() for r in records for i in r.items if i == x]) for x in items]


def sorted_labels(labels: Sequence[Label]) -> list[Label]:
    return sorted(labels, key=lambda lab: (lab.reference, lab.category))


def make_index(tmp: Path, country: str = "DE") -> tuple[NodeIndex, EpochKey, EpochKeyStore]:
    store = EpochKeyStore(tmp / "keys")
    key = store.current()
    return NodeIndex(tmp / "index", key=key, country=country), key, store


def query(key: EpochKey, mirror: IndexMirror, items: Sequence[bytes]) -> list[list[Label]]:
    """Run one reveal query end to end and sort each item's labels."""
    q = BlindedQuery.create(items)
    response = Evaluator(key).evaluate(q.request)
    return [sorted_labels(labels) for labels in q.finish(response, mirror)]


def synced(index: NodeIndex) -> IndexMirror:
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None))
    return mirror
