"""Keeping each peer's index mirror fresh, on disk: :class:`MirrorStore`.

A mirror is the asking side's copy of a peer's encrypted index (:class:`IndexMirror`). It
is useless without the peer's epoch key, so holding it reveals nothing, and it lets a hit
check cost one online round instead of a download. The store keeps one file per peer
under a directory, so a restart does not download every index again.

:meth:`MirrorStore.refresh` asks the peer for its epoch and version (``NodeInfo``);
:meth:`MirrorStore.catch_up` takes them from a peer's answer instead (an ``Evaluate``
response names both), so a check needs no extra round trip. Either way:

* same epoch and version: nothing to do;
* same epoch, newer version: fetch a delta from the held version and apply it (the peer
  sends its full index instead when its store was rebuilt since: a new delta range);
* same epoch, older version (the peer rebuilt its index): fetch the full index;
* a new epoch, an empty mirror, or a delta that does not apply (:class:`IndexVersionError`,
  or :class:`IndexIntegrityError` on the delta): fetch the full index and replace the mirror.

Checksums are verified by :meth:`IndexMirror.apply`; a mirror reaches disk only whole
(temporary file, fsync, rename), and a failed update leaves the previous file in place.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from federation.index import IndexMirror
from federation.index_format import is_delta
from federation.transport import NodeInfo, PeerTransport
from fedlookup.errors import (
    IndexFormatError,
    IndexIntegrityError,
    IndexVersionError,
    InputError,
    PeerUnavailableError,
)

__all__ = ["MirrorStore", "Refresh", "SyncKind"]


class SyncKind(enum.StrEnum):
    """What a refresh had to do."""

    NONE = "none"
    DELTA = "delta"
    FULL = "full"


@dataclass(frozen=True)
class Refresh:
    """The result of :meth:`MirrorStore.refresh`.

    Attributes:
        mirror: the peer's mirror, current as of ``info``.
        info: what the peer said about itself.
        kind: whether nothing, a delta or the full index was fetched.
    """

    mirror: IndexMirror
    info: NodeInfo
    kind: SyncKind


def _safe_name(country: str) -> str:
    if not (2 <= len(country) <= 8 and country.isascii() and country.isalnum()):
        raise InputError(f"not a country code: {country!r}", field="country")
    return country.upper()


class MirrorStore:
    """One mirror file per peer under ``directory`` (``<COUNTRY>.mirror``).

    Thread-safe: refreshes of one peer are serialised, different peers run in parallel.

    Args:
        directory: where mirror files live; created (0700) when missing.
    """

    def __init__(self, directory: Path) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._mirrors: dict[str, IndexMirror] = {}
        self._info: dict[str, tuple[NodeInfo, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def directory(self) -> Path:
        """The directory holding the mirror files."""
        return self._dir

    def path(self, country: str) -> Path:
        """The file holding ``country``'s mirror."""
        return self._dir / f"{_safe_name(country)}.mirror"

    def _lock(self, country: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(country, threading.Lock())

    def get(self, country: str) -> IndexMirror:
        """``country``'s mirror as held (loaded from disk once; empty when none is held).

        Raises:
            IndexIntegrityError: the file on disk is damaged (delete it to resync).
        """
        with self._lock(country):
            return self._get_locked(country)

    def _get_locked(self, country: str) -> IndexMirror:
        mirror = self._mirrors.get(country)
        if mirror is None:
            path = self.path(country)
            mirror = IndexMirror.load(path) if path.exists() else IndexMirror()
            self._mirrors[country] = mirror
        return mirror

    def refresh(
        self, transport: PeerTransport, *, timeout: float, sync_timeout: float | None = None
    ) -> Refresh:
        """Ask the peer for its ``NodeInfo`` and bring its mirror up to that version.

        Args:
            transport: the peer.
            timeout: seconds allowed for the ``NodeInfo`` call.
            sync_timeout: seconds allowed for the index download (default: ``timeout``).

        Returns:
            The current mirror, the peer's ``NodeInfo`` and what was fetched.

        Raises:
            PeerUnavailableError: the peer did not answer, or sent an index that fails its
                checksum even on a full resync.
            PeerRejectedError: the peer refused.
        """
        country = transport.country
        with self._lock(country):
            info = transport.node_info(timeout=timeout)
            self._info[country] = (info, time.monotonic())
            return self._bring(transport, info, info.epoch_id, info.index_version,
                               timeout if sync_timeout is None else sync_timeout)  # fmt: skip

    def prepare(
        self,
        transport: PeerTransport,
        *,
        timeout: float,
        sync_timeout: float | None = None,
        max_info_age: float = 0.0,
    ) -> Refresh:
        """The mirror to read the next answer with: as held, without a call, when the
        peer's ``NodeInfo`` is younger than ``max_info_age`` seconds (the answer itself says
        whether the mirror must catch up: :meth:`catch_up`); otherwise :meth:`refresh`."""
        country = transport.country
        with self._lock(country):
            cached = self._info.get(country)
            mirror = self._mirrors.get(country)
            if (
                cached is not None
                and mirror is not None
                and time.monotonic() - cached[1] <= max_info_age
                and mirror.epoch_id == cached[0].epoch_id
            ):
                return Refresh(mirror, cached[0], SyncKind.NONE)
        return self.refresh(transport, timeout=timeout, sync_timeout=sync_timeout)

    def catch_up(
        self, transport: PeerTransport, *, epoch_id: str, version: int, sync_timeout: float
    ) -> Refresh:
        """Bring the mirror to at least ``version`` of epoch ``epoch_id`` (what a peer's
        answer said it was made under), by delta, or in full after a rotation.

        Raises:
            PeerUnavailableError, PeerRejectedError: as :meth:`refresh`.
        """
        country = transport.country
        with self._lock(country):
            cached = self._info.get(country)
            if cached is None:
                info = transport.node_info(timeout=sync_timeout)
                self._info[country] = (info, time.monotonic())
            else:
                info = cached[0]
            return self._bring(transport, info, epoch_id, version, sync_timeout)

    def _bring(
        self, transport: PeerTransport, info: NodeInfo, epoch_id: str, version: int,
        sync_timeout: float,
    ) -> Refresh:  # fmt: skip
        country = transport.country
        try:
            mirror = self._get_locked(country)
        except IndexFormatError:
            # A damaged local file is not the peer's fault: start over from nothing.
            mirror = IndexMirror()
        if mirror.epoch_id == epoch_id and mirror.version == version:
            return Refresh(mirror, info, SyncKind.NONE)
        kind = SyncKind.FULL
        updated: IndexMirror | None = None
        # A version below ours means the peer rebuilt its index: only a full copy is right.
        if mirror.epoch_id == epoch_id and 0 < mirror.version < version:
            updated, kind = self._try_delta(transport, mirror, sync_timeout)
        if updated is None:
            updated = self._full(transport, sync_timeout)
            kind = SyncKind.FULL
        self._save(country, updated)
        self._mirrors[country] = updated
        return Refresh(updated, info, kind)

    def _try_delta(
        self, transport: PeerTransport, mirror: IndexMirror, timeout: float
    ) -> tuple[IndexMirror | None, SyncKind]:
        blob = transport.sync_index(mirror.version, mirror.epoch_id, timeout=timeout)
        # A peer whose store was rebuilt answers with its full index (new delta range).
        kind = SyncKind.DELTA if is_delta(blob) else SyncKind.FULL
        try:
            mirror.apply(blob)  # all or nothing: a refused delta leaves the mirror as it was
        except (IndexVersionError, IndexIntegrityError):
            return None, SyncKind.FULL
        return mirror, kind

    def _full(self, transport: PeerTransport, timeout: float) -> IndexMirror:
        blob = transport.sync_index(None, None, timeout=timeout)
        mirror = IndexMirror()
        try:
            mirror.apply(blob)
        except IndexFormatError as exc:
            raise PeerUnavailableError(
                transport.country, f"its full index failed verification: {exc}"
            ) from exc
        return mirror

    def _save(self, country: str, mirror: IndexMirror) -> None:
        mirror.save(self.path(country))  # temporary file, fsync, rename
        dir_fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)
