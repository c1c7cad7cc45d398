"""ADRs have unique numbers, and every mention of one names an ADR that exists.

Mentions are read from the documents, the code and the tests: a link
(``adr/0006-slot-chains-per-category.md``) must point at a file, and a bare ``ADR 0006``
at a number some file carries.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ADR_DIR = ROOT / "docs" / "adr"
SEARCHED = ("README.md", "CHANGELOG.md", "docs", "audit", "bench", "certs", "federation",
            "fedlookup", "node", "registry_adapter", "scripts", "tests")  # fmt: skip


def _adrs() -> list[Path]:
    return sorted(ADR_DIR.glob("[0-9][0-9][0-9][0-9]-*.md"))


def _texts() -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for name in SEARCHED:
        path = ROOT / name
        files = [path] if path.is_file() else [*path.rglob("*.md"), *path.rglob("*.py")]
        out += [(f, f.read_text(encoding="utf-8")) for f in files if f != Path(__file__)]
    return out


def test_adr_numbers_are_unique_and_match_their_titles() -> None:
    adrs = _adrs()
    assert len(adrs) >= 8
    numbers = Counter(p.name[:4] for p in adrs)
    assert [n for n, k in numbers.items() if k > 1] == []
    for path in adrs:
        title = path.read_text(encoding="utf-8").splitlines()[0]
        assert title.startswith(f"# ADR {path.name[:4]}:"), (path.name, title)


def test_every_mention_names_an_existing_adr() -> None:
    names = {p.name for p in _adrs()}
    numbers = {p.name[:4] for p in _adrs()}
    bad: list[str] = []
    for path, text in _texts():
        for link in re.findall(r"adr/(\d{4}-[a-z0-9-]+\.md)", text):
            if link not in names:
                bad.append(f"{path.relative_to(ROOT)}: adr/{link}")
        for number in re.findall(r"\bADR (\d{4})\b", text):
            if number not in numbers:
                bad.append(f"{path.relative_to(ROOT)}: ADR {number}")
    assert bad == []
