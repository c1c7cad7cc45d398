"""Initial registry store: records with change sequence and tombstones, store state.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_records",
        sa.Column("record_id", sa.String(128), primary_key=True),
        sa.Column("make", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("caliber", sa.String(100)),
        sa.Column("serial", sa.String(200)),
        sa.Column("category", sa.String(16)),
        sa.Column("recorded_at", sa.DateTime(timezone=True)),
        sa.Column("notes", sa.Text),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_registry_records_change_seq", "registry_records", ["change_seq"])
    state = op.create_table(
        "registry_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("store_id", sa.String(36), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("horizon", sa.BigInteger, nullable=False),
        sa.Column("last_change_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(state, [{"id": 1, "store_id": str(uuid.uuid4()), "last_seq": 0, "horizon": 0}])


def downgrade() -> None:
    op.drop_table("registry_state")
    op.drop_index("ix_registry_records_change_seq", "registry_records")
    op.drop_table("registry_records")
