"""An Ed25519 audit key held in a PKCS#11 token (an HSM, or SoftHSM in tests).

``[audit] key`` of ``node.toml`` may name, instead of a PEM key file, a small reference
file (TOML, mode 0600) that says where the key lives::

    # fedlookup audit key in a PKCS#11 token
    pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"
    token_label = "fedlookup"
    key_label = "audit"
    pin_file = "audit.pin"        # relative to this file; mode 0600; the user PIN

:func:`audit.keys.load_private_key` then returns a :class:`Pkcs11Ed25519Key`: it signs
through the token (``CKM_EDDSA``) and never holds the private key, so everything that
signs with the audit key (checkpoints, receipts, statements, cosignatures) works
unchanged. Exporting it (``private_bytes``) is refused. The PKCS#11 binding
(``python-pkcs11``, the ``pkcs11`` extra) is imported only when such a file is used.
TLS keys cannot live in a token yet: docs/adr/0005-pkcs11-keys.md.
"""

from __future__ import annotations

import stat
import threading
import tomllib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    KeySerializationEncryption,
    PrivateFormat,
)

from fedlookup.errors import KeyFileError

__all__ = ["REFERENCE_KEYS", "Pkcs11Ed25519Key", "is_reference", "load_reference"]

#: The fields of a reference file, all required.
REFERENCE_KEYS = ("pkcs11_module", "token_label", "key_label", "pin_file")


def is_reference(data: bytes) -> bool:
    """Whether a key file's bytes are a PKCS#11 reference rather than a PEM key."""
    return b"pkcs11_module" in data and not data.lstrip().startswith(b"-----BEGIN")


def _private(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: must not be accessible to group or others (0600)")
    return data


def load_reference(path: Path, data: bytes) -> Pkcs11Ed25519Key:
    """The token key a reference file names.

    Raises:
        KeyFileError: a field missing or mistyped, the PIN file unreadable or not 0600, the
            module not loadable, no such token or key, or the key not Ed25519 (named).
    """
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeyFileError(f"{path}: not a PKCS#11 key reference: {exc}") from exc
    for name in doc:
        if name not in REFERENCE_KEYS:
            raise KeyFileError(f"{path}: {name}: unknown field")
    fields: dict[str, str] = {}
    for name in REFERENCE_KEYS:
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            raise KeyFileError(f"{path}: {name}: missing or not a string")
        fields[name] = value
    pin = _private(path.parent / fields["pin_file"]).decode("utf-8").strip()
    return Pkcs11Ed25519Key(
        fields["pkcs11_module"], fields["token_label"], fields["key_label"], pin, source=path
    )


# A PKCS#11 login belongs to the process, not to a session: every key object of one token
# shares one logged-in session (a serving node loads the audit key more than once), and
# its lock, since a session is used by one thread at a time.
_SESSIONS: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(module: str, token_label: str, pin: str) -> tuple[Any, threading.Lock]:
    import pkcs11

    with _SESSIONS_LOCK:
        held = _SESSIONS.get((module, token_label))
        if held is None:
            token = pkcs11.lib(module).get_token(token_label=token_label)
            held = (token.open(user_pin=pin), threading.Lock())
            _SESSIONS[(module, token_label)] = held
        return held


class Pkcs11Ed25519Key(Ed25519PrivateKey):
    """An Ed25519 private key that signs inside a PKCS#11 token.

    Args:
        module: path of the PKCS#11 library.
        token_label: the token's label.
        key_label: the ``CKA_LABEL`` of the key pair.
        pin: the user PIN.
        source: the reference file, for error messages.

    Raises:
        KeyFileError: the module, token or key cannot be found, or the key is not Ed25519.
    """

    def __init__(
        self, module: str, token_label: str, key_label: str, pin: str, *, source: Path
    ) -> None:
        try:
            import pkcs11
            from pkcs11 import Attribute, KeyType, ObjectClass
        except ImportError as exc:  # pragma: no cover - the extra is part of dev
            raise KeyFileError(
                f"{source}: PKCS#11 keys need python-pkcs11 (pip install 'fedlookup[pkcs11]')"
            ) from exc
        where = f"{source}: token {token_label!r}, key {key_label!r}"
        try:
            self._session, self._lock = _session(module, token_label, pin)
            with self._lock:
                self._private: Any = self._session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY,
                    key_type=KeyType.EC_EDWARDS,
                    label=key_label,
                )
                public: Any = self._session.get_key(
                    object_class=ObjectClass.PUBLIC_KEY,
                    key_type=KeyType.EC_EDWARDS,
                    label=key_label,
                )
                point = bytes(public[Attribute.EC_POINT])
        except (RuntimeError, pkcs11.PKCS11Error) as exc:
            raise KeyFileError(f"{where}: {type(exc).__name__} {exc}".rstrip()) from exc
        # CKA_EC_POINT of an Ed25519 key: the 32 key bytes in a DER OCTET STRING.
        raw = point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point
        if len(raw) != 32:
            raise KeyFileError(f"{where}: not an Ed25519 public point ({len(point)} bytes)")
        self._public = Ed25519PublicKey.from_public_bytes(raw)
        self._mechanism = pkcs11.Mechanism.EDDSA

    def sign(self, data: bytes | bytearray | memoryview) -> bytes:
        """Sign ``data`` in the token (pure Ed25519, ``CKM_EDDSA``)."""
        with self._lock:
            return bytes(self._private.sign(bytes(data), mechanism=self._mechanism))

    def public_key(self) -> Ed25519PublicKey:
        """The key's public half, read from the token."""
        return self._public

    def private_bytes(
        self,
        encoding: Encoding,
        format: PrivateFormat,
        encryption_algorithm: KeySerializationEncryption,
    ) -> bytes:
        """Refused: the key never leaves the token."""
        raise KeyFileError("the audit key is held in a PKCS#11 token and cannot be exported")

    def private_bytes_raw(self) -> bytes:
        """Refused: the key never leaves the token."""
        raise KeyFileError("the audit key is held in a PKCS#11 token and cannot be exported")

    def __copy__(self) -> Pkcs11Ed25519Key:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Pkcs11Ed25519Key:
        return self
