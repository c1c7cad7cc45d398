"""The signed head of an index download: which node's index, which epoch and version, how
many entries, which bytes, and which whole state a mirror reaches by applying them.

The answering node's :class:`~federation.responder.Responder` signs an :class:`IndexHead` of
every blob it exports with its audit key (the key the signed directory lists for its
country). The asker checks it twice: on receipt (:meth:`DirectoryHeadCheck.check_head`, the
signature under the directory's key for the country it asked, and every field it can
recompute from the blob), and after applying the blob to a copy of its mirror
(:class:`~federation.mirrors.MirrorStore`: the mirror's full serialization must hash to
``state_sha256``) before anything replaces the mirror. The head is stored beside the mirror
and checked again on load (:meth:`DirectoryHeadCheck.check_signed`), so a mirror is bound to
its author on disk too, not only to the TLS channel it came over.

Head v2 (only v2 is accepted: both ends ship together)::

    type          "fedlookup-index-head"
    v             2
    country       the node whose index it is
    epoch_id      the epoch its tags are under
    version       the index version the blob brings a mirror to
    entries       entries the blob carries
    total         entries a mirror holds after applying it
    sha256        SHA-256 of the blob (hex)
    state_sha256  SHA-256 of the full snapshot of that version for this asker's grant: the
                  bytes ``IndexMirror.to_bytes()`` yields after applying; ``sha256`` for a
                  full snapshot

Example::

    head = IndexHead.of_blob(blob, state_sha256=full_digest)        # answering node
    signature = sign_head(head, audit_key)
    DirectoryHeadCheck(directory).check_head("FR", head.canonical(), signature, blob)  # asker
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import canonical_bytes, parse_canonical
from audit.statements import check_keys, int_field, sign, text_field, verify
from federation.index_format import decode, is_delta
from federation.trail import Members
from fedlookup.errors import IndexIntegrityError, VerificationError

__all__ = ["HEAD_TYPE", "HEAD_VERSION", "DirectoryHeadCheck", "HeadCheck", "IndexHead", "sign_head"]

#: The ``type`` field of a head (a signature over one kind of object is never another's).
HEAD_TYPE = "fedlookup-index-head"
#: The one head version accepted.
HEAD_VERSION = 2
_FIELDS = {
    "type", "v", "country", "epoch_id", "version", "entries", "total", "sha256", "state_sha256"
}  # fmt: skip


def _hex_digest(obj: dict[str, Any], name: str, what: str) -> str:
    value = text_field(obj, name, what, empty=False)
    if len(value) != 64 or value.strip("0123456789abcdef"):
        raise VerificationError(f"{what}: {name} is not a lower-case hex SHA-256")
    return value


@dataclass(frozen=True)
class IndexHead:
    """What an index blob is and the state it leads to, in one canonical byte form.

    Attributes:
        country: the node whose index it is.
        epoch_id: the epoch its tags are under.
        version: the index version the blob brings a mirror to.
        entries: entries the blob carries.
        total: entries a mirror holds after applying the blob.
        sha256: SHA-256 of the blob, lower-case hex.
        state_sha256: SHA-256 of the full snapshot at ``version`` for the asker's grant
            (what ``IndexMirror.to_bytes()`` yields after applying), lower-case hex.
    """

    country: str
    epoch_id: str
    version: int
    entries: int
    total: int
    sha256: str
    state_sha256: str

    @classmethod
    def of_blob(cls, blob: bytes, *, state_sha256: str | None = None) -> IndexHead:
        """The head of ``blob``, read from the blob itself.

        Args:
            blob: a full snapshot or a delta.
            state_sha256: the digest of the full snapshot at the blob's version; required
                for a delta, and for a full snapshot it is the blob's own digest.

        Raises:
            IndexIntegrityError: the blob does not decode, or a delta without
                ``state_sha256``, or a full snapshot with another one.
        """
        decoded = decode(blob)
        digest = hashlib.sha256(blob).hexdigest()
        if not decoded.delta:
            if state_sha256 not in (None, digest):
                raise IndexIntegrityError("a full snapshot's state digest is its own digest")
            state_sha256 = digest
        elif state_sha256 is None:
            raise IndexIntegrityError("a delta's head needs the digest of the state it leads to")
        return cls(
            country=decoded.country,
            epoch_id=decoded.epoch_id,
            version=decoded.version,
            entries=len(decoded.tags),
            total=decoded.total,
            sha256=digest,
            state_sha256=state_sha256,
        )

    def canonical(self) -> bytes:
        """The bytes that are signed."""
        return canonical_bytes(
            {
                "type": HEAD_TYPE,
                "v": HEAD_VERSION,
                "country": self.country,
                "epoch_id": self.epoch_id,
                "version": self.version,
                "entries": self.entries,
                "total": self.total,
                "sha256": self.sha256,
                "state_sha256": self.state_sha256,
            }
        )

    @classmethod
    def parse(cls, data: bytes) -> IndexHead:
        """Parse canonical head bytes strictly.

        Raises:
            VerificationError: not canonical, wrong type or version (a v1 head is refused),
                missing or extra fields, a digest that is not 64 lower-case hex digits.
        """
        what = "index head"
        obj = parse_canonical(data, what)
        if obj.get("type") != HEAD_TYPE or obj.get("v") != HEAD_VERSION:
            raise VerificationError(f"{what}: not a {HEAD_TYPE} v{HEAD_VERSION}")
        check_keys(obj, _FIELDS, what)
        return cls(
            country=text_field(obj, "country", what, empty=False),
            epoch_id=text_field(obj, "epoch_id", what),
            version=int_field(obj, "version", what),
            entries=int_field(obj, "entries", what),
            total=int_field(obj, "total", what),
            sha256=_hex_digest(obj, "sha256", what),
            state_sha256=_hex_digest(obj, "state_sha256", what),
        )


def sign_head(head: IndexHead, key: Ed25519PrivateKey) -> bytes:
    """The node's Ed25519 signature over ``head``'s canonical bytes."""
    return sign(head.canonical(), key)


class HeadCheck(Protocol):
    """Checks signed index heads (:class:`DirectoryHeadCheck`)."""

    def check_head(self, country: str, head: bytes, signature: bytes, blob: bytes) -> IndexHead:
        """Return the head once it is ``country``'s signed head of exactly ``blob``."""
        ...

    def check_signed(self, country: str, head: bytes, signature: bytes) -> IndexHead:
        """Return the head once it is ``country``'s, signed under its key in force."""
        ...


