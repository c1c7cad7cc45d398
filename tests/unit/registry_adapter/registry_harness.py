"""Backends for the RegistrySource contract tests: the embedded store and a mapped foreign
table, each on SQLite and on PostgreSQL. A harness writes records the way that backend's
owner would (store API, or plain SQL into the foreign table) and exposes the source."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from registry_adapter import Category, ColumnMapping, MappedRegistry, Record, RegistryStore
from registry_adapter.source import RegistrySource

# A foreign registry's own status codes, as an operator would map them.
STATUS_CODES = {
    "R": Category.REGISTERED,
    "S": Category.STOLEN,
    "L": Category.LOST,
    "Z": Category.SEIZED,
    "F": Category.FOUND,
    "E": Category.EXPORTED,
    "D": Category.DEACTIVATED,
    "X": Category.DESTROYED,
}
CODE_OF = {v: k for k, v in STATUS_CODES.items()}

FOREIGN_MAPPING = {
    "table": "firearm_register",
    "record_id": "weapon_no",
    "make": "manufacturer",
    "serial": "serial_no",
    "category": "status_code",
    "model": "model_name",
    "caliber": "cal",
    "recorded_at": "entered",
    "notes": "remarks",
    "category_values": dict(STATUS_CODES),
}


def create_foreign_table(engine: sa.Engine) -> sa.Table:
    """A registry schema unlike ours: integer keys, other names, one-letter status codes."""
    table = sa.Table(
        "firearm_register",
        sa.MetaData(),
        sa.Column("weapon_no", sa.Integer, primary_key=True),
        sa.Column("manufacturer", sa.String(80)),
        sa.Column("model_name", sa.String(80)),
        sa.Column("cal", sa.String(40)),
        sa.Column("serial_no", sa.String(60)),
        sa.Column("status_code", sa.String(1), nullable=False),
        sa.Column("entered", sa.DateTime(timezone=True)),
        sa.Column("remarks", sa.Text),
        sa.Column("owner_name", sa.String(80)),  # a column the mapping ignores
    )
    table.metadata.create_all(engine)
    return table


def record(rid: int, serial: str, category: Category = Category.REGISTERED, **kw: str) -> Record:
    return Record(
        record_id=str(rid),
        make=kw.get("make", "Glock"),
        model=kw.get("model", "17"),
        caliber=kw.get("caliber", "9x19mm"),
        serial=serial,
        category=category,
        recorded_at=datetime(2020, 1, 1, 12, 0, tzinfo=UTC),
        notes=kw.get("notes", ""),
    )


class Harness(Protocol):
    source: RegistrySource

    def put(self, recs: Iterable[Record]) -> None: ...

    def remove(self, ids: Iterable[str]) -> None: ...

    def other_source(self) -> RegistrySource: ...


class StoreHarness:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store = RegistryStore(url)
        self.store.migrate()
        self.source: RegistrySource = self.store

    def put(self, recs: Iterable[Record]) -> None:
        self.store.upsert(recs)

    def remove(self, ids: Iterable[str]) -> None:
        self.store.delete(ids)

    def other_source(self) -> RegistrySource:
        # Same database, new object: the feed must be the same.
        return RegistryStore(self.url)


class MappedHarness:
    def __init__(self, url: str, snapshot: Path) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        self.table = create_foreign_table(self.engine)
        self.snapshot = snapshot
        self.source: RegistrySource = MappedRegistry(
            url, ColumnMapping.from_dict(FOREIGN_MAPPING), snapshot=snapshot
        )

    def put(self, recs: Iterable[Record]) -> None:
        t = self.table
        with self.engine.begin() as conn:
            for r in recs:
                conn.execute(sa.delete(t).where(t.c.weapon_no == int(r.record_id)))
                conn.execute(
                    sa.insert(t).values(
                        weapon_no=int(r.record_id),
                        manufacturer=r.make,
                        model_name=r.model,
                        cal=r.caliber,
                        serial_no=r.serial,
                        status_code=CODE_OF[r.category],
                        entered=r.recorded_at,
                        remarks=r.notes or None,
                        owner_name="J. Doe",
                    )
                )

    def remove(self, ids: Iterable[str]) -> None:
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t).where(t.c.weapon_no.in_([int(i) for i in ids])))

    def other_source(self) -> RegistrySource:
        # A fresh snapshot is a new feed: old watermarks must be refused.
        return MappedRegistry(
            self.url,
            ColumnMapping.from_dict(FOREIGN_MAPPING),
            snapshot=self.snapshot.with_name("other.db"),
        )

    def close(self) -> None:
        self.engine.dispose()
