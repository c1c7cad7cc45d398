"""Reading a seizure list as it arrives: CSV in any delimiter and encoding, or XLSX.

:func:`parse_list` detects the format, the encoding (UTF-8 with or without BOM, UTF-16 with
BOM, else Windows-1252, the Latin-1 superset Excel writes in western Europe) and the
delimiter (``,`` ``;`` tab ``|``), and returns the header and rows; the console shows what it
found for the investigator to confirm or change. :func:`guess_columns` proposes the make and
serial columns from common header names in English, French, German and Dutch.
:func:`map_rows` turns the rows into (make, serial) pairs and names each bad row by its line
in the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass

from fedlookup.errors import InputError
from node.desk.asking import RowError, firearm_items

__all__ = ["ENCODINGS", "ParsedList", "guess_columns", "map_rows", "parse_list"]

#: Encodings an investigator may pick on the preview page.
ENCODINGS = ("utf-8", "windows-1252", "iso-8859-1", "utf-16")
_DELIMITERS = ",;\t|"
_MAX_ROWS = 100_000
_MAKE_NAMES = ("make", "manufacturer", "marque", "fabricant", "hersteller", "merk", "fabrikat")
_SERIAL_NAMES = (
    "serial", "serial number", "serial_number", "serialnumber", "numéro de série",
    "numero de serie", "n° de série", "seriennummer", "serienummer", "série", "serie",
)  # fmt: skip


@dataclass(frozen=True)
class ParsedList:
    """A list as read: what was detected, the header and the rows with their file lines."""

    kind: str
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]


def parse_list(
    data: bytes, filename: str, *, encoding: str | None = None, delimiter: str | None = None
) -> ParsedList:
    """Read an uploaded CSV or XLSX file.

    Args:
        data: the file's bytes.
        filename: its name (for messages).
        encoding: force this encoding instead of detecting it (CSV).
        delimiter: force this delimiter instead of sniffing it (CSV).

    Raises:
        InputError: unreadable file, no header, too many rows (naming the file).
    """
    if data[:4] == b"PK\x03\x04":
        return _xlsx(data, filename)
    text, found = _decode(data, filename, encoding)
    if not text.strip():
        raise InputError("the file is empty", file=filename)
    sep = delimiter or _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    try:
        for record in reader:
            if not header:
                header = tuple(c.strip() for c in record)
                continue
            if not any(c.strip() for c in record):
                continue
            rows.append(tuple(record))
            lines.append(reader.line_num)
            if len(rows) > _MAX_ROWS:
                raise InputError(f"more than {_MAX_ROWS} rows", file=filename)
    except csv.Error as exc:
        raise InputError(f"not CSV: {exc}", file=filename, line=reader.line_num) from exc
    if not header:
        raise InputError("no header row", file=filename, line=1)
    return ParsedList("csv", found, sep, header, tuple(rows), tuple(lines))


def _decode(data: bytes, filename: str, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        if encoding not in ENCODINGS:
            raise InputError(f"unknown encoding {encoding!r}", file=filename, field="encoding")
        try:
            return data.decode("utf-8-sig" if encoding == "utf-8" else encoding), encoding
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not {encoding} text (byte offset {exc.start})", file=filename
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("windows-1252"), "windows-1252"
    except UnicodeDecodeError:  # five bytes are undefined in 1252; Latin-1 maps them all
        return data.decode("iso-8859-1"), "iso-8859-1"


def _sniff(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.splitlines()[0]
        return max(_DELIMITERS, key=header.count)


def _xlsx(data: bytes, filename: str) -> ParsedList:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"not an XLSX workbook: {exc}", file=filename) from exc
    sheet = book.worksheets[0]
    header: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = tuple("" if v is None else str(v) for v in values)
        if not header:
            if any(c.strip() for c in cells):
                header = tuple(c.strip() for c in cells)
            continue
        if any(c.strip() for c in cells):
            rows.append(cells)
            lines.append(number)
        if len(rows) > _MAX_ROWS:
            raise InputError(f"more than {_MAX_ROWS} rows", file=filename)
    book.close()
    if not header:
        raise InputError("no header row in the first sheet", file=filename, line=1)
    return ParsedList("xlsx", "", "", header, tuple(rows), tuple(lines))


def guess_columns(columns: tuple[str, ...]) -> tuple[int | None, int | None]:
    """Indexes of the likely make and serial columns (``None`` when no name fits)."""
    lowered = [c.strip().lower() for c in columns]

    def find(names: tuple[str, ...]) -> int | None:
        return next((i for i, c in enumerate(lowered) if c in names), None)

    return find(_MAKE_NAMES), find(_SERIAL_NAMES)


def map_rows(
    parsed: ParsedList, make_column: int, serial_column: int
) -> tuple[list[tuple[str, str]], list[RowError]]:
    """The (make, serial) pairs of the list, and every bad row named by its file line.

    Raises:
        InputError: a column index outside the header.
    """
    for name, index in (("make", make_column), ("serial", serial_column)):
        if not 0 <= index < len(parsed.columns):
            raise InputError(f"column {index + 1} is not in the header", field=name)
    pairs = [(_cell(row, make_column), _cell(row, serial_column)) for row in parsed.rows]
    _, errors = firearm_items(pairs)
    located = [RowError(parsed.lines[e.row - 1], e.field, e.message) for e in errors]
    if not pairs:
        located.append(RowError(1, "", "no firearms in the file"))
    return pairs, located


def _cell(row: tuple[str, ...], index: int) -> str:
    return row[index].strip() if index < len(row) else ""
