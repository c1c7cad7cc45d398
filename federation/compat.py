"""Plain OpenMined PSI against a node, for stock clients in any language.

A stock OpenMined client expects a ``ServerSetup`` (a Golomb-compressed set of ``H(y)^b``)
and answers to its ``Request`` (the node's :class:`~federation.evaluation.Evaluator` serves
those unchanged). The setup costs one EC operation per identifier, so it is built once per
index version and cached (:class:`SetupCache`), never per query.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from federation.keys import EpochKey
from federation.psi import check_fpr, server_setup

__all__ = ["SetupCache", "build_server_setup"]


def build_server_setup(
    key: EpochKey, identifiers: Sequence[bytes], *, fpr: float, num_client_inputs: int
) -> bytes:
    """Build the standard openmined ``ServerSetup`` (GCS) of ``identifiers`` under ``key``.

    Args:
        key: the node's epoch key.
        identifiers: every identifier the node serves (duplicates are harmless).
        fpr: false-positive rate for a query of ``num_client_inputs`` items, in (0, 1).
        num_client_inputs: the largest client set the setup is sized for.

    Returns:
        The serialized ``ServerSetup``.

    Raises:
        ConfigError: ``fpr`` outside (0, 1) or ``num_client_inputs`` below 1.
    """
    return server_setup(
        key.secret, sorted(set(identifiers)), fpr=fpr, num_client_inputs=num_client_inputs
    )


class SetupCache:
    """ServerSetup files cached per (epoch, index version, fpr, client inputs).

    Args:
        directory: where the cached setups live.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, epoch_id: str, version: int, fpr: float, num_client_inputs: int) -> Path:
        """The cache file for one setup."""
        check_fpr(fpr)
        name = f"{epoch_id}|{version}|{fpr!r}|{num_client_inputs}".encode()
        return self.directory / f"setup-{hashlib.sha256(name).hexdigest()[:24]}.bin"

    def get(
        self,
        key: EpochKey,
        version: int,
        identifiers: Callable[[], Sequence[bytes]],
        *,
        fpr: float,
        num_client_inputs: int,
    ) -> bytes:
        """Return the cached setup, building it (from ``identifiers()``) when absent.

        Setups of other versions are deleted when a new one is written.
        """
        path = self.path(key.epoch_id, version, fpr, num_client_inputs)
        if path.exists():
            return path.read_bytes()
        data = build_server_setup(key, identifiers(), fpr=fpr, num_client_inputs=num_client_inputs)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        for old in self.directory.glob("setup-*.bin"):
            old.unlink(missing_ok=True)
        os.replace(tmp, path)
        return data
