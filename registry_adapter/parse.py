"""Reading registry files (CSV, JSON Lines) row by row, in constant memory.

Every row becomes either a :class:`Row` ready to stage or a :class:`Reject` naming its line,
field and reason; nothing is dropped silently. Bytes that are not UTF-8 survive decoding as
surrogates (``surrogateescape``) so the row can still be located and the bad field named.
"""

from __future__ import annotations

import csv
import json
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

from fedlookup.errors import InputError
from registry_adapter.canonical_v2 import identify
from registry_adapter.models import Category
from registry_adapter.row_warnings import RowWarnings, Warn

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "FileFormat",
    "Reject",
    "Row",
    "detect_format",
    "read_file",
]

REQUIRED_COLUMNS = ("record_id", "make", "model", "caliber", "serial", "category", "recorded_at")
OPTIONAL_COLUMNS = ("notes",)
_MAX_LEN = {"record_id": 128, "make": 200, "model": 200, "caliber": 100, "serial": 200}

FileFormat = Literal["csv", "jsonl"]
_CATEGORIES = {c.value: c.value for c in Category}


class Row(NamedTuple):
    """A valid row, as staged for the upsert (``line`` orders the change feed)."""

    line: int
    record_id: str
    make: str
    model: str
    caliber: str
    serial: str
    category: str
    recorded_at: datetime
    notes: str | None


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that was not imported, and why."""

    line: int
    field: str
    reason: str
    record_id: str = ""


def detect_format(path: Path) -> FileFormat:
    """Choose CSV or JSON Lines from the file name (``.jsonl``/``.ndjson`` vs ``.csv``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if any(s in (".jsonl", ".ndjson") for s in suffixes):
        return "jsonl"
    return "csv"


def _undecodable(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parse_date(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _reject_bad_bytes(line: int, values: dict[str, str], rid: str) -> Reject | None:
    for name, value in values.items():
        if _undecodable(value):
            return Reject(
                line, name, "undecodable bytes (not UTF-8)", "" if name == "record_id" else rid
            )
    return None


def validate(line: int, values: dict[str, str], warn: Warn | None = None) -> Row | Reject:
    """Check one row's values (keyed by column name) and build a :class:`Row`.

    The checks run in a fixed order and the first failure names its field: bytes, presence
    of ``record_id``, ``make``, ``serial``, ``category``, ``recorded_at``, lengths, then the
    content of each (make and serial through identifier rules v2, exactly as ``check``
    validates them; known category; ISO date). ``warn(line, record_id, message)`` receives
    what looks suspicious in a row that is accepted (an unknown make, a label prefix).
    """
    get = values.get
    rid = get("record_id", "").strip()
    joined = "".join(values.values())
    if not joined.isascii():
        bad = _reject_bad_bytes(line, values, rid)
        if bad is not None:
            return bad
    if "\x00" in joined:
        # PostgreSQL text cannot hold NUL; refuse it everywhere so both stores agree.
        name = next(k for k, v in values.items() if "\x00" in v)
        return Reject(line, name, "contains a NUL character", "" if name == "record_id" else rid)
    if not rid:
        return Reject(line, "record_id", "missing")
    make = get("make", "").strip()
    serial = get("serial", "").strip()
    category = get("category", "").strip()
    stamp = get("recorded_at", "").strip()
    model = get("model", "").strip()
    caliber = get("caliber", "").strip()
    if not serial:
        return Reject(line, "serial", "missing", rid)
    if not category:
        return Reject(line, "category", "missing", rid)
    if not stamp:
        return Reject(line, "recorded_at", "missing", rid)
    if (
        len(rid) > 128
        or len(make) > 200
        or len(model) > 200
        or len(caliber) > 100
        or len(serial) > 200
    ):
        for name, value in (
            ("record_id", rid),
            ("make", make),
            ("model", model),
            ("caliber", caliber),
        ):
            if len(value) > _MAX_LEN[name]:
                return Reject(line, name, f"longer than {_MAX_LEN[name]} characters", rid)
        return Reject(line, "serial", f"longer than {_MAX_LEN['serial']} characters", rid)
    try:
        ids = identify(make, serial)
    except InputError as exc:
        return Reject(line, exc.field or "serial", exc.reason, rid)
    if warn is not None:
        for message in ids.warnings:
            warn(line, rid, message)
    cat = _CATEGORIES.get(category.lower())
    if cat is None:
        return Reject(line, "category", f"unknown category {category!r}", rid)
    try:
        recorded_at = _parse_date(stamp)
    except ValueError:
        return Reject(line, "recorded_at", "not an ISO 8601 date or date-time", rid)
    return Row(line, rid, make, model, caliber, serial, cat, recorded_at, get("notes") or None)


def _check_header(path: Path, header: Sequence[str], warnings: list[str]) -> None:
    for name in REQUIRED_COLUMNS:
        if name not in header:
            raise InputError(
                f"missing column {name!r} in header", file=str(path), line=1, field=name
            )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"column {name!r} appears twice", file=str(path), line=1, field=name)
        seen.add(name)
    extra = [h for h in header if h not in REQUIRED_COLUMNS and h not in OPTIONAL_COLUMNS]
    if extra:
        warnings.append(f"{path}: ignoring extra columns: {', '.join(extra)}")


def _read_csv(path: Path, fh: IO[str], warnings: list[str], warn: Warn) -> Iterator[Row | Reject]:
    reader = csv.reader(fh, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file, expected a header line", file=str(path), line=1) from None
    except csv.Error as exc:
        raise InputError(f"malformed header: {exc}", file=str(path), line=1) from exc
    header = [h.strip().lstrip("\ufeff").strip().lower() for h in header]
    _check_header(path, header, warnings)
    width = len(header)
    wanted = [
        (i, h) for i, h in enumerate(header) if h in REQUIRED_COLUMNS or h in OPTIONAL_COLUMNS
    ]
    names = [h for _, h in wanted]
    pick = operator.itemgetter(*(i for i, _ in wanted))
    end = reader.line_num
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The csv module cannot resynchronise after a broken quote: stop here, loudly.
            raise InputError(f"malformed CSV: {exc}", file=str(path), line=start) from exc
        end = reader.line_num
        if not fields:
            continue
        if len(fields) > width:
            yield Reject(start, "-", f"more values ({len(fields)}) than header columns ({width})")
            continue
        if len(fields) < width:
            # Trailing ignored columns may be left off; a wanted one may not.
            lost = [h for i, h in wanted if i >= len(fields) and h in REQUIRED_COLUMNS]
            if lost:
                yield Reject(start, lost[0], f"missing: the row has only {len(fields)} values")
                continue
            yield validate(start, {h: fields[i] for i, h in wanted if i < len(fields)}, warn)
            continue
        yield validate(start, dict(zip(names, pick(fields), strict=True)), warn)


def _read_jsonl(path: Path, fh: IO[str], warnings: list[str], warn: Warn) -> Iterator[Row | Reject]:
    extra_seen: set[str] = set()
    seen_any = False
    for line, raw in enumerate(fh, start=1):
        text = raw.lstrip("\ufeff") if line == 1 else raw
        if not text.strip():
            continue
        seen_any = True
        if _undecodable(text):
            yield Reject(line, "-", "undecodable bytes (not UTF-8)")
            continue
        try:
            obj: Any = json.loads(text)
        except ValueError as exc:
            yield Reject(line, "-", f"not valid JSON: {exc.args[0] if exc.args else exc}")
            continue
        if not isinstance(obj, dict):
            yield Reject(line, "-", "not a JSON object")
            continue
        values: dict[str, str] = {}
        bad = None
        for key, value in obj.items():
            if key not in REQUIRED_COLUMNS and key not in OPTIONAL_COLUMNS:
                if key not in extra_seen:
                    extra_seen.add(key)
                    warnings.append(f"{path}:{line}: ignoring extra field {key!r}")
                continue
            if value is None:
                continue
            if isinstance(value, int) and not isinstance(value, bool) and key == "record_id":
                value = str(value)
            if not isinstance(value, str):
                bad = Reject(line, key, f"expected a string, got {type(value).__name__}")
                break
            values[key] = value
        yield bad or validate(line, values, warn)
    if not seen_any:
        # Like an empty CSV (no header): a file with nothing in it is a mistake, never an
        # import of zero records (with --replace it would empty the registry).
        raise InputError("empty file, expected one JSON object per line", file=str(path), line=1)


def read_file(
    path: Path, fmt: FileFormat | None = None, warnings: list[str] | None = None
) -> Iterator[Row | Reject]:
    """Stream the rows of a registry file.

    Args:
        path: the CSV or JSON Lines file.
        fmt: ``"csv"`` or ``"jsonl"``; from the file name when ``None``.
        warnings: list that receives non-fatal findings (extra columns, suspicious rows:
            the first few with their line, then a count per kind).

    Yields:
        A :class:`Row` or a :class:`Reject` per data line, in file order.

    Raises:
        InputError: the file cannot be opened, has no usable header, or its CSV quoting is
            broken beyond recovery (naming the file and line).
    """
    sink = warnings if warnings is not None else []
    kind = fmt or detect_format(path)
    try:
        fh = path.open(encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", file=str(path)) from exc
    rows = RowWarnings(str(path))
    with fh:
        if kind == "csv":
            yield from _read_csv(path, fh, sink, rows.add)
        else:
            yield from _read_jsonl(path, fh, sink, rows.add)
    sink.extend(rows.summary())
