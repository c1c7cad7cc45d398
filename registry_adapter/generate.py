"""Synthetic registries: realistic makes, serial formats, category mix and messy entry.

Same arguments, same bytes: every random choice comes from one seeded generator. With
``overlap_with``, firearms of another registry are planted under new record ids, spelled
differently and labelled stolen, exported and the like, so cross-border hits exist; the
plantings are listed in ``<out>.overlap.csv`` so recall can be measured. A planted
``make_serial`` entry canonicalises to the source's identifiers; a planted ``serial_only``
entry keeps the serial under a different make (a "possible match" only).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fedlookup.errors import InputError
from registry_adapter.identifiers import canonical_make
from registry_adapter.makers import MAKERS, Maker
from registry_adapter.models import Category
from registry_adapter.parse import REQUIRED_COLUMNS, Row, detect_format, read_file

__all__ = ["GenerateSummary", "generate_registry", "overlap_path_for"]

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q, as on real markings
_DIGITS = "0123456789"
_CATEGORIES = tuple(c.value for c in Category)  # weights below follow this order
_CATEGORY_WEIGHTS = (86.0, 4.5, 2.5, 2.0, 0.8, 1.7, 1.8, 0.7)
_PLANTED = ("stolen", "exported", "seized", "lost", "found")
_PLANTED_WEIGHTS = (45.0, 20.0, 15.0, 10.0, 10.0)
_EPOCH = 788918400  # 1995-01-01T00:00:00Z
_SPAN = 31 * 365 * 86400
#: Share of records that re-register a firearm already in the file (a found or seized gun
#: registered again): real registries hold such duplicates, and stats must show them.
_REREGISTER = 0.003
OVERLAP_HEADER = (
    "kind",
    "source_record_id",
    "planted_record_id",
    "source_make",
    "source_serial",
    "planted_make",
    "planted_serial",
    "planted_category",
)


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate_registry` wrote."""

    out: Path
    records: int
    planted: int
    overlap_path: Path | None
    seconds: float


def overlap_path_for(out: Path) -> Path:
    """The sidecar listing planted overlaps: ``<out>.overlap.csv``."""
    return out.with_name(out.name + ".overlap.csv")


def _expand(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "L":
            out.append(_LETTERS[int(rng.random() * 23)])
        elif ch == "D":
            out.append(_DIGITS[int(rng.random() * 10)])
        else:
            out.append(ch)
    return "".join(out)


def _mess_serial(rng: random.Random, serial: str, force: bool = False) -> str:
    """Data-entry noise that canonicalisation must undo."""
    if not force and rng.random() < 0.7:
        return serial
    for _ in range(4):
        s = serial
        for _ in range(1 + int(rng.random() * 2)):
            r = rng.random()
            pos = int(rng.random() * (len(s) + 1))
            if r < 0.25:
                s = s.lower()
            elif r < 0.45:
                s = s[:pos] + " " + s[pos:]
            elif r < 0.6:
                s = s[:pos] + "-" + s[pos:]
            elif r < 0.75 and "0" in s:
                s = s.replace("0", "O", 1)
            elif r < 0.85 and "1" in s:
                s = s.replace("1", "I", 1)
            elif r < 0.92:
                s = s.replace("-", " ")
            else:
                s = f" {s} "
        if s != serial or not force:
            return s
    return serial.lower() if serial.lower() != serial else f"{serial[:1]} {serial[1:]}"


def _mess_make(rng: random.Random, maker: Maker, force: bool = False) -> str:
    r = rng.random()
    if r < 0.75 and not force:
        name = maker.spellings[0]
    else:
        name = maker.spellings[1 + int(rng.random() * (len(maker.spellings) - 1))]
    if rng.random() < 0.1 or force:
        name = name.upper() if rng.random() < 0.5 else name.lower()
    return name


def _stamp(rng: random.Random) -> str:
    ts = _EPOCH + int(rng.random() * _SPAN)
    if rng.random() < 0.05:
        return time.strftime("%Y-%m-%d", time.gmtime(ts))
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _weights(country: str) -> list[float]:
    # Home makers dominate a country's registry (Glock in AT, Beretta in IT).
    return [m.weight * (5.0 if country in m.home else 1.0) for m in MAKERS]


def _sample_source(path: Path, k: int, rng: random.Random) -> list[Row]:
    """Reservoir-sample ``k`` valid rows of another registry in constant memory."""
    chosen: list[Row] = []
    seen = 0
    for item in read_file(path):
        if not isinstance(item, Row):
            continue
        seen += 1
        if len(chosen) < k:
            chosen.append(item)
        else:
            j = int(rng.random() * seen)
            if j < k:
                chosen[j] = item
    if len(chosen) < k:
        raise InputError(
            f"holds {len(chosen)} usable records, fewer than --overlap {k}",
            file=str(path),
            field="overlap",
        )
    rng.shuffle(chosen)
    return chosen


def _maker_of(make: str) -> int | None:
    key = canonical_make(make)
    for i, m in enumerate(MAKERS):
        if canonical_make(m.spellings[0]) == key:
            return i
    return None


def _rows(
    rng: random.Random,
    country: str,
    n: int,
    planted: dict[int, tuple[str, list[str]]],
) -> Iterator[tuple[str, ...]]:
    cum = list(itertools.accumulate(_weights(country)))
    cat_cum = list(itertools.accumulate(_CATEGORY_WEIGHTS))
    recent: list[tuple[int, str]] = []
    for i in range(n):
        rid = f"{country}-{i + 1:08d}"
        if i in planted:
            make, serial, category = planted[i][1][5:8]
            yield (rid, make, "", "", serial, category, _stamp(rng))
            continue
        if recent and rng.random() < _REREGISTER:
            idx, serial = recent[int(rng.random() * len(recent))]
            maker = MAKERS[idx]
            category = ("found", "seized", "registered")[int(rng.random() * 3)]
        else:
            idx = rng.choices(range(len(MAKERS)), cum_weights=cum)[0]
            maker = MAKERS[idx]
            serial = _expand(
                rng, maker.serial_formats[int(rng.random() * len(maker.serial_formats))]
            )
            category = rng.choices(_CATEGORIES, cum_weights=cat_cum)[0]
            if len(recent) < 1000:
                recent.append((idx, serial))
            else:
                recent[int(rng.random() * 1000)] = (idx, serial)
        model, caliber = maker.models[int(rng.random() * len(maker.models))]
        yield (
            rid,
            _mess_make(rng, maker),
            model,
            caliber,
            _mess_serial(rng, serial),
            category,
            _stamp(rng),
        )


def _plant(
    rng: random.Random, country: str, n: int, sources: list[Row]
) -> dict[int, tuple[str, list[str]]]:
    positions = rng.sample(range(n), len(sources))
    planted: dict[int, tuple[str, list[str]]] = {}
    for j, (pos, src) in enumerate(zip(positions, sources, strict=True)):
        idx = _maker_of(src.make)
        serial_only = j % 10 == 9
        if serial_only:
            others = [i for i in range(len(MAKERS)) if i != idx]
            make = _mess_make(rng, MAKERS[others[int(rng.random() * len(others))]])
            kind = "serial_only"
        else:
            make = _mess_make(rng, MAKERS[idx], force=True) if idx is not None else src.make.upper()
            kind = "make_serial"
        category = rng.choices(_PLANTED, weights=_PLANTED_WEIGHTS)[0]
        serial = _mess_serial(rng, src.serial, force=True)
        rid = f"{country}-{pos + 1:08d}"
        planted[pos] = (
            kind,
            [kind, src.record_id, rid, src.make, src.serial, make, serial, category],
        )
    return planted


def _atomic_writer(out: Path) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)


