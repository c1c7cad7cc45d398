"""Mapped foreign tables: configuration errors name the field; bad rows are skipped loudly."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from registry_harness import FOREIGN_MAPPING, MappedHarness, record

from fedlookup.errors import ConfigError
from registry_adapter import Category, ColumnMapping, MappedRegistry, open_registry


@pytest.fixture
def foreign(tmp_path: Path) -> Iterator[MappedHarness]:
    h = MappedHarness(f"sqlite:///{tmp_path / 'foreign.db'}", tmp_path / "snap.db")
    yield h
    h.source.close()
    h.close()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"serial": None}, "registry.mapping.serial"),
        ({"table": ""}, "registry.mapping.table"),
        ({"make": 3}, "registry.mapping.make"),
        ({"colour": "c"}, "registry.mapping.colour"),
        ({"category_values": {"S": "pinched"}}, "registry.mapping.category_values.S"),
        ({"category_values": ["S"]}, "registry.mapping.category_values"),
        ({"category": None}, "registry.mapping.category"),
        ({"default_category": "nope"}, "registry.mapping.default_category"),
    ],
)
def test_mapping_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    d = {**FOREIGN_MAPPING, **change}
    d = {k: v for k, v in d.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        ColumnMapping.from_dict(d, source="node.toml")
    assert err.value.field == field
    assert err.value.source == "node.toml"


def test_missing_table_or_column_is_a_config_error(foreign: MappedHarness) -> None:
    mapping = ColumnMapping.from_dict({**FOREIGN_MAPPING, "serial": "serial_number"})
    with pytest.raises(ConfigError) as err:
        MappedRegistry(foreign.url, mapping)
    assert err.value.field == "registry.mapping.serial"
    assert "serial_number" in str(err.value)
    mapping = ColumnMapping.from_dict({**FOREIGN_MAPPING, "table": "weapons"})
    with pytest.raises(ConfigError, match="weapons"):
        MappedRegistry(foreign.url, mapping)


def test_unmapped_category_code_fails_closed(foreign: MappedHarness) -> None:
    foreign.put([record(1, "AAA111")])
    with foreign.engine.begin() as conn:
        conn.execute(sa.update(foreign.table).values(status_code="Q"))
    with pytest.raises(ConfigError, match="'Q'"):
        list(foreign.source.iter_records())


def test_default_category_covers_unmapped_codes(foreign: MappedHarness) -> None:
    foreign.put([record(1, "AAA111")])
    with foreign.engine.begin() as conn:
        conn.execute(sa.update(foreign.table).values(status_code="Q"))
    mapping = ColumnMapping.from_dict({**FOREIGN_MAPPING, "default_category": "registered"})
    with MappedRegistry(foreign.url, mapping) as src:
        (rec,) = src.iter_records()
    assert rec.category is Category.REGISTERED


def test_rows_without_usable_identifiers_are_skipped_and_logged(
    foreign: MappedHarness, caplog: pytest.LogCaptureFixture
) -> None:
    foreign.put([record(1, "AAA111"), record(2, "BBB222"), record(3, "CCC333")])
    with foreign.engine.begin() as conn:
        t = foreign.table
        conn.execute(sa.update(t).where(t.c.weapon_no == 2).values(serial_no=None))
        conn.execute(sa.update(t).where(t.c.weapon_no == 3).values(serial_no="unknown"))
    with caplog.at_level(logging.WARNING, logger="registry_adapter.mapped"):
        recs = list(foreign.source.iter_records())
    assert [r.record_id for r in recs] == ["1"]
    assert isinstance(foreign.source, MappedRegistry)
    assert foreign.source.skipped == 2
    assert foreign.source.count() == 3  # the table's rows, skipped ones included
    assert "'2'" in caplog.text
    assert "unknown" not in caplog.text.lower()  # the serial never reaches the log


def test_blanking_a_serial_reads_as_a_removal(foreign: MappedHarness) -> None:
    foreign.put([record(1, "AAA111"), record(2, "BBB222")])
    mark = foreign.source.watermark()
    with foreign.engine.begin() as conn:
        t = foreign.table
        conn.execute(sa.update(t).where(t.c.weapon_no == 2).values(serial_no=""))
    changes = list(foreign.source.changes_since(mark))
    assert [(c.record_id, c.record) for c in changes] == [("2", None)]


def test_without_category_column_every_row_takes_the_default(foreign: MappedHarness) -> None:
    foreign.put([record(1, "AAA111", Category.STOLEN)])
    d = {k: v for k, v in FOREIGN_MAPPING.items() if k not in ("category", "category_values")}
    with open_registry(foreign.url, {**d, "default_category": "stolen"}) as src:
        (rec,) = src.iter_records()
    assert rec.category is Category.STOLEN


def test_open_registry_takes_the_node_config_table(foreign: MappedHarness, tmp_path: Path) -> None:
    foreign.put([record(1, "AAA111")])
    snap = tmp_path / "feed.db"
    with open_registry(foreign.url, {**FOREIGN_MAPPING, "snapshot": str(snap)}) as src:
        assert isinstance(src, MappedRegistry)
        mark = src.watermark()
    assert snap.exists()
    with open_registry(foreign.url, {**FOREIGN_MAPPING, "snapshot": str(snap)}) as src:
        assert list(src.changes_since(mark)) == []  # the feed persists across processes
