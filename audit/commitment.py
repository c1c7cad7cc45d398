"""Commitments to queried identifiers, and the separate store of their openings.

``commit(nonce, identifiers) = SHA-256("fedlookup/commitment/v1\\n" || nonce(32) ||
u32be(count) || for each identifier: u32be(len) || bytes)``, identifiers in query order.

The nonce is 32 random bytes per request, kept only in the :class:`OpeningStore` (SQLite,
mode 0600), which is the one place plaintext identifiers exist at rest on the asking side.
Random rather than derived from a long-lived key: once an opening is purged at the end of
its retention period, nothing left anywhere lets anyone test guesses against the commitment.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from audit.canonical import b64, canonical_bytes, format_time, parse_canonical, parse_time, unb64
from audit.statements import check_keys, now, text_field
from fedlookup.errors import AuditError, VerificationError

__all__ = ["NONCE_SIZE", "Opening", "OpeningStore", "blinding_key", "commit"]

NONCE_SIZE = 32
_DOMAIN = b"fedlookup/commitment/v1\n"
OPENING_TYPE = "fedlookup.opening"


#: Order of the P-256 group (the blinding key is a scalar of it).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_BLINDING = b"fedlookup/blinding/v1\n"


def blinding_key(nonce: bytes) -> bytes:
    """The request's PSI blinding key ``a``, derived from its commitment nonce.

    The asker blinds a request under this key, so whoever holds the opening (nonce and
    identifiers) can recompute the exact request bytes and compare their SHA-256 with the
    one the answering node's receipt binds (``audit check-reveal``). The nonce is secret
    until revealed, so the key is as unpredictable to the answering node as a fresh one.

    Returns:
        32 big-endian bytes, a scalar in ``[1, n)``.
    """
    wide = int.from_bytes(hashlib.sha512(_BLINDING + nonce).digest(), "big")
    return (wide % (_P256_ORDER - 1) + 1).to_bytes(32, "big")


def commit(nonce: bytes, identifiers: Sequence[bytes]) -> bytes:
    """Return the 32-byte commitment to ``identifiers`` under ``nonce``."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError("commitment nonce must be 32 bytes")
    h = hashlib.sha256(_DOMAIN + nonce + struct.pack(">I", len(identifiers)))
    for ident in identifiers:
        h.update(struct.pack(">I", len(ident)))
        h.update(ident)
    return h.digest()


@dataclass(frozen=True)
class Opening:
    """The secret that opens one request's commitment: its nonce and identifiers."""

    request_id: str
    nonce: bytes
    identifiers: tuple[bytes, ...]
    created_at: datetime

    def commitment(self) -> bytes:
        """Recompute the commitment this opening opens."""
        return commit(self.nonce, self.identifiers)

    def check(self, commitment: bytes) -> None:
        """Check the opening against a logged commitment.

        Raises:
            VerificationError: it does not open ``commitment``.
        """
        if not hmac.compare_digest(self.commitment(), commitment):
            raise VerificationError(f"opening of {self.request_id} does not match the commitment")

    def to_bytes(self) -> bytes:
        """The opening file an auditor receives (canonical JSON)."""
        obj: dict[str, Any] = {
            "type": OPENING_TYPE,
            "v": 1,
            "request_id": self.request_id,
            "nonce": b64(self.nonce),
            "identifiers": [b64(i) for i in self.identifiers],
            "created_at": format_time(self.created_at),
        }
        return canonical_bytes(obj) + b"\n"

    @classmethod
    def parse(cls, data: bytes) -> Opening:
        """Parse an opening file.

        Raises:
            VerificationError: malformed.
        """
        what = "opening"
        obj = parse_canonical(data.rstrip(b"\n"), what)
        check_keys(obj, {"type", "v", "request_id", "nonce", "identifiers", "created_at"}, what)
        if obj["type"] != OPENING_TYPE or obj["v"] != 1 or not isinstance(obj["identifiers"], list):
            raise VerificationError(f"{what}: unsupported type or version")
        nonce = unb64(obj["nonce"], f"{what}: nonce")
        if len(nonce) != NONCE_SIZE:
            raise VerificationError(f"{what}: nonce must be {NONCE_SIZE} bytes")
        return cls(
            request_id=text_field(obj, "request_id", what, empty=False),
            nonce=nonce,
            identifiers=tuple(unb64(i, f"{what}: identifier") for i in obj["identifiers"]),
            created_at=parse_time(obj["created_at"], f"{what}: created_at"),
        )


