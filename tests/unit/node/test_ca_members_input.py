"""Files read by ``fedlookup ca``: text that is not UTF-8 is an InputError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlookup.errors import InputError
from node.ops.ca_members import read_audit_public_key, read_members


def test_members_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "members.toml"
    path.write_bytes(b'federation = "f\xe9d"\n')
    with pytest.raises(InputError, match=r"members\.toml") as caught:
        read_members(path)
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


def test_audit_public_key_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "fr.pub"
    path.write_bytes(b"\xff\xfe not a key")
    with pytest.raises(InputError, match=r"fr\.pub"):
        read_audit_public_key(path)
