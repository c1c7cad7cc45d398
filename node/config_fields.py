"""Typed, validated reads of configuration fields, and the one environment-override helper.

Values from the environment arrive as strings wrapped in :class:`EnvValue`, so each reader
knows to coerce them and an error names the variable instead of the file.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from fedlookup.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "SECTIONS",
    "EnvValue",
    "Fields",
    "apply_env",
    "as_bool",
    "as_int",
    "as_str_list",
    "country_code",
    "host_port",
    "is_loopback_host",
    "source_of",
]

ENV_PREFIX = "FEDLOOKUP_"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class EnvValue(str):
    """A configuration value taken from an environment variable."""

    variable: str = ""


def apply_env(
    raw: Mapping[str, Any], env: Mapping[str, str], prefix: str = ENV_PREFIX
) -> dict[str, Any]:
    """Overlay ``<prefix><SECTION>_<FIELD>`` variables on a parsed configuration.

    Only sections present in ``SECTIONS`` are considered, so unrelated ``FEDLOOKUP_*``
    variables are left alone; an unknown field inside a known section is reported later by
    :meth:`Fields.finish` as a bad field.

    Args:
        raw: the parsed TOML document.
        env: the environment.
        prefix: variable prefix.

    Returns:
        A copy of ``raw`` with the overrides applied (tables copied, not shared).
    """
    data: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in raw.items()}
    for name in sorted(env):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        for section in sorted(SECTIONS, key=len, reverse=True):
            head = section.upper() + "_"
            if rest.startswith(head) and len(rest) > len(head):
                value = EnvValue(env[name])
                value.variable = name
                table = data.setdefault(section, {})
                if isinstance(table, dict):
                    table[rest[len(head) :].lower()] = value
                break
    return data


#: Sections of ``node.toml``; environment overrides apply to every one of them.
SECTIONS = (
    "node", "server", "registry", "tls", "directory", "audit", "metrics", "policy", "compat",
    "desk", "followup", "ask",
)  # fmt: skip


def source_of(value: object, source: str) -> str:
    """Where ``value`` came from: its environment variable, else the file ``source``."""
    if isinstance(value, EnvValue):
        return f"environment variable {value.variable}"
    return source


def as_int(value: object, name: str, source: str, *, lo: int = 0, hi: int | None = None) -> int:
    """An integer in ``[lo, hi]``; environment strings are parsed."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(
                name, f"not an integer: {value!r}", source_of(value, source)
            ) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {value!r}", source)
    if value < lo or (hi is not None and value > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ConfigError(name, f"{value} out of range {bound}", source)
    return value


def as_float(value: object, name: str, source: str, *, lo: float = 0.0) -> float:
    """A number ``>= lo``; environment strings are parsed."""
    src = source_of(value, source)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(name, f"not a number: {value!r}", src) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, f"must be a number, got {value!r}", src)
    if value < lo:
        raise ConfigError(name, f"{value} must be >= {lo}", src)
    return float(value)


def as_bool(value: object, name: str, source: str) -> bool:
    """A boolean; environment strings ``1/0, true/false, yes/no, on/off``."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
    if isinstance(value, bool):
        return value
    raise ConfigError(name, f"must be true or false, got {value!r}", source_of(value, source))


def as_str_list(value: object, name: str, source: str) -> tuple[str, ...]:
    """A list of strings; an environment string is split on commas."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(name, f"must be a list of strings, got {value!r}", source)


def country_code(value: object, name: str, source: str) -> str:
    """An ISO 3166-1 alpha-2 code in upper case."""
    if not isinstance(value, str) or not _COUNTRY.match(value):
        raise ConfigError(
            name, f"must be a two-letter upper-case country code, got {value!r}", source
        )
    return value


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (of a ``host:port``, brackets allowed) is a loopback address; a host
    name other than ``localhost`` cannot be told apart and counts as not loopback."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_port(value: str, name: str, source: str) -> str:
    """``host:port`` with a numeric port in ``[0, 65535]``."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(name, f"must be host:port, got {value!r}", source_of(value, source))
    return value


class Fields:
    """Reads fields of a parsed configuration, remembering which keys were used.

    Args:
        data: the parsed document (after :func:`apply_env`).
        base: directory relative paths are resolved against.
        source: the file name, for error messages.
    """

    def __init__(self, data: Mapping[str, Any], base: Path, source: str) -> None:
        self._data = data
        self._base = base
        self._source = source
        self._used: set[tuple[str, str]] = set()

    def _get(self, section: str, key: str) -> Any:
        table = self._data.get(section, {})
        if not isinstance(table, Mapping):
            raise ConfigError(section, "must be a table", self._source)
        self._used.add((section, key))
        return table.get(key)

    def _src(self, value: object) -> str:
        return source_of(value, self._source)

    def str_(self, section: str, key: str, default: str | None = None) -> str:
        """A non-empty string; required when ``default`` is ``None``."""
        value = self._get(section, key)
        if value is None:
            if default is None:
                raise ConfigError(f"{section}.{key}", "is required", self._source)
            return default
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{section}.{key}", "must be a non-empty string", self._src(value))
        return value  # an EnvValue stays one, so later checks can name the variable

    def opt_str(self, section: str, key: str) -> str | None:
        """An optional non-empty string (an empty one counts as unset)."""
        value = self._get(section, key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{section}.{key}", "must be a string", self._src(value))
        return value

    def path(self, section: str, key: str, default: str | None = None) -> Path:
        """A path, resolved against the configuration file's directory."""
        return (self._base / self.str_(section, key, default)).resolve()

    def opt_path(self, section: str, key: str) -> Path | None:
        """An optional path."""
        value = self.opt_str(section, key)
        return (self._base / value).resolve() if value else None

    def int_(
        self, section: str, key: str, default: int, *, lo: int = 0, hi: int | None = None
    ) -> int:
        """An integer in range."""
        value = self._get(section, key)
        return (
            default
            if value is None
            else as_int(value, f"{section}.{key}", self._source, lo=lo, hi=hi)
        )

    def float_(self, section: str, key: str, default: float, *, lo: float = 0.0) -> float:
        """A number ``>= lo``."""
        value = self._get(section, key)
        return (
            default if value is None else as_float(value, f"{section}.{key}", self._source, lo=lo)
        )

    def choice(self, section: str, key: str, choices: Collection[str], default: str) -> str:
        """One of ``choices``."""
        value = self.str_(section, key, default)
        if value not in choices:
            allowed = ", ".join(choices)
            raise ConfigError(
                f"{section}.{key}", f"must be one of {allowed}, got {value!r}", self._src(value)
            )
        return value

    def table(self, section: str, key: str) -> Mapping[str, Any] | None:
        """An optional sub-table, returned as-is."""
        value = self._get(section, key)
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{section}.{key}", "must be a table", self._src(value))
        return value

    def finish(self, skip: Collection[str] = ()) -> None:
        """Raise on any key that no reader asked for (a typo, or an unknown override).

        Args:
            skip: sections validated elsewhere.

        Raises:
            ConfigError: naming the first unknown field.
        """
        for section, table in self._data.items():
            if section in skip or not isinstance(table, Mapping):
                continue
            for key, value in table.items():
                if (section, key) not in self._used:
                    raise ConfigError(f"{section}.{key}", "unknown field", self._src(value))
