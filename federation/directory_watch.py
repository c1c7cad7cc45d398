"""Holding the current federation directory and picking up a new one without restart."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from federation.directory import Trust, parse_directory
from federation.directory_model import Directory, Member, PeerLike
from fedlookup.errors import DirectoryRollbackError, FedlookupError, InputError

__all__ = ["DirectoryWatcher"]

log = logging.getLogger(__name__)

OnChange = Callable[[Directory | None, Directory], None]


# File times are coarse (a few milliseconds): a file rewritten twice within one tick keeps
# its stamp. Until a stamp is this old, the watcher also compares the file's bytes.
RACY_NS = 2_000_000_000


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _racy(stamp: tuple[int, int, int] | None) -> bool:
    return stamp is not None and time.time_ns() - stamp[0] < RACY_NS


class DirectoryWatcher:
    """The node's view of the federation directory, reloaded when its file changes.

    Each access stats the file (cheap); when it changed, the new file is verified and
    adopted only if its signature verifies and its version is newer. A refused file leaves
    the previous directory in force and its reason in the log and in :attr:`last_error`.

    Args:
        path: the signed directory file.
        trust: the federation root certificate(s), or the path of ``ca.pem``.
        on_change: called as ``on_change(old, new)`` before a new directory is adopted (the
            node writes it to its audit log). If it raises, the new directory is not
            adopted, the exception propagates, and the next access tries again.
        min_version: the lowest version acceptable at start (the highest seen before a
            restart, so a restart cannot be used to roll back).

    Raises:
        InputError, DirectorySignatureError, DirectoryRollbackError: the file at start-up
            cannot be accepted (a node does not start without a directory).

    Example::

        watcher = DirectoryWatcher(Path("directory.json"), Path("tls/ca.pem"))
        member = watcher.check_peer(identity)      # UnlistedPeerError if not listed
    """

    def __init__(
        self,
        path: Path,
        trust: Trust,
        *,
        on_change: OnChange | None = None,
        min_version: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._trust = trust
        self._on_change = on_change
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        self._racy = _racy(self._stamp)
        self._bytes = self._read()
        self._refused: bytes | None = None
        self._directory = parse_directory(
            self._bytes, trust, min_version=min_version, source=str(self.path)
        )
        #: Why the last changed file was refused, or ``None`` after a successful load.
        self.last_error: str | None = None

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read directory: {exc.strerror}", file=str(self.path)) from exc

    @property
    def current(self) -> Directory:
        """The directory in force (after checking the file for a newer one)."""
        self.poll()
        return self._directory

    def poll(self) -> bool:
        """Check the file now.

        Returns:
            True when a new directory was adopted by this call.
        """
        stamp = _stamp(self.path)
        if stamp == self._stamp and not self._racy:
            return False
        with self._lock:
            if stamp == self._stamp and not self._racy:
                return False
            self._stamp, self._racy = stamp, _racy(stamp)
            held = self._directory
            data: bytes | None = None
            try:
                data = self._read()
                if data in (self._bytes, self._refused):
                    return False
                new = parse_directory(data, self._trust, source=str(self.path))
                if new.version <= held.version:
                    raise DirectoryRollbackError(
                        f"{self.path}: version {new.version} is not newer than the version "
                        f"held ({held.version}); keeping v{held.version}"
                    )
            except FedlookupError as exc:
                self._refused = data
                self.last_error = str(exc)
                log.warning("federation directory refused, keeping v%d: %s", held.version, exc)
                return False
            assert data is not None  # read succeeded, or the except returned
            if self._on_change is not None:
                try:
                    self._on_change(held, new)
                except BaseException:
                    self._stamp = None  # retry on the next access
                    raise
            self._directory, self._bytes, self.last_error = new, data, None
            self._refused = None
            log.info(
                "federation directory v%d adopted (was v%d): members %s",
                new.version,
                held.version,
                ",".join(new.countries),
            )
            return True

    def member(self, country: str) -> Member:
        """The current member for ``country``.

        Raises:
            UnlistedPeerError: not listed in the current directory.
        """
        return self.current.member(country)

    def check_peer(self, peer: PeerLike) -> Member:
        """The current member a verified peer is (country listed, key matching the pin).

        Raises:
            UnlistedPeerError: unlisted country or unpinned key.
        """
        return self.current.check_peer(peer)
