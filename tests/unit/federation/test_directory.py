"""Signed federation directory: signature, rollback, malformed fields, membership, pins."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pki_fixtures import TestPKI

from federation.directory import (
    SIGNING_CONTEXT,
    load_directory,
    parse_directory,
    sign_directory,
    write_directory,
)
from federation.directory_model import Directory, DirectoryLimits, Member, canonical_json
from fedlookup.errors import (
    DirectoryRollbackError,
    DirectorySignatureError,
    InputError,
    UnlistedPeerError,
)


def _doc(test_pki: TestPKI) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(test_pki.directory_path.read_bytes())
    return doc


def _resign(test_pki: TestPKI, body: dict[str, Any]) -> bytes:
    """Sign an arbitrary body with the CA key: a malformed directory with a valid signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    sig = test_pki.ca.private_key().sign(
        SIGNING_CONTEXT + canonical_json(body), ec.ECDSA(hashes.SHA256())
    )
    return canonical_json({"directory": body, "signature": base64.b64encode(sig).decode()})


def test_fixture_directory_loads(test_pki: TestPKI) -> None:
    directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
    assert directory.version == 1
    assert directory.countries == ["DE", "FR", "NL"]
    de = directory.member("DE")
    assert de.endpoint == "127.0.0.1:50051"
    assert de.host == "127.0.0.1"
    assert de.audit_key().public_bytes_raw() == (
        test_pki.audit_keys["DE"].public_key().public_bytes_raw()
    )
    assert de.limits == DirectoryLimits(max_items_per_request=1000, items_per_day=100_000)


def test_trust_may_be_given_as_certificates(test_pki: TestPKI) -> None:
    root = test_pki.ca.certificate()
    for trust in (root, [test_pki.other_ca.certificate(), root]):
        assert load_directory(test_pki.directory_path, trust).version == 1


def test_sign_parse_round_trip_is_canonical(test_pki: TestPKI) -> None:
    directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
    data = sign_directory(directory, test_pki.ca)
    again = parse_directory(data, test_pki.ca.certificate())
    assert again == directory
    assert again.canonical() == directory.canonical()


def test_signature_under_another_authority_is_refused(test_pki: TestPKI) -> None:
    with pytest.raises(DirectorySignatureError):
        load_directory(test_pki.directory_path, test_pki.other_ca.cert_path)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["directory"]["members"][0].update(endpoint="203.0.113.9:50051"),
        lambda d: d["directory"].update(version=99),
        lambda d: d["directory"]["members"].pop(),
        lambda d: d["directory"]["members"][1]["limits"].update(items_per_day=10**9),
        lambda d: d.update(
            signature=base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()
        ),
    ],
)
def test_any_change_breaks_the_signature(test_pki: TestPKI, tamper: Any) -> None:
    doc = _doc(test_pki)
    tamper(doc)
    with pytest.raises(DirectorySignatureError):
        parse_directory(json.dumps(doc).encode(), test_pki.ca.cert_path)


def test_older_version_is_refused(test_pki: TestPKI) -> None:
    with pytest.raises(DirectoryRollbackError, match="version 1 is older than 2"):
        load_directory(test_pki.directory_path, test_pki.ca.cert_path, min_version=2)
    assert load_directory(test_pki.directory_path, test_pki.ca.cert_path, min_version=1)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"not json", None),
        (b"[]", "directory"),
        (b'{"directory": {}}', "signature"),
        (b'{"directory": {}, "signature": "***"}', "signature"),
    ],
)
def test_unparsable_file(test_pki: TestPKI, data: bytes, field: str | None) -> None:
    with pytest.raises(InputError) as info:
        parse_directory(data, test_pki.ca.cert_path, source="d.json")
    assert info.value.field == field
    assert info.value.file == "d.json"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("format",), "other/9", "directory.format"),
        (("version",), "2", "directory.version"),
        (("version",), 0, "directory.version"),
        (("version",), True, "directory.version"),
        (("issued_at",), "yesterday", "directory.issued_at"),
        (("issued_at",), "2026-11-22T00:00:00", "directory.issued_at"),
        (("members",), {}, "directory.members"),
        (("members", 1, "country"), "fr", "directory.members[1].country"),
        (("members", 1, "endpoint"), "nl-node", "directory.members[1].endpoint"),
        (("members", 1, "endpoint"), "host:99999", "directory.members[1].endpoint"),
        (("members", 0, "key_fingerprint"), "ABC", "directory.members[0].key_fingerprint"),
        (("members", 0, "key_fingerprint"), 7, "directory.members[0].key_fingerprint"),
        (("members", 2, "audit_public_key"), "!!", "directory.members[2].audit_public_key"),
        (("members", 2, "audit_public_key"), "AAAA", "directory.members[2].audit_public_key"),
        (("members", 0, "limits"), [], "directory.members[0].limits"),
        (
            ("members", 0, "limits", "items_per_day"),
            -1,
            "directory.members[0].limits.items_per_day",
        ),
        (
            ("members", 0, "limits", "max_items_per_request"),
            1.5,
            "directory.members[0].limits.max_items_per_request",
        ),
        (("members", 2, "country"), "DE", "directory.members"),
        (("members", 1, "identifiers"), "2", "directory.members[1].identifiers"),
        (("members", 1, "identifiers"), ["v2"], "directory.members[1].identifiers"),
    ],
)
def test_malformed_field_is_named(
    test_pki: TestPKI, path: tuple[Any, ...], value: Any, field: str
) -> None:
    body = _doc(test_pki)["directory"]
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(InputError) as info:
        parse_directory(_resign(test_pki, body), test_pki.ca.cert_path, source="d.json")
    assert info.value.field == field
    assert info.value.file == "d.json"


