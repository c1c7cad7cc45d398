"""Labels, follow-up references, and the key derivations of the encrypted index.

Every index entry derives from ``x``, the 32-byte x-coordinate of ``H(y)^b`` for identifier
``y`` under the epoch key ``b``, and nothing else (HKDF-SHA256, RFC 5869, written out with
``hmac`` for speed)::

    prk          = HKDF-Extract(salt = "fedlookup/v1/index|" + epoch_id, ikm = x)
    heads        = HKDF-Expand(prk, "heads", 64)            tag_c0 = heads[8(c-1) : 8c]
    tag_cj       = HKDF-Expand(prk, "chain" + u8(c) + "slot" + u32be(j), 8)     (j >= 1)
    stream_cjg   = HKDF-Expand(prk, "chain" + u8(c) + "slot" + u32be(j) + "gen" + u32be(g), 9)
    sealed_cjg   = u32be(g) || ((c || reference) XOR stream_cjg)          (4 + 9 bytes)

``tag_cj`` is read as a signed little-endian int64. ``g`` is the generation: the index
version (low 32 bits) in which the entry was last written. Every re-sealing (a moved slot,
a slot reused by another record) therefore takes a fresh keystream, and a holder of two
versions of a mirror learns nothing from the two ciphertexts but that the entry changed.

``c`` is the record's category code and ``j`` its occurrence slot in that category's chain:
the j-th record of category c holding the same identifier (many records share a serial-only
identifier) gets slot j, so equal identifiers never share a tag or a keystream, and the
index does not show which entries belong together. Slots are numbered **per category**, so
a peer restricted to some categories receives dense chains of exactly those: it finds every
record it may see, and no gap betrays a hidden one (ADR 0006). The asker probes, for each
category, ``j = 0, 1, ...`` until a slot is missing (the node keeps chains dense; see
:mod:`federation.index`), and accepts an opened label only if its category is the chain's.

A follow-up reference is ``HMAC-SHA256(reference_key, record_id)[:8]``, shown as
``CC-XXXX-XXXX-XXXX-XXXX`` (country, 16 hex digits); only the node holding the reference key
can map it back to a record (:meth:`federation.index.NodeIndex.resolve_reference`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from fedlookup.errors import InputError

__all__ = [
    "CATEGORIES",
    "LABEL_LENGTH",
    "MAX_SLOTS",
    "TAG_LENGTH",
    "Label",
    "category_code",
    "chain_heads",
    "content_digest",
    "entry_prk",
    "format_reference",
    "generation_of",
    "make_reference",
    "open_label",
    "parse_reference",
    "plain_label",
    "seal_label",
    "seal_plain",
    "slot_keys",
    "slot_stream",
    "slot_tag",
]

#: Record categories in wire order (code = position + 1; 0 is never valid).
CATEGORIES: tuple[str, ...] = (
    "registered",
    "stolen",
    "lost",
    "seized",
    "found",
    "exported",
    "deactivated",
    "destroyed",
)
_CODES = {name: i + 1 for i, name in enumerate(CATEGORIES)}
TAG_LENGTH = 8
#: A plaintext label: category code and 8 reference bytes.
PLAIN_LENGTH = 9
#: The generation prefix of a sealed label (selects its keystream).
GENERATION_LENGTH = 4
#: Most records of one category that may share one identifier; the asker probes at most this
#: many slots per category.
MAX_SLOTS = 4096
REFERENCE_LENGTH = 8
#: A sealed label on the wire and in the store: generation, then the encrypted plaintext.
LABEL_LENGTH = GENERATION_LENGTH + PLAIN_LENGTH
_REFERENCE = re.compile(r"^([A-Z]{2})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})$")


@dataclass(frozen=True)
class Label:
    """What a hit reveals: the record's category and its follow-up reference.

    Attributes:
        category: one of :data:`CATEGORIES`.
        reference: ``CC-XXXX-XXXX-XXXX-XXXX``; the owning node resolves it to a record.
    """

    category: str
    reference: str

    def __post_init__(self) -> None:
        category_code(self.category)
        parse_reference(self.reference)


def category_code(category: str) -> int:
    """Return the wire code of ``category``.

    Raises:
        InputError: unknown category.
    """
    try:
        return _CODES[str(category).lower()]
    except KeyError:
        raise InputError(f"unknown category {category!r}", field="category") from None


def make_reference(reference_key: bytes, country: str, record_id: str) -> str:
    """Return the follow-up reference of ``record_id`` (keyed, not reversible without the key)."""
    digest = hmac.digest(reference_key, record_id.encode("utf-8"), "sha256")[:REFERENCE_LENGTH]
    return format_reference(country, digest)


def format_reference(country: str, raw: bytes) -> str:
    """Format 8 reference bytes as ``CC-XXXX-XXXX-XXXX-XXXX``."""
    h = raw.hex().upper()
    return f"{country.upper()}-{h[0:4]}-{h[4:8]}-{h[8:12]}-{h[12:16]}"


def parse_reference(reference: str) -> tuple[str, bytes]:
    """Split a reference into ``(country, 8 raw bytes)``.

    Raises:
        InputError: not of the form ``CC-XXXX-XXXX-XXXX-XXXX``.
    """
    # Fast path for the canonical form (what make_reference produces; indexing hits it per record).
    if len(reference) == 22 and reference[2::5] == "----" and reference[:2].isupper():
        try:
            return reference[:2], bytes.fromhex(reference[3:].replace("-", ""))
        except ValueError:
            pass
    m = _REFERENCE.match(reference.strip().upper())
    if not m:
        raise InputError(f"malformed follow-up reference {reference!r}", field="reference")
    return m.group(1), bytes.fromhex("".join(m.groups()[1:]))


def entry_prk(x: bytes, epoch_id: str) -> bytes:
    """HKDF-Extract of the identifier's evaluation ``x``, bound to the epoch."""
    return hmac.digest(b"fedlookup/v1/index|" + epoch_id.encode("ascii"), x, "sha256")


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    return hmac.digest(prk, info + b"\x01", "sha256")[:length]  # HKDF-Expand, one block


