"""Engines and error translation for the registry databases."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc

from fedlookup.errors import ConfigError, RegistryError, RegistryUnavailableError

__all__ = ["as_utc", "create_engine", "normalise_url", "redact_url", "translate_errors"]

#: Seconds a writer waits for another writer's lock on SQLite before giving up.
SQLITE_BUSY_TIMEOUT_S = 30


def normalise_url(url: str) -> str:
    """Accept a SQLAlchemy URL or a bare file path (taken as a SQLite file)."""
    return url if "://" in url else f"sqlite:///{url}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the node read (index, stats) while an import writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.close()


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` (SQLite file by default; any SQLAlchemy URL).

    Raises:
        ConfigError: the URL is malformed or names an uninstalled driver.
    """
    full = normalise_url(url)
    try:
        engine = sa.create_engine(full)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as err:
        raise ConfigError("registry.url", f"cannot use {redact_url(full)!r}: {err}") from err
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name != "postgresql":
        # Upserts use dialect-specific ON CONFLICT; others are untested.
        raise ConfigError("registry.url", f"unsupported database {engine.dialect.name!r}")
    return engine


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return sa.make_url(normalise_url(url)).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<malformed url>"


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn SQLAlchemy errors into the fedlookup tree (``raise ... from``)."""
    try:
        yield
    except exc.OperationalError as err:
        raise RegistryUnavailableError(f"{what}: {err.orig or err}") from err
    except exc.InterfaceError as err:
        raise RegistryUnavailableError(f"{what}: {err.orig or err}") from err
    except exc.SQLAlchemyError as err:
        raise RegistryError(f"{what}: {err}") from err


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive date-times for stored UTC values; make them aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
