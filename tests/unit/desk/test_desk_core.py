"""The desk's pure parts: list reading, exports, secrets, settings, the message catalogue."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fedlookup.errors import ConfigError, InputError
from node.desk import security
from node.desk.exports import render_export
from node.desk.i18n import catalogue, pick_language, translate
from node.desk.settings import DeskSettings
from node.desk.uploads import guess_columns, map_rows, parse_list

LATIN1_CSV = "Marque;Numéro de série;Observations\r\nHérstal;AB12345;saisie\r\n".encode("cp1252")


def test_semicolon_latin1_csv_is_detected() -> None:
    parsed = parse_list(LATIN1_CSV, "saisie.csv")
    assert (parsed.kind, parsed.encoding, parsed.delimiter) == ("csv", "windows-1252", ";")
    assert parsed.columns == ("Marque", "Numéro de série", "Observations")
    assert guess_columns(parsed.columns) == (0, 1)
    pairs, errors = map_rows(parsed, 0, 1)
    assert pairs == [("Hérstal", "AB12345")]
    assert errors == []


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        (b"make,serial\nGlock,ABC123\n", "utf-8", ","),
        ("\ufeffmake\tserial\nGlock\tABC123\n".encode(), "utf-8", "\t"),
        ("make|serial\nGlock|ABC123\n".encode("utf-16"), "utf-16", "|"),
    ],
)
def test_encodings_and_delimiters(data: bytes, encoding: str, delimiter: str) -> None:
    parsed = parse_list(data, "f.csv")
    assert (parsed.encoding, parsed.delimiter) == (encoding, delimiter)
    assert map_rows(parsed, 0, 1)[0] == [("Glock", "ABC123")]


def test_row_errors_name_the_file_line_and_field() -> None:
    data = b"make;serial\nGlock;ABC123\n\n;XYZ999\nCZ;1\n"
    pairs, errors = map_rows(parse_list(data, "f.csv"), 0, 1)
    assert len(pairs) == 3
    assert [(e.row, e.field) for e in errors] == [(4, "make"), (5, "serial")]


def test_forced_encoding_that_does_not_fit_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not utf-8"):
        parse_list(LATIN1_CSV, "saisie.csv", encoding="utf-8")


def test_xlsx_first_sheet() -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Serial number", "Make"])
    book.active.append(["ABC123", "Glock"])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = parse_list(buffer.getvalue(), "list.xlsx")
    assert parsed.kind == "xlsx"
    make, serial = guess_columns(parsed.columns)
    assert (make, serial) == (1, 0)
    assert map_rows(parsed, 1, 0)[0] == [("Glock", "ABC123")]


def test_not_a_workbook_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not an XLSX"):
        parse_list(b"PK\x03\x04garbage", "bad.xlsx")


DOC = {
    "schema": "fedlookup.check/v1",
    "results": [
        {"make": "=HYPERLINK(1)", "serial": "ABC123", "countries": {
            "FR": {"outcome": "hit", "matches": [{"category": "stolen", "reference": "FR-1"}],
                   "index_version": 3, "reason": ""},
            "NL": {"outcome": "unavailable", "matches": [], "index_version": None,
                   "reason": "timed out"}}},
    ],
}  # fmt: skip


def test_csv_export_defuses_formulas_and_keeps_rows() -> None:
    text = render_export(DOC, "csv").decode("utf-8-sig").splitlines()
    assert text[0] == "make,serial,country,outcome,category,reference,index_version,reason"
    assert text[1] == "'=HYPERLINK(1),ABC123,FR,hit,stolen,FR-1,3,"
    assert text[2].endswith(",NL,unavailable,,,,timed out")


def test_xlsx_and_json_exports() -> None:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(render_export(DOC, "xlsx"))).active
    assert [c.value for c in sheet[2]][:4] == ["'=HYPERLINK(1)", "ABC123", "FR", "hit"]
    assert json.loads(render_export(DOC, "json")) == DOC
    with pytest.raises(ValueError):
        render_export(DOC, "pdf")


def test_passwords_are_argon2id_and_verification_raises() -> None:
    stored = security.hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    security.verify_password(stored, "a long enough password")
    with pytest.raises(security.AuthenticationError):
        security.verify_password(stored, "another password")
    with pytest.raises(security.AuthenticationError):
        security.verify_password("not a hash", "x")


def test_totp_matches_rfc_6238_vector_and_rejects_wrong_codes() -> None:
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T=59 -> 94287082 (8 digits).
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert security.totp_code(secret, at=59) == "287082"
    security.verify_totp(secret, "287082", at=59 + 30)  # one step of drift
    with pytest.raises(security.AuthenticationError):
        security.verify_totp(secret, "287082", at=59 + 90)
    with pytest.raises(security.AuthenticationError):
        security.verify_totp(secret, "", at=59)


def test_tokens_are_stored_hashed() -> None:
    token = security.new_secret()
    assert len(token) >= 43
    assert security.secret_hash(token) != token
    assert len(security.secret_hash(token)) == 64


def _node_toml(tmp_path: Path, desk: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(desk, encoding="utf-8")
    return path


def test_settings_defaults_and_environment(tmp_path: Path) -> None:
    path = _node_toml(tmp_path, "[node]\ncountry = 'DE'\n")
    s = DeskSettings.from_toml(path, tmp_path / "data", env={})
    assert s.listen == "127.0.0.1:8080"
    assert s.database.endswith("data/desk.sqlite3")
    env = {"FEDLOOKUP_DESK_LISTEN": "127.0.0.2:9000", "FEDLOOKUP_DESK_ITEMS_PER_DAY": "7"}
    s = DeskSettings.from_toml(path, tmp_path, env=env)
    assert (s.listen, s.items_per_day) == ("127.0.0.2:9000", 7)


@pytest.mark.parametrize(
    ("desk", "field"),
    [
        ("listen = '0.0.0.0:8080'", "desk.listen"),
        ("colour = 'blue'", "desk.colour"),
        ("items_per_day = 0", "desk.items_per_day"),
        ("language = 'de'", "desk.language"),
        ("tls_cert = 'c.pem'", "desk.tls_key"),
    ],
)
def test_bad_settings_name_the_field(tmp_path: Path, desk: str, field: str) -> None:
    path = _node_toml(tmp_path, f"[desk]\n{desk}\n")
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        DeskSettings.from_toml(path, tmp_path, env={})


def test_every_language_has_every_english_message() -> None:
    english = set(catalogue("en"))
    assert set(catalogue("fr")) == english
    assert translate("fr", "check.meta", items=2, who="ida", purpose="p").startswith("2 armes")
    assert pick_language(None, "fr-FR,fr;q=0.9,en;q=0.8", "en") == "fr"
    assert pick_language("en", "fr-FR", "fr") == "en"
    assert pick_language(None, "de-DE", "fr") == "fr"


def test_templates_use_only_catalogue_keys() -> None:
    import re

    folder = Path(__file__).resolve().parents[3] / "node" / "desk" / "templates"
    keys = set()
    for template in folder.glob("*.html"):
        keys |= set(
            re.findall(r"""t\(\s*["']([a-z_]+\.[a-z_.-]+)["']\s*[,)]""", template.read_text())
        )
    assert keys
    assert keys <= set(catalogue("en")), keys - set(catalogue("en"))


def test_templates_have_no_inline_script_style_or_handlers() -> None:
    """The CSP forbids inline code; a template that had some would break in browsers."""
    import re

    folder = Path(__file__).resolve().parents[3] / "node" / "desk" / "templates"
    for template in folder.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "<style" not in text, template.name
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
