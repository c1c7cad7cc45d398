"""The federation directory's content: members, their endpoints, pins, audit keys, limits.

Pure data with validation and one canonical JSON form; signing and files are in
:mod:`federation.directory`. Every parse error names the field (``members[1].endpoint``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fedlookup.errors import InputError, UnlistedPeerError

__all__ = [
    "DIRECTORY_FORMAT",
    "Directory",
    "DirectoryLimits",
    "Member",
    "PeerLike",
    "canonical_json",
]

#: Value of the ``format`` field; a new incompatible layout gets a new value.
DIRECTORY_FORMAT = "fedlookup-directory/1"

_COUNTRY = re.compile(r"[A-Z]{2}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HOST = re.compile(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]")
_VERSIONS = re.compile(r"v[0-9]+(\+v[0-9]+)*")


def canonical_json(obj: Any) -> bytes:
    """The one byte encoding of ``obj``: sorted keys, no spaces, UTF-8, no floats."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _fail(reason: str, fld: str) -> InputError:
    return InputError(reason, field=fld)


def _get(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    fld = f"{where}.{key}" if where else key
    if key not in obj:
        raise _fail("missing", fld)
    value = obj[key]
    # bool is an int in Python; a JSON true is never a count.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(f"expected {kind.__name__}, got {type(value).__name__}", fld)
    return value


class PeerLike(Protocol):
    """What :meth:`Directory.check_peer` needs of a verified peer (``certs.PeerIdentity``)."""

    @property
    def country(self) -> str: ...

    @property
    def key_fingerprint(self) -> str: ...


@dataclass(frozen=True)
class DirectoryLimits:
    """Federation-wide ceilings on what one member may ask of each other member.

    A node may apply tighter limits of its own; it never grants more than these.

    Attributes:
        max_items_per_request: items (identifiers) in one hit check.
        items_per_day: items per UTC day, per answering node.
    """

    max_items_per_request: int
    items_per_day: int

    def __post_init__(self) -> None:
        for name in ("max_items_per_request", "items_per_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _fail(f"must be a positive integer, got {value!r}", f"limits.{name}")

    @classmethod
    def from_json(cls, obj: Any, where: str) -> DirectoryLimits:
        """Parse the ``limits`` object of a member."""
        if not isinstance(obj, dict):
            raise _fail("expected an object", where)
        return cls(
            _get(obj, "max_items_per_request", int, where), _get(obj, "items_per_day", int, where)
        )


@dataclass(frozen=True)
class Member:
    """One country in the federation.

    Attributes:
        country: ISO 3166-1 alpha-2 code; matches the country SAN of its certificate.
        endpoint: ``host:port`` where its node listens (``[v6]:port`` for IPv6).
        key_fingerprint: SHA-256 hex of its certificate's SubjectPublicKeyInfo; only a
            certificate with this key is accepted for the country (``None``: any valid
            certificate from the federation CA naming the country).
        audit_public_key: its raw 32-byte Ed25519 audit log key.
        limits: what it may ask of each other member.
        identifiers: the identifier rule versions its index serves (``"v2"``, ``"v1+v2"``
            during a migration); ``None`` when the directory does not say (askers then
            read the node's ``NodeInfo``). Absent from the signed JSON when ``None``.
    """

    country: str
    endpoint: str
    key_fingerprint: str | None
    audit_public_key: bytes
    limits: DirectoryLimits
    identifiers: str | None = None

    def __post_init__(self) -> None:
        if not _COUNTRY.fullmatch(self.country):
            raise _fail(f"{self.country!r} is not an ISO 3166-1 alpha-2 code", "country")
        host, _, port = self.endpoint.rpartition(":")
        if not (_HOST.fullmatch(host) and port.isdigit() and 0 < int(port) < 65536):
            raise _fail(f"{self.endpoint!r} is not host:port", "endpoint")
        if self.key_fingerprint is not None and not _HEX64.fullmatch(self.key_fingerprint):
            raise _fail("expected 64 lower-case hex digits (SHA-256)", "key_fingerprint")
        if len(self.audit_public_key) != 32:
            raise _fail("expected a raw 32-byte Ed25519 key", "audit_public_key")
        if self.identifiers is not None and not _VERSIONS.fullmatch(self.identifiers):
            raise _fail(f"{self.identifiers!r} is not like 'v2' or 'v1+v2'", "identifiers")

    @property
    def host(self) -> str:
        """Host name (or address) of :attr:`endpoint`, the TLS server name to expect."""
        return self.endpoint.rpartition(":")[0].strip("[]")

    def audit_key(self) -> Ed25519PublicKey:
        """The audit log public key as a ``cryptography`` object."""
        return Ed25519PublicKey.from_public_bytes(self.audit_public_key)

    def to_json(self) -> dict[str, Any]:
        """The member as a JSON-ready dictionary."""
        out = {
            "country": self.country,
            "endpoint": self.endpoint,
            "key_fingerprint": self.key_fingerprint,
            "audit_public_key": base64.b64encode(self.audit_public_key).decode("ascii"),
            "limits": {
                "max_items_per_request": self.limits.max_items_per_request,
                "items_per_day": self.limits.items_per_day,
            },
        }
        if self.identifiers is not None:
            # Only when stated, so directories signed before the field keep their bytes.
            out["identifiers"] = self.identifiers
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Member:
        """Parse one member; errors name ``where`` (``members[2]``) and the field."""
        if not isinstance(obj, dict):
            raise _fail("expected an object", where)
        pin = obj.get("key_fingerprint")
        if pin is not None and not isinstance(pin, str):
            raise _fail("expected a string or null", f"{where}.key_fingerprint")
        versions = obj.get("identifiers")
        if versions is not None and not isinstance(versions, str):
            raise _fail("expected a string", f"{where}.identifiers")
        try:
            key = base64.b64decode(_get(obj, "audit_public_key", str, where), validate=True)
        except binascii.Error as exc:
            raise _fail("not base64", f"{where}.audit_public_key") from exc
        try:
            return cls(
                country=_get(obj, "country", str, where),
                endpoint=_get(obj, "endpoint", str, where),
                key_fingerprint=pin,
                audit_public_key=key,
                limits=DirectoryLimits.from_json(
                    _get(obj, "limits", dict, where), f"{where}.limits"
                ),
                identifiers=versions,
            )
        except InputError as exc:
            if exc.field and not exc.field.startswith(where):
                raise _fail(exc.reason, f"{where}.{exc.field}") from exc
            raise


@dataclass(frozen=True)
class Directory:
    """A version of the federation directory.

    Attributes:
        federation: the federation's name.
        version: grows with every published directory; nodes refuse an older one.
        issued_at: when the authority signed it (UTC).
        members: one per country, kept sorted by country.
    """

    federation: str
    version: int
    issued_at: datetime
    members: tuple[Member, ...] = field(default=())

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise _fail(f"must be a positive integer, got {self.version!r}", "version")
        if self.issued_at.tzinfo is None:
            raise _fail("must carry a time zone", "issued_at")
        countries = [m.country for m in self.members]
        dupes = sorted({c for c in countries if countries.count(c) > 1})
        if dupes:
            raise _fail(f"country listed more than once: {dupes}", "members")
        object.__setattr__(self, "members", tuple(sorted(self.members, key=lambda m: m.country)))

    @property
    def countries(self) -> list[str]:
        """Member countries, sorted."""
        return [m.country for m in self.members]

    def member(self, country: str) -> Member:
        """The member for ``country``.

        Raises:
            UnlistedPeerError: ``country`` is not in this directory.
        """
        for m in self.members:
            if m.country == country:
                return m
        raise UnlistedPeerError(f"{country} is not a member of directory v{self.version}")

    def check_peer(self, peer: PeerLike) -> Member:
        """The member a verified peer is, checking its key against the pin.

        Raises:
            UnlistedPeerError: country unlisted, or a key other than the one pinned.
        """
        m = self.member(peer.country)
        if m.key_fingerprint is not None and m.key_fingerprint != peer.key_fingerprint:
            raise UnlistedPeerError(
                f"{peer.country}: certificate key {peer.key_fingerprint[:16]}... is not the "
                f"key pinned in directory v{self.version} ({m.key_fingerprint[:16]}...)"
            )
        return m

    def to_json(self) -> dict[str, Any]:
        """The directory as a JSON-ready dictionary (the signed object)."""
        return {
            "format": DIRECTORY_FORMAT,
            "federation": self.federation,
            "version": self.version,
            "issued_at": self.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "members": [m.to_json() for m in self.members],
        }

    def canonical(self) -> bytes:
        """The canonical bytes the authority signs."""
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> Directory:
        """Parse the signed object; errors name the field."""
        if not isinstance(obj, dict):
            raise _fail("expected an object", "directory")
        if obj.get("format") != DIRECTORY_FORMAT:
            raise _fail(f"expected {DIRECTORY_FORMAT!r}, got {obj.get('format')!r}", "format")
        issued = _get(obj, "issued_at", str, "")
        try:
            issued_at = datetime.fromisoformat(issued)
        except ValueError as exc:
            raise _fail(f"not an RFC 3339 time: {issued!r}", "issued_at") from exc
        raw_members = _get(obj, "members", list, "")
        members = tuple(Member.from_json(m, f"members[{i}]") for i, m in enumerate(raw_members))
        return cls(
            federation=_get(obj, "federation", str, ""),
            version=_get(obj, "version", int, ""),
            issued_at=issued_at,
            members=members,
        )
