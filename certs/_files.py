"""Reading and writing PEM files: atomic writes, 0600 private keys, errors naming the file."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fedlookup.errors import InputError, KeyFileError
from fedlookup.files import PRIVATE_MODE, write_atomic

__all__ = [
    "load_certificate",
    "load_certificates",
    "load_crl",
    "load_private_key",
    "write_atomic",
    "write_private_key",
]

PUBLIC_MODE = 0o644


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, mode 0600, atomically."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(path, pem, mode=PRIVATE_MODE)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{what} not found", file=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file=str(path)) from exc


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load an ECDSA P-256 private key, refusing a file others can read.

    Raises:
        KeyFileError: missing, group/world-readable, not PEM, or not a P-256 key.
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyFileError(f"{path}: key file not readable: {exc.strerror}") from exc
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyFileError(
            f"{path}: key file mode is {stat.S_IMODE(st.st_mode):04o}; it must be 0600"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise KeyFileError(f"{path}: not an ECDSA P-256 private key")
    return key


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Load every certificate of a PEM file (a CA bundle may hold several).

    Raises:
        InputError: missing file, or no parsable certificate in it.
    """
    data = _read(path, "certificate file")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InputError(f"not a PEM certificate file: {exc}", file=str(path)) from exc
    if not certs:
        raise InputError("no certificate in file", file=str(path))
    return certs


def load_certificate(path: Path) -> x509.Certificate:
    """Load the first certificate of a PEM file (a node certificate).

    Raises:
        InputError: missing file or no parsable certificate in it.
    """
    return load_certificates(path)[0]


def load_crl(path: Path) -> x509.CertificateRevocationList:
    """Load a PEM certificate revocation list.

    Raises:
        InputError: missing file or not a PEM CRL.
    """
    data = _read(path, "revocation list")
    try:
        return x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise InputError(f"not a PEM revocation list: {exc}", file=str(path)) from exc
