"""Alembic environment: runs on the connection handed over by ``registry_adapter.migrate``."""

from __future__ import annotations

from alembic import context

from registry_adapter.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
