"""Registry generate + import throughput and memory, with baselines measured in the same run.

Usage::

    .venv/bin/python bench/bench_import.py [--records 1000000] [--small 100000]
        [--orm-sample 50000] [--workdir DIR]

Each measurement runs in a fresh child process so its peak RSS (``ru_maxrss``) is its own:
comparing the small and the full import shows whether memory grows with the file.
Baselines: ``csv.reader`` over the same file (the floor any CSV import pays) and SQLAlchemy
ORM ``add_all`` on a sample (the obvious way to write such an importer).
Prints a Markdown section for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Rec(Base):
    """The ORM baseline's table: the same columns, one object per row."""

    __tablename__ = "records"
    record_id: Mapped[str] = mapped_column(primary_key=True)
    make: Mapped[str]
    model: Mapped[str]
    caliber: Mapped[str]
    serial: Mapped[str]
    category: Mapped[str]
    recorded_at: Mapped[datetime]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    # CPU time of this process: unlike wall time, hardly affected by other load.
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _result(t0: float, c0: float, rows: int, **extra: float) -> dict[str, float]:
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_s": _cpu_s() - c0,
        "rows": rows,
        "rss_mib": _rss_mib(),
        **extra,
    }


def child_generate(out: Path, records: int) -> dict[str, float]:
    from registry_adapter import generate_registry

    t0, c0 = time.perf_counter(), _cpu_s()
    generate_registry(out, country="FR", records=records, seed=1)
    return _result(t0, c0, records)


def child_import(path: Path, db: Path) -> dict[str, float]:
    from registry_adapter import RegistryStore

    with RegistryStore(str(db)) as store:
        store.migrate()  # schema creation is not part of the import's cost
        t0, c0 = time.perf_counter(), _cpu_s()
        s = store.import_file(path)
    return _result(t0, c0, s.rows, inserted=s.inserted, unchanged=s.unchanged, rejected=s.rejected)


def child_import_pg(path: Path, url: str) -> dict[str, float]:
    """Import into a fresh schema of a PostgreSQL server, dropped afterwards."""
    import uuid

    from registry_adapter import RegistryStore

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        with RegistryStore(f"{url}{sep}options=-csearch_path%3D{schema}") as store:
            store.migrate()
            t0, c0 = time.perf_counter(), _cpu_s()
            s = store.import_file(path)
        return _result(t0, c0, s.rows, inserted=s.inserted, rejected=s.rejected)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def child_csv(path: Path) -> dict[str, float]:
    t0, c0 = time.perf_counter(), _cpu_s()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    return _result(t0, c0, rows)


def child_orm(path: Path, db: Path, sample: int) -> dict[str, float]:
    engine = sa.create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    t0, c0 = time.perf_counter(), _cpu_s()
    with path.open(newline="", encoding="utf-8") as fh, Session(engine) as session:
        reader = csv.DictReader(fh)
        objs = [
            Rec(**{**r, "recorded_at": datetime.fromisoformat(r["recorded_at"])})
            for r in itertools.islice(reader, sample)
        ]
        session.add_all(objs)
        session.commit()
    return _result(t0, c0, sample)


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--orm-sample", type=int, default=50_000)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--postgres", help="also import the small file into this PostgreSQL URL")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        if kind == "generate":
            res = child_generate(Path(rest[0]), int(rest[1]))
        elif kind == "import":
            res = child_import(Path(rest[0]), Path(rest[1]))
        elif kind == "import-pg":
            res = child_import_pg(Path(rest[0]), rest[1])
        elif kind == "csv":
            res = child_csv(Path(rest[0]))
        else:
            res = child_orm(Path(rest[0]), Path(rest[1]), int(rest[2]))
        print(json.dumps(res))
        return

    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=a.workdir) as tmp:
        d = Path(tmp)
        big, small = d / "big.csv", d / "small.csv"
        gen_big = run_child("generate", str(big), str(a.records))
        gen_small = run_child("generate", str(small), str(a.small))
        imp_small = run_child("import", str(small), str(d / "small.db"))
        imp_big = run_child("import", str(big), str(d / "big.db"))
        reimp_big = run_child("import", str(big), str(d / "big.db"))
        base_csv = run_child("csv", str(big))
        base_orm = run_child("orm", str(big), str(d / "orm.db"), str(a.orm_sample))
        imp_pg = run_child("import-pg", str(small), a.postgres) if a.postgres else None
        size_mib = big.stat().st_size / 2**20

    load = os.getloadavg()

    def rate(r: dict[str, float]) -> str:
        return f"{r['rows'] / r['seconds']:,.0f}"

    cmd = "python bench/bench_import.py" + (
        f" --records {a.records}" if a.records != 1_000_000 else ""
    )
    if a.postgres:
        cmd += " --postgres postgresql+psycopg://.../test"
    print(f"## Registry import ({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
          f"Python {platform.python_version()}, SQLite file)\n")  # fmt: skip
    print(f"Command: `{cmd}` (each row in a fresh process; CSV of {size_mib:,.0f} MiB; "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at the end)\n")  # fmt: skip
    print("| step | rows | wall s | rows/s (wall) | CPU s | rows/CPU-s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [
        ("generate (synthetic, FR)", gen_big),
        (f"generate {a.small:,}", gen_small),
        (f"import {a.small:,} into empty store", imp_small),
        (f"import {a.records:,} into empty store", imp_big),
        (f"re-import same {a.records:,} (all unchanged)", reimp_big),
        ("baseline: csv.reader only, same file", base_csv),
        (f"baseline: ORM add_all, first {a.orm_sample:,} rows", base_orm),
    ]
    if imp_pg is not None:
        rows.insert(5, (f"import {a.small:,} into empty PostgreSQL store (local)", imp_pg))
    for name, r in rows:
        print(
            f"| {name} | {r['rows']:,.0f} | {r['seconds']:.2f} | {rate(r)} | {r['cpu_s']:.1f} "
            f"| {r['rows'] / r['cpu_s']:,.0f} | {r['rss_mib']:.0f} |"
        )
    print(
        f"\nImport {a.records:,}: {imp_big['inserted']:,.0f} inserted, {imp_big['rejected']:,.0f} "
        f"rejected; re-import: {reimp_big['unchanged']:,.0f} unchanged. Peak RSS "
        f"{imp_small['rss_mib']:.0f} MiB at {a.small:,} rows vs {imp_big['rss_mib']:.0f} MiB at "
        f"{a.records:,}."
    )


if __name__ == "__main__":
    main()
