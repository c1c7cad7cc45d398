"""Reading the authority's members file (TOML) into directory members.

::

    federation = "Example federation"        # optional

    [defaults.limits]                        # optional, for members without their own
    max_items_per_request = 1000
    items_per_day = 100000

    [[members]]
    country = "DE"
    endpoint = "de.fedlookup.example:50051"
    cert = "DE/node.pem"                     # relative to this file; its key is pinned
    audit_public_key = "DE/audit.pub"        # PEM, raw base64, or a C2SP vkey line
    # pin = false                            # accept any CA certificate naming DE
    # identifiers = "v2"                     # identifier rules its index serves ("v1+v2")

Errors name the file and the field (``members[0].cert``); like ``node.toml``, an unknown
key (a typo such as ``pinn = false``) is an error, never ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from certs import certificate_country, key_fingerprint
from certs._files import load_certificate
from federation.directory_model import DirectoryLimits, Member
from fedlookup.errors import CertificateError, InputError

__all__ = ["read_audit_public_key", "read_members", "version_on_disk"]

_VKEY_ED25519 = 0x01
# C2SP signed-note verifier key: <name>+<8 hex key hash>+<base64 of type byte and key>
_VKEY = re.compile(r"[^+\s]+\+[0-9a-f]{8}\+([A-Za-z0-9+/=]+)")


def read_audit_public_key(path: Path) -> bytes:
    """The raw 32-byte Ed25519 key in ``path`` (PEM, raw base64, or C2SP vkey).

    Raises:
        InputError: unreadable, or none of the three forms.
    """
    try:
        text = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read audit public key: {exc}", file=str(path)) from exc
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(text.encode())
        except ValueError as exc:
            raise InputError("not a PEM public key", file=str(path)) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("not an Ed25519 public key", file=str(path))
        return key.public_bytes_raw()
    vkey = _VKEY.fullmatch(text)
    try:
        raw = base64.b64decode(vkey.group(1) if vkey else text, validate=True)
    except binascii.Error as exc:
        raise InputError("not PEM, base64, or a vkey", file=str(path)) from exc
    if vkey:
        if len(raw) != 33 or raw[0] != _VKEY_ED25519:
            raise InputError("vkey is not an Ed25519 (type 0x01) key", file=str(path))
        raw = raw[1:]
    if len(raw) != 32:
        raise InputError(f"expected 32 key bytes, got {len(raw)}", file=str(path))
    return raw


_TOP = ("federation", "defaults", "members")
_DEFAULTS = ("limits",)
_MEMBER = ("country", "endpoint", "cert", "audit_public_key", "pin", "limits", "identifiers")
_LIMITS = ("max_items_per_request", "items_per_day")


def _strict(table: dict[str, Any], allowed: tuple[str, ...], where: str, source: str) -> None:
    """Refuse a key the members file does not define (a typo must not pass silently)."""
    for key in table:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            raise InputError(
                f"unknown field (expected one of: {', '.join(allowed)})", file=source, field=field
            )


def _member(item: Any, where: str, base: Path, default_limits: Any, source: str) -> Member:
    if not isinstance(item, dict):
        raise InputError("expected a table", file=source, field=where)
    _strict(item, _MEMBER, where, source)
    if isinstance(item.get("limits"), dict):
        _strict(item["limits"], _LIMITS, f"{where}.limits", source)

    def need(key: str) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value:
            raise InputError("missing or not a string", file=source, field=f"{where}.{key}")
        return value

    cert_path = base / need("cert")
    cert = load_certificate(cert_path)
    try:
        cert_country = certificate_country(cert)
    except CertificateError as exc:
        raise InputError(str(exc), file=source, field=f"{where}.cert") from exc
    country = need("country")
    if cert_country != country:
        raise InputError(
            f"certificate {cert_path} is for {cert_country}",
            file=source,
            field=f"{where}.country",
        )
    pin = item.get("pin", True)
    if not isinstance(pin, bool):
        raise InputError("expected true or false", file=source, field=f"{where}.pin")
    versions = item.get("identifiers")
    if versions is not None and not isinstance(versions, str):
        raise InputError("expected a string", file=source, field=f"{where}.identifiers")
    limits = item.get("limits", default_limits)
    if not isinstance(limits, dict):
        raise InputError(
            "missing (or give [defaults.limits])", file=source, field=f"{where}.limits"
        )
    try:
        return Member(
            country=country,
            endpoint=need("endpoint"),
            key_fingerprint=key_fingerprint(cert) if pin else None,
            audit_public_key=read_audit_public_key(base / need("audit_public_key")),
            limits=DirectoryLimits.from_json(limits, f"{where}.limits"),
            identifiers=versions,
        )
    except InputError as exc:
        if exc.file:
            raise
        fld = exc.field if exc.field and exc.field.startswith(where) else f"{where}.{exc.field}"
        raise InputError(exc.reason, file=source, field=fld) from exc


def read_members(path: Path) -> tuple[str | None, list[Member]]:
    """The federation name (if given) and members listed in a members file.

    Raises:
        InputError: unreadable TOML, a missing or malformed field, a certificate naming
            another country (the error names file and field).
    """
    source = str(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read members file: {exc}", file=source) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not TOML: {exc}", file=source) from exc
    _strict(data, _TOP, "", source)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InputError("expected a table", file=source, field="defaults")
    _strict(defaults, _DEFAULTS, "defaults", source)
    if isinstance(defaults.get("limits"), dict):
        _strict(defaults["limits"], _LIMITS, "defaults.limits", source)
    name = data.get("federation")
    if name is not None and not isinstance(name, str):
        raise InputError("expected a string", file=source, field="federation")
    items = data.get("members")
    if not isinstance(items, list) or not items:
        raise InputError("no [[members]]", file=source, field="members")
    default_limits = defaults.get("limits")
    base = path.parent
    return name, [
        _member(item, f"members[{i}]", base, default_limits, source) for i, item in enumerate(items)
    ]


def version_on_disk(path: Path) -> int | None:
    """The version of the directory file at ``path`` (unverified), or ``None``."""
    try:
        doc = json.loads(path.read_bytes())
        version = doc["directory"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return version if isinstance(version, int) else None
