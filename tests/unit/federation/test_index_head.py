"""An index download is bound to its author by a signed head over exactly its bytes."""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from federation.index_format import IndexBlob, encode
from federation.index_head import DirectoryHeadCheck, IndexHead, sign_head
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


def _check(head: bytes, signature: bytes, blob: bytes, country: str = "FR") -> None:
    DirectoryHeadCheck(_Directory()).check_head(country, head, signature, blob)  # type: ignore[arg-type]


def test_a_head_describes_its_blob_and_round_trips() -> None:
    blob = _blob()
    head = IndexHead.of_blob(blob)
    assert (head.country, head.epoch_id, head.version, head.entries) == ("FR", "e1", 4, 3)
    assert IndexHead.parse(head.canonical()) == head
    _check(head.canonical(), sign_head(head, KEYS["FR"]), blob)


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
