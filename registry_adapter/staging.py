"""Staged upserts: load rows into a temporary table, then apply them in one statement.

Staging keeps Python memory constant (the database holds the rows), finds duplicate
``record_id`` values with one ``GROUP BY`` instead of an in-memory set, and turns the
upsert into a single ``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE <changed>`` so
that only rows whose content differs get a new ``change_seq``. Everything runs inside the
caller's transaction: a rollback leaves the store exactly as it was.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from registry_adapter.parse import Reject, Row
from registry_adapter.schema import CONTENT_COLUMNS, TOMBSTONE, records, state

__all__ = [
    "BATCH_ROWS",
    "ApplyCounts",
    "drop_staging",
    "lock_state",
    "new_staging_table",
    "stage_and_apply",
]

#: Rows per executemany batch: large enough to amortise round trips, small enough that
#: a batch's parameters stay a few megabytes.
BATCH_ROWS = 5000

_STAGED = (
    "line",
    "record_id",
    "make",
    "model",
    "caliber",
    "serial",
    "category",
    "recorded_at",
    "notes",
)


@dataclass(frozen=True, slots=True)
class ApplyCounts:
    """What an upsert did."""

    staged: int
    inserted: int
    updated: int
    unchanged: int
    duplicates: int
    last_seq: int
    removed: int = 0


def new_staging_table() -> sa.Table:
    """A temporary table (uniquely named) to stage rows in; see :func:`drop_staging`."""
    return sa.Table(
        f"registry_staging_{uuid.uuid4().hex[:12]}",
        sa.MetaData(),
        # INTEGER PRIMARY KEY: the rowid itself on SQLite, no separate index to maintain.
        sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("make", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("caliber", sa.String(100), nullable=False),
        sa.Column("serial", sa.String(200), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def _sqlite_params(row: Row) -> tuple[object, ...]:
    # The text SQLAlchemy's SQLite DateTime type stores and parses back: UTC, no offset,
    # always six fractional digits ("2001-02-21 01:01:25.000000"). That is
    # isoformat(sep=" ", timespec="microseconds")[:26]; str() (isoformat with automatic
    # precision) costs a third less per row on an aware datetime.
    at = row.recorded_at
    text = str(at)
    stamp = text[:26] if at.microsecond else text[:19] + ".000000"
    line, record_id, make, model, caliber, serial, category, _, notes = row
    return (line, record_id, make, model, caliber, serial, category, stamp, notes)


def lock_state(conn: sa.Connection) -> tuple[str, int]:
    """Take the store's writer lock (row lock on PostgreSQL, write lock on SQLite).

    Writers serialise here, so change sequences commit in order and a reader never sees
    sequence ``n + 1`` before ``n``. Returns ``(store_id, last_seq)``.
    """
    conn.execute(sa.update(state).where(state.c.id == 1).values(last_seq=state.c.last_seq))
    row = conn.execute(sa.select(state.c.store_id, state.c.last_seq)).one()
    return str(row.store_id), int(row.last_seq)


def _upsert_from(conn: sa.Connection, staging: sa.Table, base: int, now: datetime) -> int:
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    cols = [staging.c[n] for n in _STAGED[1:]]
    select = sa.select(
        *cols,
        sa.false().label("deleted"),
        (staging.c.line + base).label("change_seq"),
        sa.literal(now, sa.DateTime(timezone=True)).label("changed_at"),
    ).where(staging.c.line > 0)  # a WHERE is required by SQLite's INSERT..SELECT..ON CONFLICT
    stmt = insert(records).from_select(
        [*_STAGED[1:], "deleted", "change_seq", "changed_at"], select
    )
    changed = sa.or_(*(records.c[n].is_distinct_from(stmt.excluded[n]) for n in CONTENT_COLUMNS))
    stmt = stmt.on_conflict_do_update(
        index_elements=[records.c.record_id],
        set_={n: stmt.excluded[n] for n in (*CONTENT_COLUMNS, "change_seq", "changed_at")},
        where=changed,
    )
    conn.execute(stmt)
    # Not rowcount: drivers disagree on it for INSERT .. SELECT .. ON CONFLICT. Under the
    # writer lock, the rows above ``base`` are exactly the ones this statement wrote.
    written = sa.select(sa.func.count()).select_from(records).where(records.c.change_seq > base)
    return int(conn.execute(written).scalar_one())


def _duplicates(conn: sa.Connection, staging: sa.Table) -> Iterator[Reject]:
    groups = (
        sa.select(
            staging.c.record_id,
            sa.func.min(staging.c.line).label("first"),
            sa.func.count().label("n"),
        )
        .group_by(staging.c.record_id)
        .having(sa.func.count() > 1)
        .subquery()
    )
    query = (
        sa.select(staging.c.line, staging.c.record_id, groups.c.first, groups.c.n)
        .join(groups, groups.c.record_id == staging.c.record_id)
        .order_by(staging.c.line)
    )
    for line, rid, first, n in conn.execute(query):
        reason = f"duplicate record_id within the file ({n} rows, first at line {first})"
        yield Reject(int(line), "record_id", reason, str(rid))


def stage_and_apply(
    conn: sa.Connection,
    staging: sa.Table,
    rows: Iterable[Row | Reject],
    on_reject: Callable[[Reject], None],
    *,
    progress: Callable[[int], None] | None = None,
    before_apply: Callable[[], None] | None = None,
    replace: bool = False,
) -> ApplyCounts:
    """Stage rows, reject duplicates, then upsert the rest into ``registry_records``.

    Args:
        conn: a connection inside a transaction the caller owns.
        staging: from :func:`new_staging_table`; drop it with :func:`drop_staging`.
        rows: parsed rows; rejects among them go straight to ``on_reject``.
        on_reject: receives every reject (parse errors, then duplicates).
        progress: called with the number of rows read after each batch.
        before_apply: called once staging is complete and before anything is written to the
            store (strict imports raise from here to abort with nothing written).
        replace: the rows are the whole registry: live records not among them are removed
            (tombstoned, all with one new sequence number).

    Returns:
        Counts of the upsert; ``last_seq`` is the store's sequence afterwards.
    """
    staging.create(conn)
    # Driver-level executemany with plain tuples: the per-row cost of Core parameter
    # processing would halve import throughput.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # Only our own names and placeholders go into this text; values travel as parameters.
    cols, marks = ", ".join(_STAGED), ", ".join([mark] * len(_STAGED))
    sql = f'INSERT INTO "{staging.name}" ({cols}) VALUES ({marks})'  # noqa: S608
    as_params = _sqlite_params if conn.dialect.name == "sqlite" else tuple
    read = staged = 0
    it = iter(rows)
    while chunk := list(itertools.islice(it, BATCH_ROWS)):
        batch = []
        for item in chunk:
            if isinstance(item, Reject):
                on_reject(item)
            else:
                batch.append(as_params(item))
        read += len(chunk)
        if batch:
            conn.exec_driver_sql(sql, batch)
            staged += len(batch)
        if progress is not None:
            progress(read)
    sa.Index(f"{staging.name}_rid", staging.c.record_id).create(conn)
    dups = 0
    for reject in _duplicates(conn, staging):
        dups += 1
        on_reject(reject)
    if dups:
        dup_ids = (
            sa.select(staging.c.record_id).group_by(staging.c.record_id).having(sa.func.count() > 1)
        )
        conn.execute(sa.delete(staging).where(staging.c.record_id.in_(dup_ids)))
    if before_apply is not None:
        before_apply()
    _, base = lock_state(conn)
    fresh = conn.execute(
        sa.select(sa.func.count())
        .select_from(staging.outerjoin(records, records.c.record_id == staging.c.record_id))
        .where(sa.or_(records.c.record_id.is_(None), records.c.deleted))
    ).scalar_one()
    now = datetime.now(UTC)
    written = _upsert_from(conn, staging, base, now) if staged - dups else 0
    last_seq = base
    if written:
        top = conn.execute(sa.select(sa.func.max(staging.c.line))).scalar_one()
        last_seq = base + int(top)
    removed = 0
    if replace:
        absent = records.c.record_id.not_in(sa.select(staging.c.record_id))
        removed = conn.execute(
            sa.update(records)
            .where(~records.c.deleted, absent)
            .values(**TOMBSTONE, change_seq=last_seq + 1, changed_at=now)
        ).rowcount
        if removed:
            last_seq += 1
    if written or removed:
        conn.execute(
            sa.update(state).where(state.c.id == 1).values(last_seq=last_seq, last_change_at=now)
        )
    return ApplyCounts(
        staged=staged - dups,
        inserted=int(fresh),
        updated=written - int(fresh),
        unchanged=staged - dups - written,
        duplicates=dups,
        last_seq=last_seq,
        removed=int(removed),
    )


def drop_staging(conn: sa.Connection, staging: sa.Table) -> None:
    """Drop a staging table after its transaction ended (commit or rollback).

    PostgreSQL drops it at commit (``ON COMMIT DROP``); SQLite keeps temporary tables for
    the life of the pooled connection, so they are dropped explicitly.
    """
    if conn.dialect.name == "sqlite":
        with conn.begin():
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{staging.name}"')
