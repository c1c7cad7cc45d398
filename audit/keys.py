"""Ed25519 audit keys: generation, 0600 key files, public key encodings.

A node has one audit key. It signs the node's checkpoints (note key name = log origin),
its cosignatures on peers' checkpoints (same name, cosignature key type 0x04), its query
statements and its receipts. The federation directory publishes the public half.
"""

from __future__ import annotations

import base64
import binascii
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from audit.note import ALG_COSIGNATURE_V1, ALG_ED25519, raw_public_key, vkey
from fedlookup.errors import KeyFileError
from fedlookup.files import PRIVATE_MODE, write_atomic

__all__ = [
    "cosigner_vkey",
    "generate_key",
    "load_private_key",
    "log_vkey",
    "public_key_b64",
    "public_key_from_b64",
    "save_private_key",
]


def generate_key() -> Ed25519PrivateKey:
    """Return a fresh Ed25519 audit key."""
    return Ed25519PrivateKey.generate()


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, mode 0600, atomically.

    Raises:
        KeyFileError: the file exists already or cannot be written.
    """
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        write_atomic(path, pem, mode=PRIVATE_MODE, exclusive=True)
    except FileExistsError as exc:
        raise KeyFileError(f"{path}: refusing to overwrite an existing key") from exc
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot write key: {exc}") from exc


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load an Ed25519 key written by :func:`save_private_key`, or the token key a
    PKCS#11 reference file names (:mod:`audit.pkcs11_key`).

    Raises:
        KeyFileError: missing, readable by group or others, or not an Ed25519 PEM key.
    """
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: key file must not be accessible to group or others (0600)")
    from audit.pkcs11_key import is_reference, load_reference

    if is_reference(data):
        return load_reference(path, data)  # the key lives in a PKCS#11 token
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """Return the raw 32-byte public key in standard base64 (as the directory lists it)."""
    return base64.b64encode(raw_public_key(public_key)).decode()


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Parse a public key written by :func:`public_key_b64`.

    Raises:
        KeyFileError: not base64 of 32 bytes.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError("audit public key is not base64") from exc
    if len(raw) != 32:
        raise KeyFileError("audit public key is not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def log_vkey(origin: str, public_key: Ed25519PublicKey) -> str:
    """Return the note verifier key of a log (type 0x01, name = origin)."""
    return vkey(origin, public_key, ALG_ED25519)


def cosigner_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """Return the cosigner verifier key (type 0x04) of a node that cosigns as ``name``."""
    return vkey(name, public_key, ALG_COSIGNATURE_V1)
