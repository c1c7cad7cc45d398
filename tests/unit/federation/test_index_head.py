"""An index download is bound to its author by a signed head over exactly its bytes."""

from __future__ import annotations

import hashlib
import json
from array import array
from dataclasses import dataclass, replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from audit.canonical import canonical_bytes
from federation.index_format import IndexBlob, encode
from federation.index_head import HEAD_TYPE, DirectoryHeadCheck, IndexHead, sign_head
from fedlookup.errors import IndexIntegrityError, VerificationError

KEYS = {"FR": Ed25519PrivateKey.generate(), "NL": Ed25519PrivateKey.generate()}


@dataclass(frozen=True)
class _Member:
    key: Ed25519PublicKey

    def audit_key(self) -> Ed25519PublicKey:
        return self.key


class _Directory:
    def member(self, country: str) -> _Member:
        return _Member(KEYS[country].public_key())


def _blob(country: str = "FR", tags: tuple[int, ...] = (3, 5, 9), version: int = 4) -> bytes:
    return encode(
        IndexBlob(country, "e1", 0, version, array("q", tags), None, array("q"), len(tags), False)
    )


def _check(head: bytes, signature: bytes, blob: bytes, country: str = "FR") -> IndexHead:
    return DirectoryHeadCheck(_Directory()).check_head(country, head, signature, blob)  # type: ignore[arg-type]


def _delta(total: int = 4) -> bytes:
    return encode(IndexBlob("FR", "e1", 4, 5, array("q", (11,)), None, array("q"), total, True))


def test_a_head_describes_its_blob_and_round_trips() -> None:
    blob = _blob()
    head = IndexHead.of_blob(blob)
    assert (head.country, head.epoch_id, head.version, head.entries) == ("FR", "e1", 4, 3)
    assert head.total == 3
    assert head.state_sha256 == head.sha256 == hashlib.sha256(blob).hexdigest()
    assert IndexHead.parse(head.canonical()) == head
    assert _check(head.canonical(), sign_head(head, KEYS["FR"]), blob) == head


def test_a_delta_head_names_the_state_it_leads_to() -> None:
    state = "ab" * 32
    head = IndexHead.of_blob(_delta(), state_sha256=state)
    assert (head.version, head.entries, head.total, head.state_sha256) == (5, 1, 4, state)
    assert _check(head.canonical(), sign_head(head, KEYS["FR"]), _delta()) == head
    with pytest.raises(IndexIntegrityError, match="needs the digest of the state"):
        IndexHead.of_blob(_delta())


def test_a_full_snapshot_cannot_name_another_state() -> None:
    with pytest.raises(IndexIntegrityError, match="its own digest"):
        IndexHead.of_blob(_blob(), state_sha256="ab" * 32)
    head = IndexHead.of_blob(_blob())
    lying = replace(head, state_sha256="ab" * 32)
    with pytest.raises(IndexIntegrityError, match="does not describe the bytes"):
        _check(lying.canonical(), sign_head(lying, KEYS["FR"]), _blob())


def test_a_delta_head_with_another_total_is_refused() -> None:
    head = IndexHead.of_blob(_delta(total=4), state_sha256="ab" * 32)
    with pytest.raises(IndexIntegrityError, match="does not describe the bytes"):
        _check(head.canonical(), sign_head(head, KEYS["FR"]), _delta(total=5))


def _v1(blob: bytes) -> bytes:
    head = IndexHead.of_blob(blob)
    return canonical_bytes(
        {"type": HEAD_TYPE, "v": 1, "country": head.country, "epoch_id": head.epoch_id,
         "version": head.version, "entries": head.entries, "sha256": head.sha256}
    )  # fmt: skip


def test_a_v1_head_is_refused_even_when_signed() -> None:
    blob = _blob()
    v1 = _v1(blob)
    with pytest.raises(VerificationError, match="not a fedlookup-index-head v2"):
        _check(v1, KEYS["FR"].sign(v1), blob)


@pytest.mark.parametrize(
    ("field", "value"),
    [("state_sha256", "AB" * 32), ("sha256", "ab" * 31), ("total", -1), ("total", "3")],
)
def test_a_head_with_a_malformed_field_is_refused(field: str, value: object) -> None:
    obj = json.loads(IndexHead.of_blob(_blob()).canonical())
    obj[field] = value
    with pytest.raises(VerificationError, match=field):
        IndexHead.parse(canonical_bytes(obj))


def test_check_signed_verifies_the_key_and_the_country_only() -> None:
    head = IndexHead.of_blob(_blob())
    heads = DirectoryHeadCheck(_Directory())  # type: ignore[arg-type]
    assert heads.check_signed("FR", head.canonical(), sign_head(head, KEYS["FR"])) == head
    with pytest.raises(VerificationError):
        heads.check_signed("FR", head.canonical(), sign_head(head, KEYS["NL"]))
    with pytest.raises(IndexIntegrityError, match="names FR, expected NL"):
        heads.check_signed("NL", head.canonical(), sign_head(head, KEYS["NL"]))


def test_a_head_signed_by_another_member_is_refused() -> None:
    blob = _blob()
    head = IndexHead.of_blob(blob)
    with pytest.raises(VerificationError):
        _check(head.canonical(), sign_head(head, KEYS["NL"]), blob)


def test_a_signed_head_does_not_cover_other_bytes() -> None:
    honest, poisoned = _blob(), _blob(tags=(3, 9))  # one entry dropped
    head = IndexHead.of_blob(honest)
    with pytest.raises(IndexIntegrityError, match="does not describe the bytes"):
        _check(head.canonical(), sign_head(head, KEYS["FR"]), poisoned)


def test_another_countrys_index_under_its_own_key_is_refused() -> None:
    blob = _blob(country="NL")
    head = IndexHead.of_blob(blob)
    with pytest.raises(VerificationError):  # asked FR: checked under FR's key
        _check(head.canonical(), sign_head(head, KEYS["NL"]), blob)


def test_no_head_is_refused() -> None:
    with pytest.raises(IndexIntegrityError, match="without a signed head"):
        _check(b"", b"", _blob())
