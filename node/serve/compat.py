"""The stock OpenMined setup a node serves through ``CompatSetup``.

A stock client needs the node's whole set as a Golomb-compressed ``ServerSetup`` of
``H(y)^b``. That reveals, to a peer holding it, which of its own guesses are in the
registry, for every category at once and without the per-item quota the online
evaluation enforces for the lookup itself. It is therefore offered only to peers whose
policy already lets them see every category with labels; any other peer is refused. The
set is read from the registry (identifiers are never stored in the clear by the node) and
cached per epoch and index version, so it is built once per index update, not per call:
the node offers one setup, for the ``[compat]`` parameters of its configuration, and
refuses any other ``fpr`` or ``num_client_inputs`` (each would be a rebuild from the whole
registry). Every setup sent is written to the audit log first (``compat_setup``); the
stock evaluation that follows (``CompatEvaluate``) is charged and audited per item like
``Evaluate``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from federation.compat import SetupCache
from federation.keys import EpochKeyStore
from federation.responder import AccessPolicy
from fedlookup.errors import (
    InputError,
    PolicyRefusedError,
    RegistryUnavailableError,
    UnsupportedParameterError,
)
from node.config import NodeConfig
from registry_adapter import open_registry

__all__ = ["DEFAULT_FPR", "CompatSetups", "SetupRecorder"]

#: Default false-positive rate of the filter (``[compat] fpr``).
DEFAULT_FPR = 1e-9

#: Records a setup before it is sent: (peer, epoch id, index version, inputs, fpr);
#: raises LogWriteError when the record cannot be made durable.
SetupRecorder = Callable[[str, str, int, int, float], None]


class CompatSetups:
    """Builds (and caches) the stock ``ServerSetup`` for a caller.

    Args:
        config: the node configuration (registry, data folder, ``[compat]`` parameters).
        keys: the epoch key store.
        index_version: returns ``(epoch_id, version)`` of the served index, or ``None``.
        policy: per-peer grants.
        record: writes the audit entry of a setup before it is sent (fail closed).
    """

    def __init__(
        self,
        config: NodeConfig,
        keys: EpochKeyStore,
        index_version: Callable[[], tuple[str, int] | None],
        policy: AccessPolicy,
        record: SetupRecorder,
    ) -> None:
        self._config = config
        self._keys = keys
        self._index_version = index_version
        self._policy = policy
        self._record = record
        self._cache = SetupCache(config.layout.compat)
        # One build at a time: concurrent first callers wait for it and then read the cache.
        self._lock = threading.Lock()

    def _identifiers(self) -> list[bytes]:
        cfg = self._config
        # The same items ``node index`` indexes, under every version the node speaks.
        rules = cfg.identifier_rules()
        snapshot = cfg.layout.registry_snapshot
        out: list[bytes] = []
        with open_registry(cfg.registry.url, cfg.registry.mapping, snapshot=snapshot) as source:
            for record in source.iter_records():
                try:
                    out += rules.record_items(record.make, record.serial)
                except InputError:
                    continue  # not indexed either (see node index)
        return out

    def offered(self) -> str:
        """The parameters offered, as told to a caller asking for others."""
        c = self._config.compat
        return f"num_client_inputs={c.num_client_inputs} and fpr={c.fpr!r} (0 takes these)"

    def __call__(self, peer: str, num_client_inputs: int, fpr: float) -> bytes:
        """The serialized ``ServerSetup`` for ``peer``, recorded in the audit log first.

        Args:
            peer: the caller's country (from its certificate).
            num_client_inputs: 0 or the configured ``[compat] num_client_inputs``.
            fpr: 0 or the configured ``[compat] fpr``.

        Raises:
            PolicyRefusedError: the peer may not see every category with labels.
            UnsupportedParameterError: other parameters than the configured ones (the
                message names those).
            RegistryUnavailableError: no index yet, or the registry cannot be read.
            LogWriteError: the audit entry could not be made durable; nothing is sent.
        """
        grant = self._policy.grant(peer)
        if not grant.allowed or not grant.reveal or grant.categories is not None:
            raise PolicyRefusedError(
                f"stock setup refused to {peer}: only for peers allowed every category"
            )
        offer = self._config.compat
        if num_client_inputs not in (0, offer.num_client_inputs) or fpr not in (0, offer.fpr):
            # Any other pair would cost a setup built from the whole registry per call.
            raise UnsupportedParameterError(
                f"stock setup is offered only for {self.offered()}",
                field="num_client_inputs" if num_client_inputs else "fpr",
            )
        served = self._index_version()
        if served is None:
            raise RegistryUnavailableError("the index is not ready yet")
        epoch_id, version = served
        with self._lock:
            blob = self._cache.get(
                self._keys.load(epoch_id),
                version,
                self._identifiers,
                fpr=offer.fpr,
                num_client_inputs=offer.num_client_inputs,
            )
        self._record(peer, epoch_id, version, offer.num_client_inputs, offer.fpr)
        return blob
