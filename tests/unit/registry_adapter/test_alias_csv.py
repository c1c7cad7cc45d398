"""Both maker tables (v1 ``MakeAliases``, v2 ``MakerTable``) read a node's alias file alike,
each with its own wording, through ``registry_adapter.alias_csv``."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlookup.errors import ConfigError
from registry_adapter.aliases import MakeAliases
from registry_adapter.maker_table import MakerTable

TABLES = {"v1": MakeAliases.with_extra, "v2": MakerTable.with_extra}


@pytest.mark.parametrize(
    ("version", "text", "field", "reason"),
    [
        ("v1", "alias,canonical\nGlock,Glok\n", "header", "expected 'canonical,alias'"),
        ("v2", "alias,canonical\nGlock,Glok\n", "header", "expected 'canonical,alias'"),
        ("v1", "# notes\ncanonical,alias\nGlock,Glok\nGlock\n", "row 3", "expected two columns"),
        ("v2", "# notes\ncanonical,alias\nGlock,Glok\nGlock\n", "row 3", "expected two columns"),
        ("v1", "canonical,alias\nAcme,Acme Arms\n,X\n", "row 2", "must be non-empty"),
        ("v2", "canonical,alias\nAcme,Acme Arms\n,X\n", "row 2", "must hold letters"),
        # Folding errors count data rows (the header is not row 1 here).
        ("v1", "canonical,alias\nAcme,Akme\nAcme,Glock\n", "row 2", "already an alias of 'GLOCK'"),
        ("v2", "canonical,alias\nAcme,Akme\nAcme,Zastava\n", "row 2", "a name of 'ZASTAVA'"),
    ],
)
def test_bad_rows_name_row_and_reason(
    tmp_path: Path, version: str, text: str, field: str, reason: str
) -> None:
    extra = tmp_path / "aliases.csv"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        TABLES[version](extra)
    assert (err.value.field, err.value.source) == (field, str(extra))
    assert reason in err.value.reason


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_an_extra_row_adds_a_spelling(tmp_path: Path, version: str) -> None:
    extra = tmp_path / "aliases.csv"
    extra.write_text("canonical,alias\nAcme Arms,Akme\n", encoding="utf-8")
    table = TABLES[version](extra)
    default = MakeAliases.default() if version == "v1" else MakerTable.default()
    assert len(table) == len(default) + 2
