"""Writing files so that a crash never leaves one half-written.

Every package that persists something small and whole (keys, certificates, directories,
mirrors, checkpoints) writes it through :func:`write_atomic`: a temporary file beside the
target, created with its final permission bits before any byte lands, fsynced, renamed over
the target, and the folder fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["PRIVATE_MODE", "write_atomic"]

#: Mode of every file holding secret key material.
PRIVATE_MODE = 0o600


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` all at once: temp file, fsync, rename, fsync of the folder.

    Args:
        path: destination; its folder is created when missing.
        data: the whole content.
        mode: permission bits, applied before any byte is written (0600 for keys).
        exclusive: refuse to replace an existing ``path`` (keys are never overwritten).

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists.
        OSError: the file could not be written; ``path`` is then untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise FileExistsError(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        # The umask may have narrowed ``mode``; set it exactly, before the content lands.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if ``path`` appeared meanwhile
            tmp.unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
