"""The signed federation directory: sign, write, load and verify.

File format (JSON, UTF-8)::

    {"directory": {"format": "fedlookup-directory/1", "federation": "...", "version": 3,
                   "issued_at": "2026-11-22T00:00:00Z", "members": [...]},
     "signature": "<base64 DER ECDSA-SHA256>"}

The signature covers ``b"fedlookup-directory-v1\\n"`` followed by the canonical JSON of the
``directory`` object (:func:`federation.directory_model.canonical_json`), made with the
federation CA's P-256 key: the CA certificate stays the only trust anchor a node needs.
The prefix keeps these signatures apart from the certificates and CRLs the same key signs
(a DER structure never starts with ``f``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from federation.directory_model import (
    DIRECTORY_FORMAT,
    Directory,
    DirectoryLimits,
    Member,
    PeerLike,
    canonical_json,
)
from fedlookup.errors import (
    DirectoryRollbackError,
    DirectorySignatureError,
    InputError,
)
from fedlookup.files import write_atomic

__all__ = [
    "DIRECTORY_FORMAT",
    "SIGNING_CONTEXT",
    "Directory",
    "DirectoryAuthority",
    "DirectoryLimits",
    "Member",
    "PeerLike",
    "Trust",
    "load_directory",
    "parse_directory",
    "sign_directory",
    "write_directory",
]

#: Domain separation prefix of the signed bytes.
SIGNING_CONTEXT = b"fedlookup-directory-v1\n"

Trust = x509.Certificate | Sequence[x509.Certificate] | Path


class DirectoryAuthority(Protocol):
    """What signs a directory: ``certs.CAFiles`` fits."""

    def private_key(self) -> ec.EllipticCurvePrivateKey: ...


def sign_directory(directory: Directory, authority: DirectoryAuthority) -> bytes:
    """The signed directory file's bytes.

    Args:
        directory: the content.
        authority: the federation CA (anything with ``private_key()``).

    Returns:
        UTF-8 JSON ``{"directory": ..., "signature": ...}``, one line plus a newline.
    """
    body = directory.to_json()
    sig = authority.private_key().sign(
        SIGNING_CONTEXT + canonical_json(body), ec.ECDSA(hashes.SHA256())
    )
    doc = {"directory": body, "signature": base64.b64encode(sig).decode("ascii")}
    return canonical_json(doc) + b"\n"


def write_directory(directory: Directory, authority: DirectoryAuthority, path: Path) -> None:
    """Sign ``directory`` and write it to ``path`` atomically (temp file, fsync, rename)."""
    write_atomic(Path(path), sign_directory(directory, authority))


def _roots(trust: Trust) -> list[x509.Certificate]:
    if isinstance(trust, x509.Certificate):
        return [trust]
    if isinstance(trust, Path):
        try:
            return x509.load_pem_x509_certificates(trust.read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load the federation root: {exc}", file=str(trust)) from exc
    return list(trust)


def parse_directory(
    data: bytes, trust: Trust, *, min_version: int | None = None, source: str | None = None
) -> Directory:
    """Verify and parse a signed directory.

    The signature is checked before any member field is trusted; the version after.

    Args:
        data: the file's bytes.
        trust: the federation root certificate(s), or the path of ``ca.pem``.
        min_version: refuse a directory whose version is lower than this.
        source: file name for error messages.

    Returns:
        The directory.

    Raises:
        InputError: not JSON, or a malformed field (named).
        DirectorySignatureError: the signature does not verify under any root.
        DirectoryRollbackError: the version is below ``min_version``.
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a JSON directory: {exc}", file=source) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("directory"), dict):
        raise InputError("missing object", file=source, field="directory")
    if not isinstance(doc.get("signature"), str):
        raise InputError("missing or not a string", file=source, field="signature")
    try:
        sig = base64.b64decode(doc["signature"], validate=True)
    except binascii.Error as exc:
        raise InputError("not base64", file=source, field="signature") from exc
    signed = SIGNING_CONTEXT + canonical_json(doc["directory"])
    if not any(_verifies(root, sig, signed) for root in _roots(trust)):
        raise DirectorySignatureError(
            f"{source or 'directory'}: signature does not verify under the federation root"
        )
    try:
        directory = Directory.from_json(doc["directory"])
    except InputError as exc:
        fld = f"directory.{exc.field}" if exc.field else "directory"
        raise InputError(exc.reason, file=source, field=fld) from exc
    if min_version is not None and directory.version < min_version:
        raise DirectoryRollbackError(
            f"{source or 'directory'}: version {directory.version} is older than "
            f"{min_version}, the oldest acceptable"
        )
    return directory


def _verifies(root: x509.Certificate, sig: bytes, signed: bytes) -> bool:
    key = root.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(sig, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def load_directory(path: Path, trust: Trust, *, min_version: int | None = None) -> Directory:
    """Read, verify and parse the signed directory at ``path``.

    Raises:
        InputError: unreadable file or malformed field.
        DirectorySignatureError: bad signature.
        DirectoryRollbackError: version below ``min_version``.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read directory: {exc.strerror}", file=str(path)) from exc
    return parse_directory(data, trust, min_version=min_version, source=str(path))
