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

Every download is authenticated before it touches the mirror: its signed head
(:class:`~federation.index_head.IndexHead` v2) must verify under the directory's key for the
peer and describe the blob (:meth:`~federation.index_head.HeadCheck.check_head`); the blob is
then applied to a *copy* of the mirror, whose full serialization must hash to the head's
``state_sha256``. A delta that leads anywhere else is dropped for a full download; a full
download that fails is :class:`PeerUnavailableError` and the mirror stays as it was.

On disk a mirror is two files, both 0600 and written atomically: ``<CC>.mirror`` (the
full snapshot) and ``<CC>.mirror.head`` (the signed head it was accepted under). On load
the head's signature is checked under the key the directory lists *now* for that country,
the head must name that country and the file must hash to its ``state_sha256``; anything
else (no head file, a file edited on disk, a crash between the two writes, a rotated key)
logs a WARNING naming the country and the reason and discards the mirror, which the next
use downloads in full. A mirror is never replaced or loaded from unauthenticated bytes.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from audit.canonical import b64, canonical_bytes, parse_canonical, unb64
from audit.statements import check_keys
from federation.index import IndexMirror
from federation.index_format import is_delta
from federation.index_head import HeadCheck, IndexHead
from federation.transport import IndexDownload, NodeInfo, PeerTransport
from fedlookup.errors import (
    FedlookupError,
    IdentityError,
    IndexFormatError,
    IndexIntegrityError,
    InputError,
    PeerUnavailableError,
    VerificationError,
)
from fedlookup.files import PRIVATE_MODE, write_atomic

__all__ = ["HEAD_FILE_TYPE", "MirrorStore", "Refresh", "SyncKind"]

_log = logging.getLogger("fedlookup.mirrors")

#: The ``type`` of a ``<CC>.mirror.head`` file.
HEAD_FILE_TYPE = "fedlookup-mirror-head"
#: What refuses a download: bad bytes, a bad or foreign signature, an unlisted peer.
_REFUSED = (IndexFormatError, VerificationError, IdentityError)


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


def _head_file(head: bytes, signature: bytes) -> bytes:
    """The ``<CC>.mirror.head`` bytes: the canonical head and its signature."""
    return canonical_bytes({"type": HEAD_FILE_TYPE, "head": b64(head), "signature": b64(signature)})


def _read_head_file(data: bytes, path: Path) -> tuple[bytes, bytes]:
    """The head and signature a ``<CC>.mirror.head`` file holds.

    Raises:
        VerificationError: not a canonical head file (names ``path``).
    """
    what = f"mirror head {path}"
    obj = parse_canonical(data, what)
    check_keys(obj, {"type", "head", "signature"}, what)
    if obj["type"] != HEAD_FILE_TYPE:
        raise VerificationError(f"{what}: not a {HEAD_FILE_TYPE}")
    return unb64(obj["head"], f"{what}: head"), unb64(obj["signature"], f"{what}: signature")


