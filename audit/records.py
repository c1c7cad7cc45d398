"""An append-only file of length-prefixed, checksummed records, durable on return.

Record: ``u32be(length) || u32be(crc32(payload)) || payload``. :meth:`RecordFile.append`
writes at the known end with ``os.pwrite`` and ``fsync``\\ s before returning; a failed write or
fsync truncates the file back to its last durable end and raises :class:`LogWriteError`, so
the file stays usable. On open, a torn final record (a crash mid-write) is detected and cut
off; a bad record followed by more data is corruption, not a crash, and is refused.
"""

from __future__ import annotations

import os
import struct
import zlib
from array import array
from collections.abc import Sequence
from pathlib import Path

from fedlookup.errors import LogWriteError, VerificationError

__all__ = ["MAX_RECORD", "RecordFile", "read_records"]

_HEADER = struct.Struct(">II")
MAX_RECORD = 1 << 20


def _scan(data: bytes, path: Path) -> tuple[list[bytes], int]:
    """Return the complete records and the offset where valid data ends."""
    records: list[bytes] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            break  # torn header
        length, crc = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if length > MAX_RECORD:
            if end >= len(data):
                break
            raise VerificationError(f"{path}: record at byte {offset} has an impossible length")
        if end > len(data):
            break  # torn payload
        payload = data[offset + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            if end == len(data):
                break  # torn final record (payload pages written out of order)
            raise VerificationError(f"{path}: record at byte {offset} fails its checksum")
        records.append(payload)
        offset = end
    return records, offset


def read_records(path: Path) -> list[bytes]:
    """Read the complete records of a record file without modifying it (readers, exports).

    Raises:
        VerificationError: corruption before the final record.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return _scan(data, path)[0]


class RecordFile:
    """A record file opened for appending by one writer.

    Args:
        path: the file; created if missing (and its directory entry fsynced).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        created = not path.exists()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if created:
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        with open(path, "rb") as fh:
            data = fh.read()
        records, self._end = _scan(data, path)
        #: The records found on open; the owner takes them and may drop this list.
        self.initial: list[bytes] = records
        self.count = len(records)
        self._offsets = array("Q")
        pos = 0
        for rec in records:
            self._offsets.append(pos)
            pos += _HEADER.size + len(rec)
        self._dirty = False
        self.truncated_bytes = len(data) - self._end
        if self.truncated_bytes:
            os.ftruncate(self._fd, self._end)
            os.fsync(self._fd)

    def append(self, payload: bytes) -> int:
        """Append one record durably; return its index.

        Raises:
            LogWriteError: the record could not be written and fsynced; nothing was appended.
        """
        return self.append_many([payload])[0]

    def append_many(self, payloads: Sequence[bytes]) -> list[int]:
        """Append records with one write and one ``fsync`` (group commit); return their indexes.

        All or nothing while the process runs: a failed write or ``fsync`` cuts the file back
        to its last durable end. A crash before this returns leaves a torn tail that the next
        open cuts off, as for :meth:`append`; a crash that tears the batch so that an early
        record is damaged while a later one survives is reported as corruption on open
        (fail closed, never silently accepted).

        Raises:
            LogWriteError: the records could not be written and fsynced; none was appended.
        """
        if not payloads:
            return []
        parts = []
        for payload in payloads:
            if len(payload) > MAX_RECORD:
                raise LogWriteError(f"{self.path}: record of {len(payload)} bytes is too large")
            parts.append(_HEADER.pack(len(payload), zlib.crc32(payload)))
            parts.append(payload)
        blob = b"".join(parts)
        try:
            if self._dirty:
                os.ftruncate(self._fd, self._end)
                self._dirty = False
            written = os.pwrite(self._fd, blob, self._end)
            if written != len(blob):
                raise OSError(f"short write ({written} of {len(blob)} bytes)")
            os.fsync(self._fd)
        except OSError as exc:
            self._rollback()
            raise LogWriteError(f"{self.path}: cannot write the audit log: {exc}") from exc
        first = self.count
        for payload in payloads:
            self._offsets.append(self._end)
            self._end += _HEADER.size + len(payload)
        self.count += len(payloads)
        return list(range(first, self.count))

    def _rollback(self) -> None:
        # After a failed fsync the page cache cannot be trusted: cut back to the durable end,
        # so the next append (or a restart) sees no half-written record.
        try:
            os.ftruncate(self._fd, self._end)
            os.fsync(self._fd)
        except OSError:
            self._dirty = True  # retried before the next write; a restart's scan also cuts it

    def read(self, index: int) -> bytes:
        """Return record ``index`` (read back from the file)."""
        if not 0 <= index < self.count:
            raise IndexError(f"no record {index} in {self.path}")
        offset = self._offsets[index]
        length, _ = _HEADER.unpack(os.pread(self._fd, _HEADER.size, offset))
        return os.pread(self._fd, length, offset + _HEADER.size)

    def close(self) -> None:
        """Close the file descriptor."""
        os.close(self._fd)
