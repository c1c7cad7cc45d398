"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A note is a text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``. The key ID is the first four bytes of
``SHA-256(name || 0x0A || type || public key)``; type ``0x01`` is an Ed25519 note signature and
``0x04`` a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature). A verifier key
("vkey") is written ``<name>+<hex key ID>+<base64(type || public key)>``.

Base64 is decoded strictly (re-encoding must give back the same text) so that no byte of a
note can change without changing what it means.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fedlookup.errors import VerificationError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "NoteSignature",
    "SignedNote",
    "Verifier",
    "b64decode_strict",
    "key_id",
    "raw_public_key",
    "sign_note",
    "vkey",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "
MAX_SIGNATURES = 64


def b64decode_strict(text: str, what: str) -> bytes:
    """Decode standard base64, refusing any text that does not re-encode identically.

    Raises:
        VerificationError: ``text`` is not canonical base64.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{what}: invalid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise VerificationError(f"{what}: non-canonical base64")
    return raw


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """Return the 32-byte RFC 8032 encoding of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, alg: int, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte key ID ``SHA-256(name || 0x0A || alg || pubkey)[:4]``."""
    data = name.encode() + b"\n" + bytes([alg]) + raw_public_key(public_key)
    return hashlib.sha256(data).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise ValueError(f"invalid key name {name!r}: empty, or has a space or '+'")


def vkey(name: str, public_key: Ed25519PublicKey, alg: int = ALG_ED25519) -> str:
    """Return the verifier key string ``<name>+<hex key ID>+<base64(alg || pubkey)>``."""
    _check_name(name)
    material = base64.b64encode(bytes([alg]) + raw_public_key(public_key)).decode()
    return f"{name}+{key_id(name, alg, public_key).hex()}+{material}"


@dataclass(frozen=True)
class Verifier:
    """A trusted public key as parsed from a vkey string."""

    name: str
    alg: int
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Parse a vkey string.

        Raises:
            VerificationError: malformed vkey, unsupported type, or a key ID that does not match.
        """
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise VerificationError(f"malformed verifier key {text!r}")
        name, hex_id, material = parts
        raw = b64decode_strict(material, f"verifier key {name}")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise VerificationError(f"verifier key {name}: not an Ed25519 (0x01/0x04) key")
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
        kid = key_id(name, raw[0], public_key)
        if hex_id != kid.hex():
            raise VerificationError(f"verifier key {name}: key ID {hex_id} does not match key")
        return cls(name=name, alg=raw[0], key_id=kid, public_key=public_key)

    def __str__(self) -> str:
        return vkey(self.name, self.public_key, self.alg)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """Return the signature line, newline included."""
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{_DASH}{self.name} {blob}\n"


@dataclass(frozen=True)
class SignedNote:
    """A parsed signed note: its text (final newline included) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, data: bytes | str) -> SignedNote:
        """Parse a signed note, strictly.

        Raises:
            VerificationError: not UTF-8, control characters, or a malformed signature line.
        """
        try:
            note = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            raise VerificationError("signed note is not valid UTF-8") from exc
        if any(ord(c) < 0x20 and c != "\n" for c in note):
            raise VerificationError("signed note contains a control character")
        split = note.rfind("\n\n")
        if split < 0 or not note.endswith("\n"):
            raise VerificationError("signed note has no signature block")
        text, block = note[: split + 1], note[split + 2 :]
        lines = block[:-1].split("\n")
        if not 1 <= len(lines) <= MAX_SIGNATURES:
            raise VerificationError(f"signed note has {len(lines)} signature lines")
        sigs = []
        for line in lines:
            if not line.startswith(_DASH):
                raise VerificationError(f"malformed signature line {line!r}")
            name, _, blob = line[len(_DASH) :].partition(" ")
            raw = b64decode_strict(blob, f"signature by {name}")
            if not name or len(raw) < 5 or "+" in name:
                raise VerificationError(f"malformed signature line {line!r}")
            sigs.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
        return cls(text=text, signatures=tuple(sigs))

    def by(self, verifier: Verifier) -> NoteSignature | None:
        """Return the signature line matching ``verifier``'s name and key ID, if any."""
        for sig in self.signatures:
            if sig.name == verifier.name and sig.key_id == verifier.key_id:
                return sig
        return None

    def verify(self, verifier: Verifier) -> None:
        """Verify the Ed25519 note signature (type 0x01) by ``verifier``.

        Raises:
            VerificationError: no signature by that key, or it does not verify.
        """
        if verifier.alg != ALG_ED25519:
            raise VerificationError(f"key {verifier.name} is not a note-signing key")
        sig = self.by(verifier)
        if sig is None:
            raise VerificationError(f"note is not signed by {verifier.name}")
        try:
            verifier.public_key.verify(sig.signature, self.text.encode())
        except InvalidSignature as exc:
            raise VerificationError(f"signature by {verifier.name} does not verify") from exc

    def serialize(self) -> bytes:
        """Return the note with all its signature lines."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signature(self, sig: NoteSignature) -> SignedNote:
        """Return a copy with ``sig`` added (an identical line is not duplicated)."""
        if sig in self.signatures:
            return self
        return SignedNote(self.text, (*self.signatures, sig))


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> SignedNote:
    """Sign ``text`` (which must end in a newline) as a C2SP note under ``name``."""
    _check_name(name)
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValueError("note text must end in a newline and hold no control characters")
    kid = key_id(name, ALG_ED25519, key.public_key())
    sig = NoteSignature(name=name, key_id=kid, signature=key.sign(text.encode()))
    return SignedNote(text=text, signatures=(sig,))