class DirectoryHeadCheck:
    """Verifies index heads under the audit keys of the federation directory.

    A head signed under a key the directory no longer lists (a rotation) fails like any
    other bad signature: the mirror it vouched for is fetched again.

    Args:
        members: the directory in force (each member's audit key).
    """

    def __init__(self, members: Members) -> None:
        self._members = members

    def check_signed(self, country: str, head: bytes, signature: bytes) -> IndexHead:
        """Return the parsed head once it verifies under ``country``'s key and names it.

        Raises:
            IndexIntegrityError: no head, or a head naming another country.
            VerificationError: the signature does not verify under ``country``'s key, or the
                head is not a canonical v2 head.
            UnlistedPeerError: ``country`` is not a member.
        """
        if not head or not signature:
            raise IndexIntegrityError(f"{country} sent its index without a signed head")
        verify(head, signature, self._members.member(country).audit_key())
        claimed = IndexHead.parse(head)
        if claimed.country != country:
            raise IndexIntegrityError(f"index head names {claimed.country}, expected {country}")
        return claimed

    def check_head(self, country: str, head: bytes, signature: bytes, blob: bytes) -> IndexHead:
        """Return the head once it is ``country``'s signed head of exactly ``blob``.

        Every field but ``state_sha256`` of a delta is recomputed from ``blob``; that one
        is checked against the mirror the delta produces (``federation.mirrors``).

        Raises:
            IndexIntegrityError: no head, a head of another country or of other bytes.
            VerificationError: the signature does not verify under ``country``'s key.
            UnlistedPeerError: ``country`` is not a member.
        """
        claimed = self.check_signed(country, head, signature)
        delta = is_delta(blob)
        actual = IndexHead.of_blob(blob, state_sha256=claimed.state_sha256 if delta else None)
        if claimed != actual:
            raise IndexIntegrityError(
                f"the signed head of {country} does not describe the bytes received"
            )
        return claimed
