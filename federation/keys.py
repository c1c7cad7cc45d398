"""Epoch keys and the reference key, kept as 0600 files: :class:`EpochKeyStore`.

An *epoch key* is the node's PSI scalar ``b``. Every tag and sealed label of the encrypted
index derives from ``H(y)^b`` and the epoch id, so rotating the key (:meth:`EpochKeyStore.rotate`)
re-tags the whole index and makes every peer's mirror useless: the peer sees a new epoch id
in ``NodeInfo`` and fetches a full index. Old epoch files are kept (0600) so an operator can
still answer for an audit what an old tag meant; :meth:`EpochKeyStore.prune` deletes them.

The *reference key* turns a record id into its follow-up reference (see
:mod:`federation.labels`). It is not rotated: a reference given to a peer must stay
resolvable after a rotation.

Layout of the key directory::

    epoch-<id>.json     {"epoch_id", "created_at", "secret" (hex)}   mode 0600
    current             the current epoch id (written atomically)
    reference.key       32 random bytes                              mode 0600
"""

from __future__ import annotations

import json
import re
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from federation.key_sealing import open_secret, passphrase_from_env, seal
from federation.psi import check_key, new_key
from fedlookup.errors import KeyFileError
from fedlookup.files import PRIVATE_MODE, write_atomic

__all__ = ["EpochKey", "EpochKeyStore", "load_or_create_reference_key"]

_EPOCH_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")
REFERENCE_KEY_LENGTH = 32


@dataclass(frozen=True)
class EpochKey:
    """One epoch's PSI key.

    Attributes:
        epoch_id: ``YYYYMMDDTHHMMSSZ-<8 hex>``; sorts by creation time.
        secret: the 32-byte P-256 scalar (never leaves the node).
        created_at: creation time (UTC).
    """

    epoch_id: str
    secret: bytes = field(repr=False)
    created_at: datetime

    def __post_init__(self) -> None:
        if not _EPOCH_ID.match(self.epoch_id):
            raise KeyFileError(f"malformed epoch id {self.epoch_id!r}")
        check_key(self.secret)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, created 0600 from the start."""
    write_atomic(path, data, mode=PRIVATE_MODE)


def _read_private(path: Path) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path}: key file missing") from exc
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyFileError(f"{path}: key file must be mode 0600, is {stat.S_IMODE(st.st_mode):o}")
    return path.read_bytes()


def load_or_create_reference_key(directory: Path) -> bytes:
    """Return the node's reference key, creating it (0600) on first use.

    Raises:
        KeyFileError: the file exists with unsafe permissions or the wrong length.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "reference.key"
    if not path.exists():
        _write_private(path, secrets.token_bytes(REFERENCE_KEY_LENGTH))
    data = _read_private(path)
    if len(data) != REFERENCE_KEY_LENGTH:
        raise KeyFileError(f"{path}: reference key must be {REFERENCE_KEY_LENGTH} bytes")
    return data


