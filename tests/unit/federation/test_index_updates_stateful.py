"""Any sequence of registry changes and index updates gives exactly a fresh build's index.

A hypothesis state machine keeps a plain registry (record id -> record), changes it in
random batches (additions, label changes, new serials or makes, removals, ids reused,
records sharing identifiers, identifiers moving between records) and updates the index
with what changed, sometimes as a complete update. After every update the index must hold
what a fresh build of the same registry holds (:func:`index_content`), and a mirror kept
by deltas must hold what a full export holds, for every peer view. Batch and chunk sizes
are shrunk so that flushes and evaluation chunks fall inside every update.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from index_content import export_entries, index_content, mirror_entries
from psi_helpers import Rec, firearm

from federation import index_build, index_update
from federation.index import IndexInput, IndexMirror, NodeIndex
from federation.keys import EpochKeyStore
from federation.labels import CATEGORIES

MAKES = ("GLOCK", "SIG", "BERETTA")
serials = st.integers(min_value=0, max_value=11).map(lambda i: f"S{i}")
records = st.tuples(st.sampled_from(MAKES), serials, st.sampled_from(CATEGORIES))
VIEWS = (None, frozenset({"stolen", "lost"}))


class IndexUpdates(RuleBasedStateMachine):
    """The registry model, the index under test, and a mirror per view kept by deltas."""

    def __init__(self) -> None:
        super().__init__()
        self.saved = (index_update._BATCH, index_update._IN, index_build.CHUNK)
        index_update._BATCH, index_update._IN, index_build.CHUNK = 7, 3, 5
        self.tmp = Path(tempfile.mkdtemp(prefix="fedlookup-stateful-"))
        self.key = EpochKeyStore(self.tmp / "keys").current()
        self.index = NodeIndex(self.tmp / "index", key=self.key, country="DE")
        self.registry: dict[str, Rec] = {}
        self.dirty: list[str] = []  # ids changed since the last update, in change order
        self.next_id = 0
        self.builds = 0
        self.mirrors = {view: IndexMirror() for view in VIEWS}

    @initialize(batch=st.lists(records, max_size=25))
    def start(self, batch: list[tuple[str, str, str]]) -> None:
        self.add(batch)
        self.update(complete=False)

    @rule(batch=st.lists(records, min_size=1, max_size=25))
    def add(self, batch: list[tuple[str, str, str]]) -> None:
        for make, serial, category in batch:
            rid = f"r{self.next_id}"
            self.next_id += 1
            self.put(firearm(rid, make, serial, category))

    @precondition(lambda self: self.registry)
    @rule(data=st.data(), what=st.sampled_from(["category", "serial", "make", "remove"]))
    def change(self, data: st.DataObject, what: str) -> None:
        picked = data.draw(st.lists(st.sampled_from(sorted(self.registry)), max_size=10))
        for rid in picked:
            old = self.registry.get(rid)
            if old is None:
                continue  # removed earlier in this batch
            make, serial = old.items[0].decode().split("|")[2:4]
            if what == "remove":
                del self.registry[rid]
                self.dirty.append(rid)
                continue
            if what == "category":
                category = data.draw(st.sampled_from(CATEGORIES))
            else:
                category = old.category
            if what == "serial":
                serial = data.draw(serials)
            if what == "make":
                make = data.draw(st.sampled_from(MAKES))
            self.put(firearm(rid, make, serial, category))

    @precondition(lambda self: self.next_id > 0)
    @rule(data=st.data())
    def reuse_removed_id(self, data: st.DataObject) -> None:
        rid = f"r{data.draw(st.integers(0, self.next_id - 1))}"
        self.put(firearm(rid, data.draw(st.sampled_from(MAKES)), data.draw(serials)))

    @rule(complete=st.booleans())
    def update(self, complete: bool) -> None:
        if complete:
            feed = [r.input() for r in self.registry.values()]
        else:  # every change as the feed gives it, repeats included: the last one wins
            feed = [
                self.registry[rid].input() if rid in self.registry else IndexInput(rid, None)
                for rid in self.dirty
            ]
        self.index.update(feed, workers=1, complete=complete)
        self.dirty.clear()
        for view, mirror in self.mirrors.items():
            if mirror.epoch_id is None:
                mirror.apply(self.index.export(since_version=None, categories=view))
            else:
                since = mirror.version
                mirror.apply(self.index.export(since_version=since, categories=view))
        self.check_against_fresh_build()

    def put(self, record: Rec) -> None:
        self.registry[record.record_id] = record
        self.dirty.append(record.record_id)

    def check_against_fresh_build(self) -> None:
        self.builds += 1
        fresh = NodeIndex(self.tmp / f"fresh{self.builds}", key=self.key, country="DE")
        try:
            fresh.update([r.input() for r in self.registry.values()], workers=1)
            assert index_content(self.index) == index_content(fresh)
            assert self.index.size == fresh.size
        finally:
            fresh.close()
            shutil.rmtree(self.tmp / f"fresh{self.builds}")

    @invariant()
    def mirrors_equal_full_exports(self) -> None:
        for view, mirror in self.mirrors.items():
            if mirror.epoch_id is not None:
                assert mirror.version == self.index.version
                assert mirror_entries(mirror) == export_entries(self.index, view)

    def teardown(self) -> None:
        self.index.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        index_update._BATCH, index_update._IN, index_build.CHUNK = self.saved


IndexUpdates.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIndexUpdates = IndexUpdates.TestCase
