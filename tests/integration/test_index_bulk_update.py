"""The operator's bulk update of issue 14, end to end at a size CI affords.

A kept demo network; NL's registry grows by a bulk load (new record ids, the issue's
``sed`` rewrite) while some existing records change category in the same import; the
serving NL node is re-indexed in place, then with ``--full``, then from an index folder
set aside (:func:`bulkrun.bulk_update_run`). After each step a check from DE finds every
new record and every changed category at NL, and DE's mirror takes the sync the step calls
for: a delta after the update, the full index after each rebuild (never ``none``, which
would mean an (epoch, version) pair named two contents).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bulkrun import bulk_update_run

pytestmark = pytest.mark.integration


def test_bulk_update_then_full_then_set_aside_all_find_the_new_records(tmp_path: Path) -> None:
    doc = bulk_update_run(tmp_path, records=500, growth=3000, changed=40)
    assert doc["before"]["found"] < doc["before"]["probes"]  # not there yet
    update, full, aside = doc["update"], doc["full"], doc["set_aside"]
    assert update["added"] >= 2 * 2900
    assert (update["check"]["sync"], update["check"]["index_version"]) == (
        "delta",
        update["version"],
    )
    assert full["size"] == update["size"]
    assert full["version"] > update["version"]
    assert full["check"]["sync"] == "full"
    assert aside["size"] == update["size"]
    assert aside["version"] > full["version"]
    assert aside["check"]["sync"] == "full"
    for step in (update, full, aside):
        check = step["check"]
        assert check["found"] == check["probes"] == 80, check
