"""``fedlookup check``: reading the firearms to check, and writing results for scripts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from federation.hitcheck_types import CheckItem, CheckResult, CountryAnswer, Outcome, PeerReport
from federation.labels import Label
from fedlookup.errors import InputError
from fedlookup.identifiers import Identifiers
from node.ask.check_render import CSV_COLUMNS, render_csv, render_table
from node.cli.check import read_items


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_single_firearm_from_the_options() -> None:
    [item] = read_items(None, "S&W", "ab-12345")
    assert (item.make, item.serial) == ("S&W", "ab-12345")
    assert item.identifiers.make_serial.startswith(b"v1|")


def test_a_csv_in_any_column_order_with_a_bom_and_blank_lines(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeffSerial,notes,Make\nAB12345,x,Glock\n,,\nCD67890,,Beretta\n")
    items = read_items(path, None, None)
    assert [(i.make, i.serial) for i in items] == [("Glock", "AB12345"), ("Beretta", "CD67890")]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("make,model\nGlock,17\n", 1, "serial"),
        ("make,serial\nGlock,AB12345\nGlock,\n", 3, "serial"),
        ("make,serial\n,AB12345\n", 2, "make"),
        ("make,serial\nGlock,N/A\n", 2, "serial"),
    ],
)
def test_bad_rows_are_refused_naming_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str
) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_items(path, None, None)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), line, field)


def test_options_and_file_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not both"):
        read_items(_csv(tmp_path, "make,serial\nGlock,AB12345\n"), "Glock", None)


def _result() -> CheckResult:
    item = CheckItem("Glock", "AB12345", Identifiers(b"v1|MS|GLOCK|AB12345", b"v1|S|AB12345"))
    hit = CountryAnswer(Outcome.HIT, (Label("stolen", "FR-0000-0000-0000-0001"),), 3, 41.0)
    down = CountryAnswer(Outcome.UNAVAILABLE, reason="NodeInfo: no answer before the deadline")
    return CheckResult(
        items=(item,),
        answers=({"FR": hit, "NL": down},),
        peers={
            "FR": PeerReport("FR", "answered", index_version=3, latency_ms=41.0),
            "NL": PeerReport("NL", "unavailable", "NodeInfo: no answer before the deadline"),
        },
        elapsed_ms=42.0,
    )


def test_json_follows_the_documented_schema() -> None:
    doc = json.loads(json.dumps(_result().to_json()))
    assert doc["schema"] == "fedlookup.check/v1"
    assert doc["complete"] is False
    assert doc["summary"] == {"hit": 1, "possible": 0, "no-hit": 0, "unavailable": 1, "refused": 0}
    fr = doc["results"][0]["countries"]["FR"]
    assert fr["matches"] == [{"category": "stolen", "reference": "FR-0000-0000-0000-0001"}]
    assert doc["peers"]["NL"]["status"] == "unavailable"


def test_csv_has_one_row_per_firearm_per_country() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(_result()))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["country"], r["outcome"]) for r in rows] == [("FR", "hit"), ("NL", "unavailable")]
    assert rows[1]["reason"].endswith("deadline")


def test_the_table_says_when_a_check_is_incomplete() -> None:
    out = io.StringIO()
    render_table(_result(), Console(file=out, width=120), show_all=True)
    text = out.getvalue()
    assert "FR-0000-0000-0000-0001" in text
    assert "INCOMPLETE" in text


GRPC_ERROR = (
    "Evaluate: <_MultiThreadedRendezvous of RPC that terminated with: status = "
    'StatusCode.UNAVAILABLE details = "failed to connect to all addresses; last error: '
    'UNKNOWN: ipv4:127.0.0.1:7442: Failed to connect to remote host: Connection refused" '
    'debug_error_string = "UNKNOWN:Error received from peer {grpc_status:14}">'
)


def _long_result() -> CheckResult:
    item = CheckItem(
        "Smith & Wesson Inc.", "SW-0123456789-ABCDEF", Identifiers(b"v1|MS|SW|0123", b"v1|S|0123")
    )
    hit = CountryAnswer(Outcome.HIT, (Label("stolen", "FR-5F62-E077-EDC8-388B"),), 3, 41.0)
    down = CountryAnswer(Outcome.UNAVAILABLE, reason=GRPC_ERROR)
    return CheckResult(
        items=(item,),
        answers=({"FR": hit, "NL": down},),
        peers={
            "FR": PeerReport("FR", "answered", index_version=3, latency_ms=41.0),
            "NL": PeerReport("NL", "unavailable", GRPC_ERROR),
        },
        elapsed_ms=42.0,
    )


@pytest.mark.parametrize("show_all", [False, True])
def test_a_long_peer_error_never_hides_make_serial_or_result(show_all: bool) -> None:
    out = io.StringIO()
    render_table(_long_result(), Console(file=out, width=120), show_all=show_all)
    text = out.getvalue()
    for value in ("Smith & Wesson Inc.", "SW-0123456789-ABCDEF", "FR-5F62-E077-EDC8-388B"):
        assert value in text  # whole, on one line
    assert "unavailable" in text
    assert "hit" in text
    [why] = [line for line in text.splitlines() if line.startswith("NL: ")]
    if show_all:
        assert GRPC_ERROR in text.replace("\n", "")  # the whole reason, wrapped
    else:
        assert why.endswith("…") or "…" in text  # shortened; CSV/JSON/--all carry it whole


def test_a_narrow_terminal_folds_values_instead_of_cutting_them() -> None:
    out = io.StringIO()
    render_table(_long_result(), Console(file=out, width=60), show_all=False)
    lines = out.getvalue().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("┡")) + 1
    body = [line for line in lines[start:] if line.startswith("│")]
    cells = ["".join(line.split("│")[col].strip() for line in body) for col in range(1, 7)]
    make, serial, country, outcome, category, reference = (c.replace(" ", "") for c in cells)
    assert (make, serial, country, outcome) == (
        "Smith&WessonInc.",
        "SW-0123456789-ABCDEF",
        "FR",
        "hit",
    )
    assert (category, reference) == ("stolen", "FR-5F62-E077-EDC8-388B")
