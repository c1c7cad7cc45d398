"""The registry port: what the node reads from any registry backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from registry_adapter.models import Change, Record

__all__ = ["RegistrySource"]


class RegistrySource(ABC):
    """A readable registry with a change feed.

    Implementations: :class:`registry_adapter.store.RegistryStore` (embedded, read-write)
    and :class:`registry_adapter.mapped.MappedRegistry` (read-only onto a foreign table).
    Use as a context manager, or call :meth:`close`.

    Every record yielded has a usable make and serial: ``record_identifiers`` succeeds on it
    (the store rejects other rows at import; the mapped adapter skips and logs them).
    """

    @abstractmethod
    def count(self) -> int:
        """Number of live records.

        Raises:
            RegistryUnavailableError: the database cannot be reached.
        """

    @abstractmethod
    def iter_records(self) -> Iterator[Record]:
        """Stream every live record in constant memory, in ``record_id`` order.

        Raises:
            RegistryUnavailableError: the database cannot be reached.
        """

    @abstractmethod
    def watermark(self) -> str:
        """An opaque position in the change feed: pass it to :meth:`changes_since` later.

        Raises:
            RegistryUnavailableError: the database cannot be reached.
        """

    @abstractmethod
    def changes_since(self, watermark: str | None) -> Iterator[Change]:
        """Records added, updated or removed after ``watermark`` (everything when ``None``).

        Each record appears at most once, with its current content or ``None`` if removed.
        Take :meth:`watermark` *before* reading the changes: a change made meanwhile is
        then seen again next time, never missed.

        Raises:
            WatermarkError: the watermark is malformed, from another registry, from the
                future, or older than the feed keeps; rebuild from ``None``.
            RegistryUnavailableError: the database cannot be reached.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections; the object is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
