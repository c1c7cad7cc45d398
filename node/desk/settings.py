"""The desk's settings: the ``[desk]`` section of ``node.toml``, validated at start-up.

Every field can be overridden from the environment as ``FEDLOOKUP_DESK_<FIELD>``
(``FEDLOOKUP_DESK_LISTEN=127.0.0.1:9000``, ``FEDLOOKUP_DESK_DATABASE=postgresql+psycopg://...``).
A bad value raises :class:`~fedlookup.errors.ConfigError` naming ``desk.<field>`` and the file
or variable it came from. The reference of every field is ``docs/desk.md``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fedlookup.errors import ConfigError
from node.desk.asking import ENV_PREFIX, Fields, apply_env, host_port

__all__ = ["LANGUAGES", "DeskSettings", "is_loopback"]

#: Languages of the message catalogue (``node/desk/messages``).
LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class DeskSettings:
    """``[desk]``: the investigators' desk beside a node.

    Attributes:
        listen: ``host:port`` of the web console and HTTP API (port 0 picks a free port).
        database: SQLAlchemy URL of the desk's tables: accounts, sessions, checks (default: an
            embedded SQLite file ``<data_dir>/desk.sqlite3``); several replicas share one
            PostgreSQL URL.
        tls_cert: PEM certificate served over HTTPS; required when ``listen`` is not loopback.
        tls_key: its private key (0600).
        items_per_day: firearms one account may check per UTC day (a check of one firearm
            counts one, whatever the number of countries).
        approval_above: a batch of more firearms than this waits for a supervisor's approval.
        sync_wait_s: ``POST /api/v1/checks`` waits this long for the answer before it answers
            ``202`` with an id to poll.
        session_hours: a console session ends after this many hours.
        max_failures: failed logins in a row that lock an account.
        lockout_minutes: how long a locked account stays locked.
        login_per_minute: failed logins one address may make per minute (then 429).
        language: default language of the console (``en`` or ``fr``).
    """

    listen: str = "127.0.0.1:8080"
    database: str = ""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    items_per_day: int = 5000
    approval_above: int = 2000
    sync_wait_s: float = 30.0
    session_hours: float = 8.0
    max_failures: int = 5
    lockout_minutes: float = 15.0
    login_per_minute: int = 20
    language: str = "en"

    @property
    def https(self) -> bool:
        """Whether the desk serves HTTPS (a certificate is configured)."""
        return self.tls_cert is not None

    @classmethod
    def from_toml(
        cls, path: Path, data_dir: Path, env: Mapping[str, str] | None = None
    ) -> DeskSettings:
        """Read ``[desk]`` from ``node.toml`` (already validated by ``NodeConfig``).

        Args:
            path: the node's configuration file.
            data_dir: the node's data directory (home of the default SQLite database).
            env: environment for ``FEDLOOKUP_DESK_*`` overrides (default ``os.environ``).

        Raises:
            ConfigError: an invalid or unknown ``desk`` field, or a non-loopback address
                without a certificate.
        """
        src = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("(file)", f"cannot read: {exc}", src) from exc
        data = apply_env(raw, os.environ if env is None else env, ENV_PREFIX)
        data = {"desk": data.get("desk", {})}
        f = Fields(data, path.parent.resolve(), src)
        default_db = f"sqlite:///{(data_dir / 'desk.sqlite3').resolve()}"
        settings = cls(
            listen=host_port(f.str_("desk", "listen", "127.0.0.1:8080"), "desk.listen", src),
            database=f.opt_str("desk", "database") or default_db,
            tls_cert=f.opt_path("desk", "tls_cert"),
            tls_key=f.opt_path("desk", "tls_key"),
            items_per_day=f.int_("desk", "items_per_day", 5000, lo=1),
            approval_above=f.int_("desk", "approval_above", 2000, lo=1),
            sync_wait_s=f.float_("desk", "sync_wait_s", 30.0, lo=0.0),
            session_hours=f.float_("desk", "session_hours", 8.0, lo=0.1),
            max_failures=f.int_("desk", "max_failures", 5, lo=1, hi=100),
            lockout_minutes=f.float_("desk", "lockout_minutes", 15.0, lo=0.0),
            login_per_minute=f.int_("desk", "login_per_minute", 20, lo=1),
            language=f.choice("desk", "language", LANGUAGES, "en"),
        )
        f.finish()
        if (settings.tls_cert is None) != (settings.tls_key is None):
            raise ConfigError("desk.tls_key", "tls_cert and tls_key go together", src)
        if not is_loopback(settings.listen) and not settings.https:
            raise ConfigError(
                "desk.listen",
                f"{settings.listen} is not loopback: set desk.tls_cert and desk.tls_key (HTTPS)",
                src,
            )
        return settings


def is_loopback(listen: str) -> bool:
    """Whether ``host:port`` names a loopback host (127.0.0.0/8, ``localhost``, ``::1``)."""
    host = listen.rpartition(":")[0].strip("[]")
    return host == "localhost" or host == "::1" or host.startswith("127.")