def test_missing_field_is_named(test_pki: TestPKI) -> None:
    body = _doc(test_pki)["directory"]
    del body["members"][1]["limits"]
    with pytest.raises(InputError, match="missing") as info:
        parse_directory(_resign(test_pki, body), test_pki.ca.cert_path)
    assert info.value.field == "directory.members[1].limits"


def test_unlisted_country_is_refused(test_pki: TestPKI) -> None:
    directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
    with pytest.raises(UnlistedPeerError, match="XX is not a member of directory v1"):
        directory.member("XX")
    identity = test_pki.verifier().verify(test_pki.pem("wrong_country"))
    with pytest.raises(UnlistedPeerError):
        directory.check_peer(identity)


def test_pinned_key_is_enforced(test_pki: TestPKI) -> None:
    directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
    verifier = test_pki.verifier()
    assert directory.check_peer(verifier.verify(test_pki.pem("FR"))).country == "FR"
    # A valid DE certificate from the same CA, but not the key the directory pins.
    impostor = verifier.verify(test_pki.pem("wrong_usage"), usage="server", server_name="localhost")
    with pytest.raises(UnlistedPeerError, match="not the key pinned"):
        directory.check_peer(impostor)
    unpinned = replace(directory.member("DE"), key_fingerprint=None)
    relaxed = replace(directory, members=(unpinned,))
    assert relaxed.check_peer(impostor).country == "DE"


def test_members_are_kept_sorted_and_written_atomically(test_pki: TestPKI, tmp_path: Path) -> None:
    directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
    shuffled = Directory(
        federation="x",
        version=2,
        issued_at=datetime(2026, 1, 1, tzinfo=UTC),
        members=tuple(reversed(directory.members)),
    )
    assert shuffled.countries == ["DE", "FR", "NL"]
    out = tmp_path / "sub" / "directory.json"
    write_directory(shuffled, test_pki.ca, out)
    assert load_directory(out, test_pki.ca.cert_path) == shuffled
    assert [p.name for p in out.parent.iterdir()] == ["directory.json"]


def test_member_validates_on_construction() -> None:
    limits = DirectoryLimits(1, 1)
    with pytest.raises(InputError) as info:
        Member("DE", "127.0.0.1:1", None, b"short", limits)
    assert info.value.field == "audit_public_key"
    assert Member("DE", "[::1]:443", None, bytes(32), limits).host == "::1"


def test_identifier_versions_are_signed_and_optional(test_pki: TestPKI) -> None:
    directory = load_directory(test_pki.directory_path, test_pki.ca.cert_path)
    assert all(m.identifiers is None for m in directory.members)
    assert b"identifiers" not in directory.canonical()  # older directories keep their bytes
    fr = replace(directory.member("FR"), identifiers="v1+v2")
    members = tuple(fr if m.country == "FR" else m for m in directory.members)
    stated = replace(directory, version=2, members=members)
    again = parse_directory(sign_directory(stated, test_pki.ca), test_pki.ca.certificate())
    assert again.member("FR").identifiers == "v1+v2"
    assert again.member("DE").identifiers is None