def _chain(category: int, slot: int) -> bytes:
    return b"chain" + category.to_bytes(1, "big") + b"slot" + slot.to_bytes(4, "big")


def chain_heads(prk: bytes) -> list[int]:
    """The tags of slot 0 of every category's chain, in category-code order: one 64-byte
    HKDF-Expand (two HMACs), so an asker's miss costs two HMACs, not eight."""
    first = hmac.digest(prk, b"heads\x01", "sha256")
    block = first + hmac.digest(prk, first + b"heads\x02", "sha256")
    return [
        int.from_bytes(block[i : i + TAG_LENGTH], "little", signed=True)
        for i in range(0, TAG_LENGTH * len(CATEGORIES), TAG_LENGTH)
    ]


def slot_tag(prk: bytes, category: int, slot: int) -> int:
    """The tag of occurrence ``slot`` in the chain of category code ``category`` (a signed
    64-bit integer; 8 bytes on the wire). Slot 0 comes from :func:`chain_heads`."""
    if slot == 0:
        return chain_heads(prk)[category - 1]
    return int.from_bytes(_expand(prk, _chain(category, slot), TAG_LENGTH), "little", signed=True)


def slot_stream(prk: bytes, category: int, slot: int, generation: int) -> bytes:
    """The 9-byte keystream sealing the label of occurrence ``slot`` of ``category`` when it
    is (re)sealed at ``generation`` (:func:`generation_of` the index version)."""
    info = _chain(category, slot) + b"gen" + generation.to_bytes(GENERATION_LENGTH, "big")
    return _expand(prk, info, PLAIN_LENGTH)


def slot_keys(prk: bytes, category: int, slot: int, generation: int) -> tuple[int, bytes]:
    """Tag and keystream of occurrence ``slot`` of ``category`` at ``generation``."""
    return slot_tag(prk, category, slot), slot_stream(prk, category, slot, generation)


def generation_of(version: int) -> int:
    """The generation a label sealed in index ``version`` carries (the version's low 32
    bits: unique per tag over an epoch, since versions only grow)."""
    return version & 0xFFFFFFFF


def plain_label(category: int, reference: bytes) -> int:
    """The 9-byte plaintext label (category code, 8 reference bytes) as an integer."""
    return category << 64 | int.from_bytes(reference, "big")


def seal_plain(stream: bytes, plain: int, generation: int) -> bytes:
    """Encrypt a :func:`plain_label` under the keystream of ``generation``: the 13 bytes
    ``u32be(generation) || (plain XOR stream)``."""
    sealed = (plain ^ int.from_bytes(stream, "big")).to_bytes(PLAIN_LENGTH, "big")
    return generation.to_bytes(GENERATION_LENGTH, "big") + sealed


def seal_label(stream: bytes, category: int, reference: bytes, generation: int) -> bytes:
    """Encrypt a label (category code and 8 reference bytes); see :func:`seal_plain`."""
    return seal_plain(stream, plain_label(category, reference), generation)


def open_label(prk: bytes, category: int, slot: int, sealed: bytes, country: str) -> Label | None:
    """Decrypt the sealed label found at occurrence ``slot`` of ``category``; ``None`` when
    it is malformed or its category is not the chain's.

    A wrong keystream (a 64-bit tag collision with another identifier) gives a random
    category byte, which is rejected here 255 times out of 256.
    """
    if len(sealed) != LABEL_LENGTH:
        return None
    generation = int.from_bytes(sealed[:GENERATION_LENGTH], "big")
    stream = slot_stream(prk, category, slot, generation)
    plain = int.from_bytes(sealed[GENERATION_LENGTH:], "big") ^ int.from_bytes(stream, "big")
    raw = plain.to_bytes(PLAIN_LENGTH, "big")
    if raw[0] != category or not 1 <= category <= len(CATEGORIES):
        return None
    return Label(CATEGORIES[category - 1], format_reference(country, raw[1:]))


def content_digest(*parts: bytes) -> bytes:
    """SHA-256 over length-prefixed parts (used to detect unchanged records)."""
    return hashlib.sha256(b"".join(len(p).to_bytes(4, "big") + p for p in parts)).digest()