class OpeningStore:
    """SQLite store of openings, separate from the log, purged per retention period.

    Args:
        path: the database file (created mode 0600).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS openings (request_id TEXT PRIMARY KEY,"
                " created_at TEXT NOT NULL, nonce BLOB NOT NULL, identifiers BLOB NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise AuditError(f"{path}: cannot open the openings store: {exc}") from exc

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> OpeningStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self, request_id: str, identifiers: Sequence[bytes]) -> bytes:
        """Draw a fresh nonce, store the opening durably, and return the commitment.

        Raises:
            AuditError: the opening could not be stored (the query must not be sent).
        """
        opening = Opening(request_id, secrets.token_bytes(NONCE_SIZE), tuple(identifiers), now())
        blob = canonical_bytes({"ids": [b64(i) for i in opening.identifiers]})
        try:
            self._db.execute(
                "INSERT INTO openings VALUES (?, ?, ?, ?)",
                (request_id, format_time(opening.created_at), opening.nonce, blob),
            )
        except sqlite3.Error as exc:
            raise AuditError(f"cannot store the opening of {request_id}: {exc}") from exc
        return opening.commitment()

    def create_many(self, requests: Sequence[tuple[str, Sequence[bytes]]]) -> list[bytes]:
        """Store the openings of several requests in one transaction (one ``fsync``).

        Args:
            requests: ``(request_id, identifiers)`` per request.

        Returns:
            The commitment of each request, in order.

        Raises:
            AuditError: the openings could not be stored (none was; no query may be sent).
        """
        return [o.commitment() for o in self.create_openings(requests)]

    def create_openings(self, requests: Sequence[tuple[str, Sequence[bytes]]]) -> list[Opening]:
        """:meth:`create_many`, returning the openings (their nonces give the blinding keys).

        Raises:
            AuditError: the openings could not be stored (none was; no query may be sent).
        """
        openings = [
            Opening(rid, secrets.token_bytes(NONCE_SIZE), tuple(ids), now())
            for rid, ids in requests
        ]
        rows = [
            (
                o.request_id,
                format_time(o.created_at),
                o.nonce,
                canonical_bytes({"ids": [b64(i) for i in o.identifiers]}),
            )
            for o in openings
        ]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO openings VALUES (?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            names = ", ".join(o.request_id for o in openings)
            raise AuditError(f"cannot store the openings of {names}: {exc}") from exc
        return openings

    def get(self, request_id: str) -> Opening:
        """Return the opening of ``request_id``.

        Raises:
            AuditError: unknown request, or already purged.
        """
        row = self._db.execute(
            "SELECT created_at, nonce, identifiers FROM openings WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            raise AuditError(f"no opening for request {request_id} (unknown or purged)")
        ids = parse_canonical(row[2], "stored opening")["ids"]
        return Opening(
            request_id=request_id,
            nonce=bytes(row[1]),
            identifiers=tuple(unb64(i, "stored identifier") for i in ids),
            created_at=parse_time(row[0], "stored opening"),
        )

    def purge(self, older_than: timedelta, *, at: datetime | None = None) -> int:
        """Delete openings older than ``older_than``; return how many were deleted."""
        cutoff = format_time((at or now()) - older_than)
        cur = self._db.execute("DELETE FROM openings WHERE created_at < ?", (cutoff,))
        self._db.execute("VACUUM")  # do not leave deleted identifiers in free pages
        return cur.rowcount