class EpochKeyStore:
    """A directory of epoch key files with one current epoch.

    Args:
        directory: where the key files live (created 0700 if absent).
        passphrase: seal new key files under it (``federation.key_sealing``); default
            from ``FEDLOOKUP_KEY_PASSPHRASE`` or ``FEDLOOKUP_KEY_PASSPHRASE_FILE``.

    Example::

        store = EpochKeyStore(Path("keys"))
        key = store.current()          # creates the first epoch on first use
        newer = store.rotate()
        assert newer.epoch_id != key.epoch_id
    """

    def __init__(self, directory: Path, *, passphrase: bytes | None = None) -> None:
        self.directory = Path(directory)
        self.passphrase = passphrase if passphrase is not None else passphrase_from_env()

    def _path(self, epoch_id: str) -> Path:
        return self.directory / f"epoch-{epoch_id}.json"

    def load(self, epoch_id: str) -> EpochKey:
        """Load one epoch's key.

        Raises:
            KeyFileError: missing, mode not 0600, malformed.
        """
        if not _EPOCH_ID.match(epoch_id):
            raise KeyFileError(f"malformed epoch id {epoch_id!r}")
        path = self._path(epoch_id)
        try:
            doc = json.loads(_read_private(path))
            if "sealed" in doc:
                secret = open_secret(doc["sealed"], self.passphrase, str(doc["epoch_id"]), path)
            else:
                secret = bytes.fromhex(doc["secret"])
            key = EpochKey(
                epoch_id=doc["epoch_id"],
                secret=secret,
                created_at=datetime.fromisoformat(doc["created_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyFileError(f"{path}: malformed epoch key file: {exc}") from exc
        if key.epoch_id != epoch_id:
            raise KeyFileError(f"{path}: holds epoch {key.epoch_id}, expected {epoch_id}")
        return key

    def current(self) -> EpochKey:
        """Return the current epoch key, creating the first one if the store is empty.

        Raises:
            KeyFileError: the current key file is missing or unsafe.
        """
        pointer = self.directory / "current"
        if not pointer.exists():
            return self.rotate()
        return self.load(pointer.read_text(encoding="ascii").strip())

    def rotate(self) -> EpochKey:
        """Create a new epoch key and make it current.

        The caller must then rebuild the index under the new key (``NodeIndex.update`` with
        ``epoch_key=`` the new key); until that commits, the index keeps serving the old
        epoch, whose key file stays in place.

        Returns:
            The new key.
        """
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        now = datetime.now(UTC).replace(microsecond=0)
        epoch_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
        key = EpochKey(epoch_id=epoch_id, secret=new_key(), created_at=now)
        pointer = self.directory / "current"
        previous = pointer.read_text(encoding="ascii").strip() if pointer.exists() else None
        doc: dict[str, object] = {"epoch_id": epoch_id, "created_at": now.isoformat()}
        if self.passphrase is not None:
            doc["sealed"] = seal(key.secret, self.passphrase, epoch_id)
        else:
            doc["secret"] = key.secret.hex()
        _write_private(self._path(epoch_id), json.dumps(doc).encode())
        if previous and self._path(previous).exists():
            # Stamped before the switch: the grace period of node prune counts from here.
            old = self._doc(previous)
            old["superseded_at"] = now.isoformat()
            _write_private(self._path(previous), json.dumps(old).encode())
        _write_private(pointer, epoch_id.encode("ascii"))
        return key

    def epochs(self) -> list[str]:
        """Return every stored epoch id, oldest first."""
        names = (p.name for p in self.directory.glob("epoch-*.json"))
        return sorted(n[len("epoch-") : -len(".json")] for n in names)

    def prune(self, keep: set[str]) -> list[str]:
        """Delete epoch key files not in ``keep`` (the current one is always kept).

        Returns:
            The epoch ids deleted.
        """
        current = self.current().epoch_id
        gone = [e for e in self.epochs() if e not in keep and e != current]
        for epoch_id in gone:
            self._path(epoch_id).unlink()
        return gone

    def _doc(self, epoch_id: str) -> dict[str, object]:
        """An epoch file's JSON, read without opening its secret."""
        path = self._path(epoch_id)
        try:
            doc = json.loads(_read_private(path))
        except ValueError as exc:
            raise KeyFileError(f"{path}: malformed epoch key file: {exc}") from exc
        if not isinstance(doc, dict):
            raise KeyFileError(f"{path}: malformed epoch key file")
        return doc

    def _time(self, epoch_id: str, name: str) -> datetime | None:
        value = self._doc(epoch_id).get(name)
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError as exc:
            raise KeyFileError(f"{self._path(epoch_id)}: malformed {name}: {exc}") from exc

    def prune_superseded(self, grace: timedelta, *, now: datetime | None = None) -> list[str]:
        """Delete the key files of epochs superseded more than ``grace`` ago.

        An epoch is superseded when :meth:`rotate` made another one current (written into
        its file as ``superseded_at``; for files older than that field, the current
        epoch's creation time stands in, which keeps them at least as long). The current
        epoch is always kept. A leaked old key plus any peer's mirror of that epoch
        rebuilds the registry's tags offline, so old keys should not outlive the time an
        operator may need them for an audit question.

        Returns:
            The epoch ids deleted.
        """
        now = now or datetime.now(UTC)
        current = self.current().epoch_id
        fallback = self._time(current, "created_at") or now
        keep = {
            e
            for e in self.epochs()
            if e != current and now - (self._time(e, "superseded_at") or fallback) < grace
        }
        return self.prune(keep)
