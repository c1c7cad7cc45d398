"""The stock OpenMined setup a node serves through ``CompatSetup``.

A stock client needs the node's whole set as a Golomb-compressed ``ServerSetup`` of
``H(y)^b``. That reveals, to a peer holding it, which of its own guesses are in the
registry, for every category at once and without the per-item quota the online
evaluation enforces for the lookup itself. It is therefore offered only to peers whose
policy already lets them see every category with labels; any other peer is refused. The
set is read from the registry (identifiers are never stored in the clear by the node) and
cached per epoch and index version, so it is built once per index update, not per call.
"""

from __future__ import annotations

from collections.abc import Callable

from federation.compat import SetupCache
from federation.keys import EpochKeyStore
from federation.responder import AccessPolicy
from fedlookup.errors import InputError, PolicyRefusedError, RegistryUnavailableError
from node.config import NodeConfig
from registry_adapter import MakeAliases, open_registry, record_identifiers

__all__ = ["DEFAULT_FPR", "CompatSetups"]

#: False-positive rate of the filter when the caller asks for none.
DEFAULT_FPR = 1e-9


class CompatSetups:
    """Builds (and caches) the stock ``ServerSetup`` for a caller.

    Args:
        config: the node configuration (registry, data folder).
        keys: the epoch key store.
        index_version: returns ``(epoch_id, version)`` of the served index, or ``None``.
        policy: per-peer grants.
    """

    def __init__(
        self,
        config: NodeConfig,
        keys: EpochKeyStore,
        index_version: Callable[[], tuple[str, int] | None],
        policy: AccessPolicy,
    ) -> None:
        self._config = config
        self._keys = keys
        self._index_version = index_version
        self._policy = policy
        self._cache = SetupCache(config.node.data_dir / "compat")

    def _identifiers(self) -> list[bytes]:
        cfg = self._config
        aliases = MakeAliases.with_extra(cfg.registry.aliases) if cfg.registry.aliases else None
        snapshot = cfg.node.data_dir / "registry-snapshot.sqlite3"
        out: list[bytes] = []
        with open_registry(cfg.registry.url, cfg.registry.mapping, snapshot=snapshot) as source:
            for record in source.iter_records():
                try:
                    ids = record_identifiers(record.make, record.serial, aliases)
                except InputError:
                    continue  # not indexed either (see node index)
                out += [ids.make_serial, ids.serial_only]
        return out

    def __call__(self, peer: str, num_client_inputs: int, fpr: float) -> bytes:
        """The serialized ``ServerSetup`` for ``peer``.

        Args:
            peer: the caller's country (from its certificate).
            num_client_inputs: the items the caller will ask about (1 to its per-request
                limit).
            fpr: the filter's false-positive rate; 0 takes :data:`DEFAULT_FPR`.

        Raises:
            PolicyRefusedError: the peer may not see every category with labels.
            InputError: more inputs than the per-request limit, or ``fpr`` not in (0, 1).
            RegistryUnavailableError: no index yet, or the registry cannot be read.
        """
        grant = self._policy.grant(peer)
        if not grant.allowed or not grant.reveal or grant.categories is not None:
            raise PolicyRefusedError(
                f"stock setup refused to {peer}: only for peers allowed every category"
            )
        wanted = num_client_inputs or grant.max_items_per_request
        if not 1 <= wanted <= grant.max_items_per_request:
            raise InputError(
                f"num_client_inputs {wanted} outside 1..{grant.max_items_per_request}",
                field="num_client_inputs",
            )
        if not 0 <= fpr < 1:
            raise InputError(f"fpr {fpr} outside (0, 1)", field="fpr")
        served = self._index_version()
        if served is None:
            raise RegistryUnavailableError("the index is not ready yet")
        epoch_id, version = served
        return self._cache.get(
            self._keys.load(epoch_id),
            version,
            self._identifiers,
            fpr=fpr or DEFAULT_FPR,
            num_client_inputs=wanted,
        )
