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
    assert item.identifiers.make_serial == b"v2|MS|SMITHWESSON|AB12345"
    assert item.items() == (b"v2|MS|SMITHWESSON|AB12345", b"v2|S|AB12345")


@pytest.mark.parametrize("serial", ["N/A", "sans numéro", "без номера", "0000", "x" * 10_000])
def test_a_single_firearm_that_import_would_reject_is_an_error(serial: str) -> None:
    with pytest.raises(InputError) as caught:
        read_items(None, "Glock", serial)
    assert caught.value.field == "serial"
    assert serial not in str(caught.value)


@pytest.mark.parametrize("make", ["", "?", "-", "Unknown", "unbekannt"])
def test_an_unknown_make_is_checked_by_serial_only_with_a_warning(make: str) -> None:
    warnings: list[str] = []
    [item] = read_items(None, make, "AB12345", warnings=warnings)
    assert item.items() == (b"v2|S|AB12345",)
    assert item.hit_items == 0
    assert any("make: unknown" in w for w in warnings)


def test_a_csv_in_any_column_order_with_a_bom_and_blank_lines(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeffSerial,notes,Make\nAB12345,x,Glock\n,,\nCD67890,,Beretta\n")
    items = read_items(path, None, None)
    assert [(i.make, i.serial) for i in items] == [("Glock", "AB12345"), ("Beretta", "CD67890")]


def test_a_file_without_a_serial_column_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "make,model\nGlock,17\n")
    with pytest.raises(InputError) as caught:
        read_items(path, None, None)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 1, "serial")


def test_bad_rows_are_refused_one_by_one_and_the_rest_is_checked(tmp_path: Path) -> None:
    text = "make,serial\nGlock,AB12345\nGlock,\n?,CD67890\nGlock,N/A\nGlock," + "9" * 300
    warnings: list[str] = []
    items = read_items(_csv(tmp_path, text + "\n"), None, None, warnings=warnings)
    assert [bool(i.refusal) for i in items] == [False, True, False, True, True]
    assert items[1].refusal == "line 3: serial: missing"
    assert "placeholder" in items[3].refusal
    assert "longer than 200" in items[4].refusal
    assert items[2].items() == (b"v2|S|CD67890",)
    assert any(":4: make: unknown" in w for w in warnings), warnings
    assert all("CD67890" not in w for w in warnings)


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
    assert doc["summary"] == {
        "hit": 1, "possible": 0, "no-hit": 0, "unavailable": 1, "refused": 0, "not-checked": 0
    }  # fmt: skip
    assert doc["results"][0]["items"] == 2
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
