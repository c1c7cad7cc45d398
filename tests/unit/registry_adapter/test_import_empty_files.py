"""An empty input file is an error whatever its format, and never empties a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlookup.errors import InputError
from registry_adapter import open_registry
from registry_adapter.store import RegistryStore

ROW = (
    "record_id,make,model,caliber,serial,category,recorded_at\n"
    "R1,Glock,17,9mm,AB12345,stolen,2024-01-01\n"
)


@pytest.mark.parametrize(
    ("name", "content"), [("e.csv", ""), ("e.jsonl", ""), ("b.jsonl", "\n \n")]
)
@pytest.mark.parametrize("replace", [False, True])
def test_an_empty_file_is_refused_and_changes_nothing(
    tmp_path: Path, name: str, content: str, replace: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    seed = tmp_path / "seed.csv"
    seed.write_text(ROW, encoding="utf-8")
    empty = tmp_path / name
    empty.write_text(content, encoding="utf-8")
    with RegistryStore(url) as store:
        store.migrate()
        store.import_file(seed)
        with pytest.raises(InputError, match="empty file") as caught:
            store.import_file(empty, replace=replace)
    assert caught.value.file == str(empty)
    with open_registry(url) as source:
        assert source.count() == 1
