"""The digest of the full export a delta leads to, computed once per version and grant.

A signed index head v2 (:mod:`federation.index_head`) names ``state_sha256``: the SHA-256 of
the full snapshot the answering node would send the same peer at that version. For a delta
that means a full export; :class:`ExportStates` computes it once per (epoch, version,
categories, label mode) and keeps it until the index version moves, so a node answering
many peers' deltas pays one full export per grant shape and version, not one per call.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

__all__ = ["ExportStates", "StateKey"]

#: What a full export depends on besides the index: (epoch, version, categories, labels).
StateKey = tuple[str, int, frozenset[str] | None, bool]


class ExportStates:
    """Cached SHA-256 digests of full exports, for the current index version only."""

    def __init__(self) -> None:
        self._digests: dict[StateKey, str] = {}
        self._lock = threading.Lock()

    def digest(self, key: StateKey, full_export: Callable[[], bytes]) -> str:
        """The SHA-256 (hex) of the full export a delta of ``key``'s version leads to: the
        cached one, else that of ``full_export()`` (not cached here: see :meth:`remember`).
        A full blob needs none of this: its head's state digest is its own."""
        with self._lock:  # one full export per version and grant shape, not per call
            known = self._digests.get(key)
            if known is not None:
                return known
            return hashlib.sha256(full_export()).hexdigest()

    def remember(self, key: StateKey, digest: str) -> None:
        """Keep ``digest`` (call once the export is known to be of ``key``'s version);
        digests of other versions are dropped."""
        with self._lock:
            if key not in self._digests:
                kept = {k: v for k, v in self._digests.items() if k[:2] == key[:2]}
                self._digests = kept | {key: digest}
