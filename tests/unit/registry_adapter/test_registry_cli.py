"""``fedlookup registry``: generate, import (exit codes, rejects, --strict), stats, migrate."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fedlookup.errors import ImportRejectedError
from node.cli.main import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["registry", *args])
    return result.exit_code, result.stdout, result.exception


def test_generate_import_stats_round_trip(tmp_path: Path) -> None:
    out, db = tmp_path / "cz.csv", f"sqlite:///{tmp_path / 'r.db'}"
    code, text, _ = run("generate", "--country", "CZ", "--records", "300", "--seed", "4",
                        "--out", str(out), "--json")  # fmt: skip
    assert code == 0
    assert json.loads(text)["records"] == 300
    code, text, _ = run("import", str(out), "--db", db, "--json")
    assert code == 0
    summary = json.loads(text)
    assert (summary["inserted"], summary["rejected"]) == (300, 0)
    code, text, _ = run("stats", "--db", db, "--json")
    assert code == 0
    st = json.loads(text)
    assert st["records"] == 300
    assert sum(st["by_category"].values()) == 300
    code, text, _ = run("migrate", "--db", db, "--json")
    assert code == 0
    assert json.loads(text)["revision"]


def test_import_with_rejects_exits_1_and_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "record_id,make,model,caliber,serial,category,recorded_at\n"
        "A1,Glock,17,9mm,ABC123,registered,2020-01-01\n"
        "A2,Glock,17,9mm,ABC124,misplaced,2020-01-01\n"
    )
    result = runner.invoke(app, ["registry", "import", str(path), "--db", str(tmp_path / "r.db")])
    assert result.exit_code == 1
    assert f"{path}:3: category: unknown category 'misplaced'" in result.stderr
    assert "1 inserted" in result.stdout


def test_strict_import_raises_for_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "record_id,make,model,caliber,serial,category,recorded_at\n"
        "A1,Glock,17,9mm,,registered,2020-01-01\n"
    )
    _, _, exc = run("import", str(path), "--db", str(tmp_path / "r.db"), "--strict")
    assert isinstance(exc, ImportRejectedError)  # node.cli.main.main turns it into exit code 2
    assert (exc.line, exc.field) == (2, "serial")


def test_generate_env_default_db(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FEDLOOKUP_REGISTRY_URL", str(tmp_path / "env.db"))
    out = tmp_path / "x.csv"
    assert run("generate", "--country", "PL", "--records", "20", "--out", str(out))[0] == 0
    assert run("import", str(out))[0] == 0
    assert (tmp_path / "env.db").exists()


def test_registry_taken_from_the_node_configuration(tmp_path: Path) -> None:
    from node.ops.bootstrap import render_config

    cfg = tmp_path / "node.toml"
    cfg.write_text(render_config("LU", listen="127.0.0.1:7443", registry_url="sqlite:///data/r.db"))
    (tmp_path / "data").mkdir()
    out = tmp_path / "lu.csv"
    assert run("generate", "--country", "LU", "--records", "30", "--out", str(out))[0] == 0
    code, _, exc = run("import", str(out), "--config", str(cfg))
    assert (code, exc) == (0, None)
    assert (tmp_path / "data" / "r.db").exists()
    code, text, _ = run("stats", "--config", str(cfg), "--json")
    assert code == 0
    assert json.loads(text)["records"] == 30
