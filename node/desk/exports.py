"""A check's result as a file: CSV, XLSX or JSON (the ``fedlookup.check/v1`` document).

CSV and XLSX hold one row per firearm per country, with the columns of
:data:`COLUMNS`; several matching records in one country are joined with ``; ``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

__all__ = ["COLUMNS", "MEDIA_TYPES", "export_rows", "render_export"]

COLUMNS = (
    "make", "serial", "country", "outcome", "category", "reference", "index_version", "reason",
)  # fmt: skip
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_rows(document: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """One row per firearm per country, in the order of :data:`COLUMNS`."""
    for result in document["results"]:
        for country, answer in result["countries"].items():
            matches = answer["matches"]
            version = answer["index_version"]
            yield (
                result["make"],
                result["serial"],
                country,
                answer["outcome"],
                "; ".join(m["category"] for m in matches),
                "; ".join(m["reference"] for m in matches),
                "" if version is None else str(version),
                answer["reason"],
            )


def render_export(document: dict[str, Any], fmt: str) -> bytes:
    """The document as ``csv``, ``xlsx`` or ``json`` bytes.

    Raises:
        ValueError: another format.
    """
    if fmt == "json":
        return json.dumps(document, indent=2, sort_keys=True).encode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(_safe(row) for row in export_rows(document))
        return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("results")
        sheet.append(list(COLUMNS))
        for row in export_rows(document):
            sheet.append(list(_safe(row)))
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    raise ValueError(fmt)


def _safe(row: tuple[str, ...]) -> tuple[str, ...]:
    """Defuse spreadsheet formulas in cells that came from outside (CSV injection)."""
    return tuple("'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row)
