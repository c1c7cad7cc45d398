"""scripts/gen_protos.py --check: passes on the committed code, names a drifted file."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_code_matches_the_protos() -> None:
    assert _script().check() == 0


def test_drift_is_reported_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gen = _script()
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    stale = tmp_path / "protos" / "fedlookup" / "v1" / "fedlookup_pb2.pyi"
    stale.write_text(stale.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "PROTO_ROOT", tmp_path / "protos")
    assert gen.check() == 1
    assert "protos/fedlookup/v1/fedlookup_pb2.pyi" in capsys.readouterr().err
