"""``import_file``: a registry file into the embedded store, all or nothing per transaction.

Rejected rows go to ``<input>.rejects.csv`` beside the input (``line,field,reason,record_id``),
written to a temporary file and renamed into place, so a crash never leaves half a report.
A reject file from an earlier run is removed when the new run has no rejects.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import sqlalchemy as sa

from fedlookup.errors import ImportRejectedError, InputError
from registry_adapter.db import translate_errors
from registry_adapter.parse import FileFormat, Reject, detect_format, read_file
from registry_adapter.staging import drop_staging, new_staging_table, stage_and_apply

if TYPE_CHECKING:
    from _csv import Writer

__all__ = ["ImportSummary", "import_file", "rejects_path_for"]

REJECTS_HEADER = ("line", "field", "reason", "record_id")


@dataclass(frozen=True)
class ImportSummary:
    """The outcome of one import.

    Attributes:
        path: the input file.
        format: ``"csv"`` or ``"jsonl"``.
        rows: data rows read (header and blank lines excluded).
        inserted: records new to the store (or revived after removal).
        updated: records whose content changed.
        unchanged: records already stored with identical content.
        removed: records removed because a ``replace`` import did not hold them.
        rejected: rows not imported (see ``rejects_path``).
        rejects_path: the rejects file, ``None`` when nothing was rejected.
        first_rejects: up to ten rejects, for a quick look without opening the file.
        warnings: non-fatal findings (extra columns).
        watermark_seq: the store's change sequence after the import.
        seconds: wall time of the import.
    """

    path: Path
    format: FileFormat
    rows: int
    inserted: int
    updated: int
    unchanged: int
    removed: int
    rejected: int
    rejects_path: Path | None
    first_rejects: tuple[Reject, ...]
    warnings: tuple[str, ...]
    watermark_seq: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        """Throughput of the import."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def rejects_path_for(path: Path) -> Path:
    """Where the rejects of ``path`` are written: beside it, ``<name>.rejects.csv``."""
    return path.with_name(path.name + ".rejects.csv")


class _RejectSink:
    """Streams rejects into a temporary file beside the input."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.count = 0
        self.first: list[Reject] = []
        self._tmp: str | None = None
        self._fh: IO[str] | None = None
        self._writer: Writer | None = None
        self._done = False

    def __call__(self, reject: Reject) -> None:
        if self._fh is None:
            try:
                fd, self._tmp = tempfile.mkstemp(
                    prefix=f".{self.target.name}.", dir=self.target.parent
                )
            except OSError as exc:
                raise InputError(
                    f"cannot write the rejects file beside the input: {exc.strerror}",
                    file=str(self.target),
                ) from exc
            self._fh = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(REJECTS_HEADER)
        assert self._writer is not None
        self._writer.writerow((reject.line, reject.field, reject.reason, reject.record_id))
        self.count += 1
        if len(self.first) < 10:
            self.first.append(reject)

    def finish(self) -> Path | None:
        """Publish the rejects file (or remove a stale one); returns its path or ``None``."""
        if self._done:
            return self.target if self.count else None
        self._done = True
        if self._fh is None:
            with contextlib.suppress(FileNotFoundError):
                self.target.unlink()
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        assert self._tmp is not None
        os.replace(self._tmp, self.target)
        return self.target

    def abandon(self) -> None:
        if self._fh is not None and not self._done:
            self._fh.close()
            assert self._tmp is not None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)


@contextlib.contextmanager
def _sink(target: Path) -> Iterator[_RejectSink]:
    sink = _RejectSink(target)
    try:
        yield sink
    except BaseException:
        sink.abandon()
        raise


def import_file(
    engine: sa.Engine,
    path: Path,
    *,
    strict: bool = False,
    fmt: FileFormat | None = None,
    progress: Callable[[int], None] | None = None,
    replace: bool = False,
) -> ImportSummary:
    """Import a CSV or JSON Lines file into the store behind ``engine`` (already migrated).

    Args:
        engine: the store's engine.
        path: the input file.
        strict: refuse the whole file, writing nothing, if any row is rejected.
        fmt: ``"csv"`` or ``"jsonl"``; from the file name when ``None``.
        progress: called with the number of rows read, every few thousand rows.
        replace: the file is the whole registry: live records it does not hold are removed
            (tombstoned). Implies ``strict``: a bad row must not remove its record.

    Returns:
        What was inserted, updated, left unchanged and rejected.

    Raises:
        ImportRejectedError: ``strict`` and at least one row was rejected (the rejects file
            is still written); nothing was written to the store.
        InputError: the file is unreadable or structurally broken (header, quoting);
            nothing was written.
        RegistryUnavailableError: the database cannot be reached.
    """
    started = time.perf_counter()
    strict = strict or replace
    kind = fmt or detect_format(path)
    warnings: list[str] = []
    rows = 0

    def count(n: int) -> None:
        nonlocal rows
        rows = n
        if progress is not None:
            progress(n)

    with _sink(rejects_path_for(path)) as sink:

        def refuse_if_strict() -> None:
            if replace and rows == 0:
                raise InputError(
                    "holds no records: replacing the registry with it would remove every record",
                    file=str(path),
                )
            if strict and sink.count:
                first = sink.first[0]
                published = sink.finish()
                raise ImportRejectedError(
                    f"{first.reason}; {sink.count} row(s) rejected, nothing written "
                    f"(all rejects in {published})",
                    file=str(path),
                    line=first.line,
                    field=first.field,
                )

        staging = new_staging_table()
        with translate_errors(f"importing {path}"), engine.connect() as conn:
            try:
                with conn.begin():
                    counts = stage_and_apply(
                        conn,
                        staging,
                        read_file(path, kind, warnings),
                        sink,
                        progress=count,
                        before_apply=refuse_if_strict,
                        replace=replace,
                    )
            finally:
                drop_staging(conn, staging)
        published = sink.finish()
    return ImportSummary(
        path=path,
        format=kind,
        rows=rows,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        removed=counts.removed,
        rejected=sink.count,
        rejects_path=published,
        first_rejects=tuple(sink.first),
        warnings=tuple(warnings),
        watermark_seq=counts.last_seq,
        seconds=time.perf_counter() - started,
    )
