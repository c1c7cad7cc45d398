"""Picking up new certificates, keys, roots and CRLs without a restart.

:class:`CredentialFiles` notices when any of a set of files changed (modification time,
size or inode: an atomic rename changes the inode). :class:`ReloadingPeerVerifier` rebuilds
its :class:`~certs.verify.PeerVerifier` when the root or CRL files change, and keeps the
previous one (logging why) when the new files do not load: a half-copied CRL must not open
the door, and the old CRL's ``next_update`` still bounds how long the old state is trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from certs.identity import PeerIdentity
from certs.verify import PeerVerifier, Usage
from fedlookup.errors import CertificateError, FedlookupError

__all__ = ["CredentialFiles", "ReloadingPeerVerifier"]

log = logging.getLogger(__name__)

_Stamp = tuple[int, int, int] | None

# File times are coarse (a few milliseconds): a file rewritten twice within one tick keeps
# its stamp. Until a stamp is this old, its content digest is compared as well.
RACY_NS = 2_000_000_000


def _stamp(path: Path) -> _Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


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
        self._snaps: list[tuple[_Stamp, bytes | None]] = [(None, None)] * len(self.paths)
        self.changed()

    def changed(self) -> bool:
        """True once after any file changed since the last call (or since construction)."""
        with self._lock:
            result = False
            for i, path in enumerate(self.paths):
                old_stamp, old_digest = self._snaps[i]
                stamp = _stamp(path)
                racy = stamp is not None and time.time_ns() - stamp[0] < RACY_NS
                digest = _digest(path) if racy or old_digest is not None else None
                if stamp != old_stamp or (old_digest is not None and digest != old_digest):
                    result = True
                self._snaps[i] = (stamp, digest if racy else None)
            return result

    def read(self) -> list[bytes]:
        """The current bytes of every file, in order."""
        return [p.read_bytes() for p in self.paths]


def _refuse_rollback(held: PeerVerifier, fresh: PeerVerifier) -> None:
    new = fresh.crl_numbers()
    for root, number in held.crl_numbers().items():
        if root in new and new[root] < number:
            raise CertificateError(
                f"CRL rollback: the new revocation list has CRL number {new[root]}, "
                f"lower than the {number} in force"
            )


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
        """The verifier for the files as they are now (reloaded if they changed).

        A CRL whose number is lower than the one held for the same root is refused (a
        rollback would un-revoke certificates): the previous files stay in force and a
        WARNING names both numbers.
        """
        if self._files.changed():
            try:
                fresh = PeerVerifier.from_files(self._ca_paths, self._crl_paths)
                _refuse_rollback(self._verifier, fresh)
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
