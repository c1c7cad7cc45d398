"""Epoch key files encrypted at rest: scrypt-derived key, AES-256-GCM.

A node whose operator sets a passphrase (``FEDLOOKUP_KEY_PASSPHRASE``, or a file named by
``FEDLOOKUP_KEY_PASSPHRASE_FILE``) writes each epoch's secret sealed instead of in hex::

    {"epoch_id", "created_at", "sealed": {"kdf": "scrypt", "n", "r", "p", "salt",
                                           "nonce", "ciphertext"}}

The epoch id is the AEAD's associated data, so a sealed secret cannot be moved to another
epoch's file. Without the passphrase a sealed file does not load (fail closed); plain files
keep loading, so a node can turn sealing on and rotate.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from fedlookup.errors import KeyFileError

__all__ = ["PASSPHRASE_ENV", "PASSPHRASE_FILE_ENV", "open_secret", "passphrase_from_env", "seal"]

PASSPHRASE_ENV = "FEDLOOKUP_KEY_PASSPHRASE"  # noqa: S105 (a variable's name)
PASSPHRASE_FILE_ENV = "FEDLOOKUP_KEY_PASSPHRASE_FILE"  # noqa: S105 (a variable's name)
#: scrypt cost (2^15, r=8: about 32 MiB and 0.1 s here); stored per file, so it can grow.
_N, _R, _P = 2**15, 8, 1


def passphrase_from_env() -> bytes | None:
    """The passphrase from the environment, or ``None`` when neither variable is set.

    Raises:
        KeyFileError: the passphrase file is unreadable or empty.
    """
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value.encode()
    name = os.environ.get(PASSPHRASE_FILE_ENV)
    if not name:
        return None
    try:
        data = Path(name).read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise KeyFileError(f"{PASSPHRASE_FILE_ENV}={name}: {exc.strerror}") from exc
    if not data:
        raise KeyFileError(f"{PASSPHRASE_FILE_ENV}={name}: the file is empty")
    return data


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def seal(secret: bytes, passphrase: bytes, epoch_id: str) -> dict[str, Any]:
    """The ``sealed`` object of a key file for ``secret``."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = _derive(passphrase, salt, _N, _R, _P)
    ciphertext = AESGCM(key).encrypt(nonce, secret, epoch_id.encode("ascii"))
    return {"kdf": "scrypt", "n": _N, "r": _R, "p": _P, "salt": salt.hex(),
            "nonce": nonce.hex(), "ciphertext": ciphertext.hex()}  # fmt: skip


def open_secret(sealed: Any, passphrase: bytes | None, epoch_id: str, path: Path) -> bytes:
    """The secret of a ``sealed`` object.

    Raises:
        KeyFileError: no passphrase, a wrong one, or a malformed object (names the file).
    """
    if passphrase is None:
        raise KeyFileError(
            f"{path}: the key is encrypted; set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV}"
        )
    try:
        if sealed["kdf"] != "scrypt":
            raise ValueError(f"unknown kdf {sealed['kdf']!r}")
        key = _derive(passphrase, bytes.fromhex(sealed["salt"]), int(sealed["n"]),
                      int(sealed["r"]), int(sealed["p"]))  # fmt: skip
        return AESGCM(key).decrypt(
            bytes.fromhex(sealed["nonce"]),
            bytes.fromhex(sealed["ciphertext"]),
            epoch_id.encode("ascii"),
        )
    except InvalidTag as exc:
        raise KeyFileError(f"{path}: wrong passphrase, or the file was altered") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"{path}: malformed sealed key: {exc}") from exc
