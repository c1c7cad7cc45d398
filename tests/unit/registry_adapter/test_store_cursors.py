"""A reader that stops early must not leave a PostgreSQL server-side cursor behind.

Under ``filterwarnings = error`` a leaked cursor surfaces as an unraisable ResourceWarning
that fails the test, so the test asserts by running to completion and by reading the data.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from registry_adapter import RegistryStore
from registry_adapter.models import Category, Record


@pytest.mark.postgres
def test_stopping_early_closes_the_cursor(postgres_schema: str) -> None:
    store = RegistryStore(postgres_schema)
    store.migrate()
    now = datetime.now(UTC)
    store.upsert(
        Record(f"r{i}", "GLOCK", "19", "9MM", f"ABC{i:04d}", Category.STOLEN, now, "")
        for i in range(50)
    )
    records = store.iter_records()
    assert next(records).record_id == "r0"
    records.close()
    changes = store.changes_since(None)
    assert next(changes).record is not None
    del changes
    gc.collect()
    assert store.count() == 50
    store.close()