class MirrorStore:
    """One mirror per peer under ``directory``: ``<CC>.mirror`` and ``<CC>.mirror.head``.

    Thread-safe: refreshes of one peer are serialised, different peers run in parallel.

    Args:
        directory: where mirror files live; created (0700) when missing.
        head_check: verifies the peers' signed index heads under the federation
            directory's keys (:class:`~federation.index_head.DirectoryHeadCheck`).
    """

    def __init__(self, directory: Path, *, head_check: HeadCheck) -> None:
        self._dir = Path(directory)
        self._check = head_check
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

    def head_path(self, country: str) -> Path:
        """The file holding the signed head ``country``'s mirror was accepted under."""
        return self._dir / f"{_safe_name(country)}.mirror.head"

    def _lock(self, country: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(country, threading.Lock())

    def get(self, country: str) -> IndexMirror:
        """``country``'s mirror as held: loaded from disk once and only when its signed head
        verifies (see the module docstring); empty when none is held or it was discarded."""
        with self._lock(country):
            return self._get_locked(country)

    def _get_locked(self, country: str) -> IndexMirror:
        mirror = self._mirrors.get(country)
        if mirror is None:
            mirror = self._load(country)
            self._mirrors[country] = mirror
        return mirror

    def _load(self, country: str) -> IndexMirror:
        """The mirror on disk if its head vouches for it, else an empty one (logged)."""
        path = self.path(country)
        if not path.exists():
            return IndexMirror()
        try:
            head_path = self.head_path(country)
            if not head_path.exists():
                raise IndexIntegrityError(f"no signed head beside it ({head_path.name})")
            data = path.read_bytes()
            head = self._check.check_signed(
                country, *_read_head_file(head_path.read_bytes(), head_path)
            )
            if hashlib.sha256(data).hexdigest() != head.state_sha256:
                raise IndexIntegrityError("the file is not the state its signed head names")
            mirror = IndexMirror()
            mirror.apply(data)
        except (FedlookupError, OSError) as exc:
            _log.warning(
                "discarding the mirror of %s: %s; it will be downloaded in full",
                country,
                exc,
                extra={"event": "mirror-discarded", "peer": country, "detail": str(exc)},
            )
            return IndexMirror()
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
        mirror = self._get_locked(country)  # a damaged or unsigned file loads as empty
        if mirror.epoch_id == epoch_id and mirror.version == version:
            return Refresh(mirror, info, SyncKind.NONE)
        accepted: tuple[IndexMirror, bytes, IndexDownload, SyncKind] | None = None
        # A version below ours means the peer rebuilt its index: only a full copy is right.
        if mirror.epoch_id == epoch_id and 0 < mirror.version < version:
            accepted = self._try_delta(transport, mirror, sync_timeout)
        if accepted is None:
            accepted = self._full(transport, sync_timeout)
        updated, state, download, kind = accepted
        self._save(country, state, download)
        self._mirrors[country] = updated
        return Refresh(updated, info, kind)

    def _accept(self, country: str, mirror: IndexMirror, download: IndexDownload) -> bytes:
        """Apply ``download`` to ``mirror`` (a copy) once its head is ``country``'s signed
        head of the blob, and return the state reached, checked against the head.

        Raises:
            IndexFormatError, VerificationError, IdentityError: the download is refused.
        """
        head = self._check.check_head(country, download.head, download.signature, download.blob)
        mirror.apply(download.blob)
        state = download.blob if not is_delta(download.blob) else mirror.to_bytes()
        _check_state(country, head, state)
        return state

    def _try_delta(
        self, transport: PeerTransport, mirror: IndexMirror, timeout: float
    ) -> tuple[IndexMirror, bytes, IndexDownload, SyncKind] | None:
        download = transport.sync_index(mirror.version, mirror.epoch_id, timeout=timeout)
        # A peer whose store was rebuilt answers with its full index (new delta range).
        kind = SyncKind.DELTA if is_delta(download.blob) else SyncKind.FULL
        candidate = mirror.copy()  # all or nothing: a refused delta leaves the mirror as it was
        try:
            state = self._accept(transport.country, candidate, download)
        except _REFUSED as exc:
            _log.warning(
                "refused a delta from %s (%s): downloading its full index",
                transport.country,
                exc,
                extra={"event": "delta-refused", "peer": transport.country, "detail": str(exc)},
            )
            return None
        return candidate, state, download, kind

    def _full(
        self, transport: PeerTransport, timeout: float
    ) -> tuple[IndexMirror, bytes, IndexDownload, SyncKind]:
        download = transport.sync_index(None, None, timeout=timeout)
        mirror = IndexMirror()
        try:
            state = self._accept(transport.country, mirror, download)
        except _REFUSED as exc:
            raise PeerUnavailableError(
                transport.country, f"its full index failed verification: {exc}"
            ) from exc
        return mirror, state, download, SyncKind.FULL

    def _save(self, country: str, state: bytes, download: IndexDownload) -> None:
        """Write the mirror, then its head (each atomic). A crash between the two leaves a
        pair whose digests disagree, which the next load discards."""
        write_atomic(self.path(country), state, mode=PRIVATE_MODE)
        write_atomic(
            self.head_path(country),
            _head_file(download.head, download.signature),
            mode=PRIVATE_MODE,
        )


def _check_state(country: str, head: IndexHead, state: bytes) -> None:
    """Raise unless ``state`` (a mirror's full serialization) is the one ``head`` names.

    Raises:
        IndexIntegrityError: the blob led to another state than the signed one.
    """
    if hashlib.sha256(state).hexdigest() != head.state_sha256:
        raise IndexIntegrityError(
            f"the index of {country} leads to a state its signed head does not name"
        )