def generate_registry(
    out: Path,
    *,
    country: str,
    records: int,
    seed: int = 0,
    overlap_with: Path | None = None,
    overlap: int = 0,
) -> GenerateSummary:
    """Write a synthetic registry (CSV, or JSON Lines for ``.jsonl``) to ``out``.

    Args:
        out: output file; written to a temporary name and renamed into place.
        country: two-letter country code, used in record ids and the make mix.
        records: number of records, planted ones included.
        seed: same seed, same file.
        overlap_with: another registry file to plant firearms from.
        overlap: how many firearms to plant (``<= records``).

    Returns:
        What was written, with the sidecar path when firearms were planted.

    Raises:
        InputError: bad argument (naming it) or unreadable ``overlap_with``.
    """
    started = time.perf_counter()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise InputError("must be two capital letters (ISO 3166-1 alpha-2)", field="country")
    if records < 0:
        raise InputError("must not be negative", field="records")
    if overlap < 0 or overlap > records:
        raise InputError(f"must be between 0 and --records ({records})", field="overlap")
    if overlap and overlap_with is None:
        raise InputError("needs --overlap-with FILE", field="overlap")
    rng = random.Random(f"fedlookup-synthetic-v1:{country}:{seed}")
    planted: dict[int, tuple[str, list[str]]] = {}
    if overlap and overlap_with is not None:
        planted = _plant(rng, country, records, _sample_source(overlap_with, overlap, rng))
    jsonl = detect_format(out) == "jsonl"
    fd, tmp = _atomic_writer(out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            if jsonl:
                for row in _rows(rng, country, records, planted):
                    fh.write(json.dumps(dict(zip(REQUIRED_COLUMNS, row, strict=True))) + "\n")
            else:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(REQUIRED_COLUMNS)
                rows = _rows(rng, country, records, planted)
                while chunk := list(itertools.islice(rows, 10_000)):
                    writer.writerows(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    side = None
    if planted:
        side = overlap_path_for(out)
        fd, tmp = _atomic_writer(side)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(OVERLAP_HEADER)
            writer.writerows(planted[pos][1] for pos in sorted(planted))
        os.replace(tmp, side)
    return GenerateSummary(out, records, len(planted), side, time.perf_counter() - started)
