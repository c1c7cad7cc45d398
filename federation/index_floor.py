"""The highest index version ever published per epoch, kept outside the index store.

An ``(epoch, version)`` pair must never name two contents: a peer whose mirror holds
version 7 of an epoch asks only for what changed since 7, so if a rebuilt store published
another version 7 (or anything up to 7) under the same epoch, that peer would never see the
new content. The index store cannot guard this alone, because the store is what gets lost,
restored from an old backup, or set aside. So every update raises this floor, in its own
small file beside the index folder, *before* its transaction commits, and every new or
restored store publishes versions above it (:class:`~federation.index_update.IndexUpdate`
restarts the delta range there, so every mirror takes a full snapshot).

File format (JSON, 0600, written atomically)::

    {"format": 1, "epochs": {"20261206T180343Z-84c54924": 12}}

Example::

    floor = VersionFloor(Path("data/index-published.json"))
    floor.raise_to("20261206T180343Z-84c54924", 12)
    floor.get("20261206T180343Z-84c54924")  # 12
"""

from __future__ import annotations

import json
from pathlib import Path

from fedlookup.errors import IndexIntegrityError, RegistryUnavailableError
from fedlookup.files import PRIVATE_MODE, write_atomic

__all__ = ["VersionFloor", "floor_path"]

_FORMAT = 1


def floor_path(index_dir: Path) -> Path:
    """Where the floor of the index in ``index_dir`` lives: beside the folder, not in it."""
    index_dir = Path(index_dir)
    return index_dir.with_name(f"{index_dir.name}-published.json")


class VersionFloor:
    """Per epoch, the highest index version committed (hence possibly published).

    Args:
        path: the floor file (created on the first :meth:`raise_to`).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, int]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError as exc:
            raise self._damaged(str(exc)) from exc
        except OSError as exc:
            raise RegistryUnavailableError(
                f"index version floor {self.path} cannot be read: {exc.strerror or exc}"
            ) from exc
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise self._damaged(f"not JSON: {exc}") from exc
        epochs = doc.get("epochs") if isinstance(doc, dict) else None
        if doc.get("format") != _FORMAT or not isinstance(epochs, dict):
            raise self._damaged("expected {'format': 1, 'epochs': {...}}")
        out: dict[str, int] = {}
        for epoch, version in epochs.items():
            if type(version) is not int or version < 0:
                raise self._damaged(f"epoch {epoch!r}: version {version!r} is not a count")
            out[str(epoch)] = version
        return out

    def _damaged(self, detail: str) -> IndexIntegrityError:
        return IndexIntegrityError(
            f"index version floor {self.path} is damaged ({detail}); delete it and run "
            "`fedlookup node index --full` (the rebuild then publishes versions above the "
            "current time, so every peer takes a full snapshot)"
        )

    def get(self, epoch_id: str) -> int:
        """The highest version recorded for ``epoch_id`` (0 when none).

        Raises:
            IndexIntegrityError: the file is damaged (names the file and the remedy).
            RegistryUnavailableError: the file cannot be read (permissions, I/O).
        """
        return self._read().get(epoch_id, 0)

    def raise_to(self, epoch_id: str, version: int) -> None:
        """Record that ``version`` of ``epoch_id`` may be published (durable on return).

        Never lowers a recorded version.

        Raises:
            IndexIntegrityError: the file is damaged.
            RegistryUnavailableError: the file cannot be written (the update then does not
                commit; it may work again once the disk or permission problem is fixed).
        """
        epochs = self._read()
        if epochs.get(epoch_id, -1) >= version:
            return
        epochs[epoch_id] = version
        doc = {"format": _FORMAT, "epochs": dict(sorted(epochs.items()))}
        try:
            write_atomic(self.path, json.dumps(doc, indent=1).encode("utf-8"), mode=PRIVATE_MODE)
        except OSError as exc:
            raise RegistryUnavailableError(
                f"index version floor {self.path} cannot be written: {exc.strerror or exc}"
            ) from exc
