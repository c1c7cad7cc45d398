"""Picking up new certificates, keys, roots and CRLs without a restart.

:class:`CredentialFiles` notices when any of a set of files changed (modification time,
size or inode: an atomic rename changes the inode). :class:`ReloadingPeerVerifier` rebuilds
its :class:`~certs.verify.PeerVerifier` when the root or CRL files change, and keeps the
previous one (logging why) when the new files do not load: a half-copied CRL must not open
the door, and the old CRL's ``next_update`` still bounds how long the old state is trusted.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from certs.identity import PeerIdentity
from certs.verify import PeerVerifier, Usage
from fedlookup.errors import FedlookupError

__all__ = ["CredentialFiles", "ReloadingPeerVerifier"]

log = logging.getLogger(__name__)

_Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> _Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class CredentialFiles:
    """Watches a fixed set of files for change.

    Args:
        paths: the files (certificate, key, root, CRL, ...).

    Example::

        watched = CredentialFiles([cert, key, ca])
        if watched.changed():       # first call after any file changed
            reload_everything()
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._lock = threading.Lock()
        self._stamps = [_stamp(p) for p in self.paths]

    def changed(self) -> bool:
        """True once after any file changed since the last call (or since construction)."""
        now = [_stamp(p) for p in self.paths]
        with self._lock:
            if now == self._stamps:
                return False
            self._stamps = now
            return True

    def read(self) -> list[bytes]:
        """The current bytes of every file, in order."""
        return [p.read_bytes() for p in self.paths]


class ReloadingPeerVerifier:
    """A :class:`PeerVerifier` that reloads its roots and CRLs when their files change.

    Args:
        ca_paths: PEM files of the federation roots.
        crl_paths: PEM files of their revocation lists.

    Raises:
        FedlookupError: the files do not load at construction (fail at start-up).
    """

    def __init__(self, ca_paths: Sequence[Path], crl_paths: Sequence[Path]) -> None:
        self._ca_paths = [Path(p) for p in ca_paths]
        self._crl_paths = [Path(p) for p in crl_paths]
        self._files = CredentialFiles([*self._ca_paths, *self._crl_paths])
        self._lock = threading.Lock()
        self._verifier = PeerVerifier.from_files(self._ca_paths, self._crl_paths)

    @property
    def current(self) -> PeerVerifier:
        """The verifier for the files as they are now (reloaded if they changed)."""
        if self._files.changed():
            try:
                fresh = PeerVerifier.from_files(self._ca_paths, self._crl_paths)
            except FedlookupError as exc:
                log.warning("keeping previous roots and CRL: new files refused: %s", exc)
            else:
                with self._lock:
                    self._verifier = fresh
                log.info("reloaded federation roots and revocation lists")
        with self._lock:
            return self._verifier

    def verify(
        self,
        cert: bytes,
        *,
        now: datetime | None = None,
        usage: Usage = "client",
        server_name: str | None = None,
        expected_country: str | None = None,
    ) -> PeerIdentity:
        """:meth:`PeerVerifier.verify` with the current files."""
        return self.current.verify(
            cert,
            now=now,
            usage=usage,
            server_name=server_name,
            expected_country=expected_country,
        )
