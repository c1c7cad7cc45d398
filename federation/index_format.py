"""The serialized encrypted index: one strict binary format for full snapshots and deltas.

Layout (integers little-endian)::

    magic        4   b"FLIX"
    format       1   2
    flags        1   bit 0: labels present; bit 1: delta
    country      2   ASCII, e.g. b"DE"
    epoch_len    1   then epoch_len bytes of ASCII epoch id
    base         8   version this delta applies to (0 for a full snapshot)
    version      8   version after applying
    added        8   number of entries that follow
    removed      8   number of removed tags that follow
    total        8   entries the receiver holds after applying (a consistency check)
    tags         8 * added      signed int64, strictly increasing
    labels       13 * added     present only with flag bit 0, in tag order
    removed      8 * removed    signed int64, strictly increasing
    checksum     32  SHA-256 of every byte before it

So a full index costs 8 bytes per identifier without labels and 21 with them (8-byte tag,
13-byte sealed label: 4-byte generation and 9 encrypted bytes, :mod:`federation.labels`),
plus 83 bytes of header and checksum. Format 1 (9-byte labels sealed under one keystream
per slot) is refused; a mirror in format 1 on disk is replaced by a full copy. Columns keep
the parse a few ``array.frombytes`` calls, whatever the size. Any truncation, trailing byte,
unsorted column or checksum mismatch raises :class:`~fedlookup.errors.IndexIntegrityError`.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import sys
from array import array
from dataclasses import dataclass

from federation.labels import LABEL_LENGTH, TAG_LENGTH
from fedlookup.errors import IndexIntegrityError

__all__ = ["FLAG_DELTA", "FLAG_LABELS", "IndexBlob", "decode", "encode", "is_delta"]

MAGIC = b"FLIX"
FORMAT = 2
FLAG_LABELS = 1
FLAG_DELTA = 2
_HEAD = struct.Struct("<4sBB2sB")
_COUNTS = struct.Struct("<QQQQQ")
_DIGEST = 32


@dataclass(frozen=True)
class IndexBlob:
    """A decoded snapshot or delta.

    Attributes:
        country: the publishing node's country code.
        epoch_id: the epoch its tags are derived under.
        base_version: version a delta applies to (0 for a full snapshot).
        version: version after applying.
        tags: added entries' tags, strictly increasing (``array('q')``).
        labels: 13 bytes per added entry in tag order, or ``None`` (cardinality-only peers).
        removed: removed tags, strictly increasing (``array('q')``).
        total: number of entries the receiver holds after applying.
        delta: whether this is a delta.
    """

    country: str
    epoch_id: str
    base_version: int
    version: int
    tags: array[int]
    labels: bytes | None
    removed: array[int]
    total: int
    delta: bool


def _le(values: array[int]) -> bytes:
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("q", values)
    swapped.byteswap()
    return swapped.tobytes()


def _from_le(data: bytes) -> array[int]:
    values = array("q")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def encode(blob: IndexBlob) -> bytes:
    """Serialize ``blob`` with its checksum."""
    flags = (FLAG_LABELS if blob.labels is not None else 0) | (FLAG_DELTA if blob.delta else 0)
    epoch = blob.epoch_id.encode("ascii")
    parts = [
        _HEAD.pack(MAGIC, FORMAT, flags, blob.country.encode("ascii"), len(epoch)),
        epoch,
        _COUNTS.pack(
            blob.base_version, blob.version, len(blob.tags), len(blob.removed), blob.total
        ),
        _le(blob.tags),
        blob.labels or b"",
        _le(blob.removed),
    ]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def is_delta(data: bytes) -> bool:
    """Whether ``data`` claims to be a delta (header flags only; :func:`decode` verifies).

    A node answers a delta request with a full snapshot when the asked version predates its
    current delta range (a rebuilt store), so the asker reads which one it got.
    """
    return len(data) > _HEAD.size and bool(data[5] & FLAG_DELTA)


def _strictly_increasing(values: array[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def decode(data: bytes) -> IndexBlob:
    """Parse and verify a serialized index or delta.

    Raises:
        IndexIntegrityError: truncated, trailing data, bad magic or format, bad checksum,
            unsorted columns.
    """
    if len(data) < _HEAD.size + _COUNTS.size + _DIGEST:
        raise IndexIntegrityError("index blob truncated (shorter than its header)")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise IndexIntegrityError("index blob checksum mismatch (truncated or tampered)")
    magic, fmt, flags, country, epoch_len = _HEAD.unpack_from(body, 0)
    if magic != MAGIC:
        raise IndexIntegrityError("not an encrypted index (bad magic)")
    if fmt != FORMAT or flags & ~(FLAG_LABELS | FLAG_DELTA):
        raise IndexIntegrityError(f"unsupported index format {fmt} flags {flags}")
    pos = _HEAD.size
    try:
        epoch_id = body[pos : pos + epoch_len].decode("ascii")
        country_s = country.decode("ascii")
    except UnicodeDecodeError as exc:
        raise IndexIntegrityError("index header is not ASCII") from exc
    pos += epoch_len
    if len(body) < pos + _COUNTS.size:
        raise IndexIntegrityError("index blob truncated in its header")
    base, version, added, removed, total = _COUNTS.unpack_from(body, pos)
    pos += _COUNTS.size
    label_len = LABEL_LENGTH if flags & FLAG_LABELS else 0
    expected = pos + added * (TAG_LENGTH + label_len) + removed * TAG_LENGTH
    if len(body) != expected:
        raise IndexIntegrityError(f"index blob has {len(body)} bytes, header implies {expected}")
    tags = _from_le(body[pos : pos + added * TAG_LENGTH])
    pos += added * TAG_LENGTH
    labels = body[pos : pos + added * label_len] if label_len else None
    pos += added * label_len
    gone = _from_le(body[pos:])
    delta = bool(flags & FLAG_DELTA)
    if not (_strictly_increasing(tags) and _strictly_increasing(gone)):
        raise IndexIntegrityError("index columns are not sorted")
    if not delta and (base != 0 or removed or total != added):
        raise IndexIntegrityError("full index with delta fields set")
    if version < base or (delta and version == base and (added or removed)):
        raise IndexIntegrityError("index version precedes its base")
    return IndexBlob(country_s, epoch_id, base, version, tags, labels, gone, total, delta)
