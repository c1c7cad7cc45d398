"""Secrets of the desk: argon2id password hashes, bearer tokens, session ids, TOTP codes.

* Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommended profile); a hash made under older parameters is re-hashed at the next login.
* Tokens and session ids are 32 random bytes; only their SHA-256 is stored, so a copy of the
  database lets nobody in.
* TOTP is RFC 6238 (SHA-1, 30 s steps, 6 digits: what every authenticator app speaks), with
  one step of clock drift accepted either way.

Verification raises :class:`AuthenticationError`; it never returns ``False``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from fedlookup.errors import FedlookupError

__all__ = [
    "AuthenticationError",
    "hash_password",
    "new_password",
    "new_secret",
    "new_totp_secret",
    "password_needs_rehash",
    "secret_hash",
    "totp_code",
    "totp_uri",
    "verify_password",
    "verify_totp",
]

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
_TOTP_STEP_S = 30
_TOTP_DIGITS = 6


class AuthenticationError(FedlookupError):
    """A password, token or one-time code did not verify (the message is generic)."""


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> None:
    """Check ``password`` against an argon2id PHC string.

    Raises:
        AuthenticationError: it does not match, or the stored hash is not argon2.
    """
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
        raise AuthenticationError("wrong name or password") from exc


def password_needs_rehash(stored: str) -> bool:
    """Whether a hash was made under older parameters than the current ones."""
    return _hasher.check_needs_rehash(stored)


def new_password() -> str:
    """A one-time password to hand to a new user (20 URL-safe characters)."""
    return secrets.token_urlsafe(15)


def new_secret() -> str:
    """A bearer token or session id: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the database stores for a token or session id (hex SHA-256)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_totp_secret() -> str:
    """A TOTP secret, base32 (160 bits, as RFC 4226 recommends)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def totp_code(secret: str, at: float | None = None) -> str:
    """The TOTP code of ``secret`` at time ``at`` (default: now)."""
    counter = int((time.time() if at is None else at) // _TOTP_STEP_S)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**_TOTP_DIGITS).zfill(_TOTP_DIGITS)


def verify_totp(secret: str, code: str, at: float | None = None) -> None:
    """Check a TOTP code, allowing one step of drift either way.

    Raises:
        AuthenticationError: the code is wrong or missing.
    """
    now = time.time() if at is None else at
    given = code.strip().replace(" ", "")
    for drift in (0, -_TOTP_STEP_S, _TOTP_STEP_S):
        if given and hmac.compare_digest(totp_code(secret, now + drift), given):
            return
    raise AuthenticationError("wrong one-time code")


def totp_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports (as a QR code or by hand)."""
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}"
