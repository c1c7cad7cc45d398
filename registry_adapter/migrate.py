"""Schema migrations of the embedded store, configured in code (no ``alembic.ini``).

The scripts ship inside the package (``registry_adapter/migrations``), so an installed
node upgrades its database with ``fedlookup registry migrate`` and keeps its data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported inside the functions: it costs ~0.2 s, and every ``fedlookup``
# command (and the container health check) imports this package without migrating.

__all__ = ["VERSION_TABLE", "current_revision", "head_revision", "upgrade"]

#: Alembic's bookkeeping table; named so it cannot clash with an operator's own alembic.
VERSION_TABLE = "registry_alembic_version"


def _config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "registry_adapter:migrations")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision the installed code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package always ships at least one revision
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at, ``None`` when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` in one transaction.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: translated by the caller.
    """
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)
