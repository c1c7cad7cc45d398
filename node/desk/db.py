"""The desk's database: SQLite (embedded, default) or PostgreSQL by URL.

:class:`DeskDatabase` creates the tables when missing and hands out sessions. A database
that cannot be reached at start-up is a :class:`~fedlookup.errors.ConfigError` naming
``desk.database`` and the URL without its password.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from fedlookup.errors import ConfigError
from node.desk import follow_ups, models  # noqa: F401  (their tables join the metadata)

__all__ = ["DeskDatabase"]


class DeskDatabase:
    """The desk's tables behind one engine.

    Args:
        url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).

    Raises:
        ConfigError: the database cannot be reached or its tables cannot be created.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.safe_url = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _private_file(Path(parsed.database))
            self.engine: Engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        try:
            SQLModel.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise ConfigError("desk.database", f"cannot open {self.safe_url}: {exc}") from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 (it holds password hashes and results)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
