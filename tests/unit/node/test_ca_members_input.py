"""Files read by ``fedlookup ca``: text that is not UTF-8 is an InputError naming the file."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pki_fixtures import TestPKI

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


def test_members_file_states_identifier_versions(tmp_path: Path, test_pki: TestPKI) -> None:
    key = test_pki.audit_keys["FR"].public_key().public_bytes_raw()
    (tmp_path / "fr.pub").write_text(base64.b64encode(key).decode(), encoding="utf-8")
    cert = test_pki.nodes["FR"].cert_path
    entry = f'[[members]]\ncountry = "FR"\nendpoint = "127.0.0.1:1"\ncert = "{cert}"\n'
    entry += 'audit_public_key = "fr.pub"\nlimits = {max_items_per_request = 10, '
    entry += "items_per_day = 10}\n"
    path = tmp_path / "members.toml"
    path.write_text(entry + 'identifiers = "v1+v2"\n', encoding="utf-8")
    assert read_members(path)[1][0].identifiers == "v1+v2"
    path.write_text(entry + 'identifiers = "two"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_members(path)
    assert caught.value.field == "members[0].identifiers"
