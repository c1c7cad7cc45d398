"""``[followup]``: how this node handles follow-up requests, as owner and as requester.

Example ``node.toml``::

    [followup]
    deadline_hours = 48              # default time to decide a peer's request (Prüm II)
    contact = "SIRENE FR, +33 1 00 00 00 00"   # the "contact" field a release may carry
    retention_days = 30              # released data kept at the requester, then purged

    [followup.peers.NL]
    deadline_hours = 24
    auto_release = ["make", "model", "category"]   # released at once, no liaison officer

    [followup.smtp]                  # optional: e-mail the liaison officers on arrival
    host = "127.0.0.1"
    port = 25
    sender = "fedlookup@registry.example"
    to = ["liaison@registry.example"]

Every field is checked at start-up; an unknown one is a :class:`ConfigError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.followup import FOLLOWUP_FIELDS
from federation.followup import FollowUpPolicy
from fedlookup.errors import ConfigError

__all__ = ["FollowUpConfig", "SmtpConfig"]

_PEER_KEYS = {"deadline_hours", "auto_release"}
_TOP_KEYS = {"deadline_hours", "contact", "retention_days", "peers", "smtp"}
_SMTP_KEYS = {"host", "port", "sender", "to", "timeout_s"}


@dataclass(frozen=True)
class SmtpConfig:
    """``[followup.smtp]``: where arrival notices are e-mailed (plain SMTP on ``host:port``)."""

    host: str
    port: int = 25
    sender: str = ""
    to: tuple[str, ...] = ()
    timeout_s: float = 10.0


@dataclass(frozen=True)
class FollowUpConfig:
    """``[followup]`` (see the module docstring).

    Attributes:
        deadline_hours: hours to decide a peer's request (default 48).
        contact: the owning authority's contact point, released as field ``contact``.
        retention_days: days released data stays at the requester before it is purged.
        peers: per-peer policy (deadline, auto-release), by country code.
        smtp: e-mail notices, or ``None`` (never required).
    """

    deadline_hours: float = 48.0
    contact: str = ""
    retention_days: float = 30.0
    peers: Mapping[str, FollowUpPolicy] = field(default_factory=dict)
    smtp: SmtpConfig | None = None

    def policy(self, peer: str) -> FollowUpPolicy:
        """The policy applied to ``peer``'s follow-ups."""
        return self.peers.get(peer, FollowUpPolicy(deadline_hours=self.deadline_hours))

    @classmethod
    def from_mapping(cls, raw: Any, source: str) -> FollowUpConfig:
        """Validate the ``[followup]`` table (``None`` or missing: the defaults).

        Raises:
            ConfigError: an unknown or invalid field, named ``followup.<field>``.
        """
        if raw is None:
            return cls()
        table = _table(raw, "followup", _TOP_KEYS, source)
        deadline = _number(table.get("deadline_hours", 48.0), "followup.deadline_hours", source)
        peers: dict[str, FollowUpPolicy] = {}
        for country, value in _table(
            table.get("peers", {}), "followup.peers", None, source
        ).items():
            name = f"followup.peers.{country}"
            if len(country) != 2 or not country.isupper():
                raise ConfigError(name, "expected a two-letter country code", source)
            peer = _table(value, name, _PEER_KEYS, source)
            fields = peer.get("auto_release", [])
            if not isinstance(fields, list) or not set(fields) <= set(FOLLOWUP_FIELDS):
                raise ConfigError(
                    f"{name}.auto_release", f"must be a list among {FOLLOWUP_FIELDS}", source
                )
            peers[country] = FollowUpPolicy(
                deadline_hours=_number(
                    peer.get("deadline_hours", deadline), f"{name}.deadline_hours", source
                ),
                auto_release=frozenset(fields),
            )
        contact = table.get("contact", "")
        if not isinstance(contact, str) or len(contact) > 256:
            raise ConfigError("followup.contact", "must be a string (at most 256)", source)
        return cls(
            deadline_hours=deadline,
            contact=contact,
            retention_days=_number(
                table.get("retention_days", 30.0), "followup.retention_days", source
            ),
            peers=peers,
            smtp=_smtp(table.get("smtp"), source),
        )


def _smtp(raw: Any, source: str) -> SmtpConfig | None:
    if raw is None:
        return None
    table = _table(raw, "followup.smtp", _SMTP_KEYS, source)
    host = table.get("host")
    if not isinstance(host, str) or not host:
        raise ConfigError("followup.smtp.host", "is required", source)
    port = table.get("port", 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError("followup.smtp.port", "must be a port number", source)
    to = table.get("to", [])
    if not isinstance(to, list) or not all(isinstance(t, str) and "@" in t for t in to):
        raise ConfigError("followup.smtp.to", "must be a list of e-mail addresses", source)
    sender = table.get("sender", "")
    if not isinstance(sender, str):
        raise ConfigError("followup.smtp.sender", "must be a string", source)
    timeout = _number(table.get("timeout_s", 10.0), "followup.smtp.timeout_s", source)
    return SmtpConfig(host, port, sender, tuple(to), timeout)


def _table(raw: Any, name: str, keys: set[str] | None, source: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(name, "must be a table", source)
    if keys is not None:
        unknown = sorted(set(raw) - keys)
        if unknown:
            raise ConfigError(f"{name}.{unknown[0]}", "unknown field", source)
    return raw


def _number(value: Any, name: str, source: str) -> float:
    if isinstance(value, str):  # an environment override (FEDLOOKUP_FOLLOWUP_*)
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(name, "must be a positive number", source) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
        raise ConfigError(name, "must be a positive number", source)
    return float(value)
