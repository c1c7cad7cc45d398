"""The signed head of an index download: which node's index, which epoch and version, how
many entries, which bytes.

The answering node signs an :class:`IndexHead` of every blob it sends with its audit key
(the key the signed directory lists for its country) and sends head and signature with the
last chunk. The asker recomputes the head from the bytes it received and checks the
signature under the directory's key for the country it asked before the blob goes anywhere
near its mirror: an index is bound to its author, not only to the TLS channel it came over.

Example::

    head = IndexHead.of_blob(blob)
    signature = sign_head(head, audit_key)                            # answering node
    DirectoryHeadCheck(directory).check_head("FR", head.canonical(), signature, blob)  # asker
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import canonical_bytes, parse_canonical
from audit.statements import check_keys, int_field, sign, text_field, verify
from federation.index_format import decode
from federation.trail import Members
from fedlookup.errors import IndexIntegrityError, VerificationError

__all__ = ["HEAD_TYPE", "DirectoryHeadCheck", "HeadCheck", "IndexHead", "sign_head"]

#: The ``type`` field of a head (a signature over one kind of object is never another's).
HEAD_TYPE = "fedlookup-index-head"
_FIELDS = {"type", "v", "country", "epoch_id", "version", "entries", "sha256"}


@dataclass(frozen=True)
class IndexHead:
    """What an index blob is, in one canonical byte form.

    Attributes:
        country: the node whose index it is.
        epoch_id: the epoch its tags are under.
        version: the index version the blob brings a mirror to.
        entries: entries the blob adds.
        sha256: SHA-256 of the blob, lower-case hex.
    """

    country: str
    epoch_id: str
    version: int
    entries: int
    sha256: str

    @classmethod
    def of_blob(cls, blob: bytes) -> IndexHead:
        """The head of ``blob``, read from the blob itself.

        Raises:
            IndexIntegrityError: the blob does not decode.
        """
        decoded = decode(blob)
        return cls(
            country=decoded.country,
            epoch_id=decoded.epoch_id,
            version=decoded.version,
            entries=len(decoded.tags),
            sha256=hashlib.sha256(blob).hexdigest(),
        )

    def canonical(self) -> bytes:
        """The bytes that are signed."""
        return canonical_bytes(
            {
                "type": HEAD_TYPE,
                "v": 1,
                "country": self.country,
                "epoch_id": self.epoch_id,
                "version": self.version,
                "entries": self.entries,
                "sha256": self.sha256,
            }
        )

    @classmethod
    def parse(cls, data: bytes) -> IndexHead:
        """Parse canonical head bytes strictly.

        Raises:
            VerificationError: not canonical, wrong type or version, missing or extra fields.
        """
        what = "index head"
        obj = parse_canonical(data, what)
        check_keys(obj, _FIELDS, what)
        if obj["type"] != HEAD_TYPE or obj["v"] != 1:
            raise VerificationError(f"{what}: not a {HEAD_TYPE} v1")
        return cls(
            country=text_field(obj, "country", what, empty=False),
            epoch_id=text_field(obj, "epoch_id", what),
            version=int_field(obj, "version", what),
            entries=int_field(obj, "entries", what),
            sha256=text_field(obj, "sha256", what, empty=False),
        )


def sign_head(head: IndexHead, key: Ed25519PrivateKey) -> bytes:
    """The node's Ed25519 signature over ``head``'s canonical bytes."""
    return sign(head.canonical(), key)


class HeadCheck(Protocol):
    """Checks a signed index head against the blob it came with (``DirectoryHeadCheck``)."""

    def check_head(self, country: str, head: bytes, signature: bytes, blob: bytes) -> None:
        """Raise unless ``head`` is ``country``'s signed head of exactly ``blob``."""
        ...


class DirectoryHeadCheck:
    """Verifies index heads under the audit keys of the federation directory.

    Args:
        members: the directory in force (each member's audit key).
    """

    def __init__(self, members: Members) -> None:
        self._members = members

    def check_head(self, country: str, head: bytes, signature: bytes, blob: bytes) -> None:
        """Raise unless ``head`` is ``country``'s signed head of exactly ``blob``.

        Raises:
            IndexIntegrityError: no head, a head of another country or of other bytes.
            VerificationError: the signature does not verify under ``country``'s key.
            UnlistedPeerError: ``country`` is not a member.
        """
        if not head or not signature:
            raise IndexIntegrityError(f"{country} sent its index without a signed head")
        verify(head, signature, self._members.member(country).audit_key())
        claimed = IndexHead.parse(head)
        actual = IndexHead.of_blob(blob)
        if claimed.country != country:
            raise IndexIntegrityError(f"index head names {claimed.country}, expected {country}")
        if claimed != actual:
            raise IndexIntegrityError(
                f"the signed head of {country} does not describe the bytes received"
            )
