"""Tables of the embedded registry store (SQLAlchemy Core).

``registry_records`` holds one row per record ever seen. A removed record stays as a
tombstone: ``deleted`` set, its content cleared, so the change feed can report the removal
without keeping the data. ``change_seq`` is taken from ``registry_state.last_seq`` and bumped
only when a row's content actually changes, so re-importing a file leaves the feed alone.
The migrations in ``registry_adapter/migrations`` create these tables; this module only
describes them for queries.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["CONTENT_COLUMNS", "METADATA", "TOMBSTONE", "records", "state"]

METADATA = sa.MetaData()

records = sa.Table(
    "registry_records",
    METADATA,
    sa.Column("record_id", sa.String(128), primary_key=True),
    sa.Column("make", sa.String(200)),
    sa.Column("model", sa.String(200)),
    sa.Column("caliber", sa.String(100)),
    sa.Column("serial", sa.String(200)),
    sa.Column("category", sa.String(16)),
    sa.Column("recorded_at", sa.DateTime(timezone=True)),
    sa.Column("notes", sa.Text),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("change_seq", sa.BigInteger, nullable=False, index=True),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)

state = sa.Table(
    "registry_state",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("store_id", sa.String(36), nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("horizon", sa.BigInteger, nullable=False),
    sa.Column("last_change_at", sa.DateTime(timezone=True)),
)

#: Columns whose change is a change of the record (and bumps ``change_seq``).
CONTENT_COLUMNS = (
    "make",
    "model",
    "caliber",
    "serial",
    "category",
    "recorded_at",
    "notes",
    "deleted",
)

#: What a removed record keeps: nothing but its id, the removed flag and its sequence.
TOMBSTONE: dict[str, object] = {
    **dict.fromkeys(c for c in CONTENT_COLUMNS if c != "deleted"),
    "deleted": True,
}
