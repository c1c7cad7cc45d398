"""The seam between the hit-check flow and the network: :class:`PeerTransport`.

The flow in :mod:`federation.hitcheck` talks to each peer only through this protocol, so
the same code runs over gRPC with mutual TLS (:mod:`federation.grpc_transport`) and inside
one process (:mod:`federation.inprocess`, several countries in one test). A transport
raises only :class:`~fedlookup.errors.PeerUnavailableError` (the peer could not be reached
or did not answer in time) or :class:`~fedlookup.errors.PeerRejectedError` (the peer
answered with a refusal); anything else it meets is translated into one of these two.

The messages a peer returns, :class:`NodeInfo`, :class:`IndexDownload` and
:class:`Evaluation`, are defined
here so the answering side (:mod:`federation.responder`) and both transports share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fedlookup.identifiers import IDENTIFIER_VERSION

__all__ = [
    "Evaluation",
    "IndexDownload",
    "Limits",
    "NodeInfo",
    "PeerTransport",
    "WitnessTransport",
]


@dataclass(frozen=True)
class Limits:
    """The limits a node applies to one caller (the caller's own view).

    Attributes:
        max_items_per_request: the most PSI items one ``Evaluate`` call may carry.
        items_per_day: items the caller may evaluate per UTC day.
        items_remaining_today: items left today when the node answered.
        mode: ``"reveal"`` (hit and label) or ``"cardinality"`` (count only).
        categories: record categories this caller may see (empty: none).
    """

    max_items_per_request: int
    items_per_day: int = 0
    items_remaining_today: int = 0
    mode: str = "reveal"
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeInfo:
    """What a node says about itself and its published index (the ``NodeInfo`` RPC).

    Attributes:
        country: the node's country code (ISO 3166-1 alpha-2, upper case).
        epoch_id: identifier of the epoch key its index is built under.
        index_version: current version of its encrypted index (grows by one per update).
        index_size: number of identifiers in the index (a peer may learn the registry size).
        limits: what the node allows this caller.
        identifier_version: canonical identifier version both ends must use.
        protocol_version: the service's protocol version.
        epoch_public_key: the epoch's public key ``k*G`` (compressed P-256), against which
            every ``Evaluate`` answer is proven (``federation.dleq``).
        epoch_key_signature: the node's Ed25519 signature, by its directory-pinned audit
            key, over ``federation.dleq.epoch_key_message(country, epoch_id, key)``.
    """

    country: str
    epoch_id: str
    index_version: int
    index_size: int
    limits: Limits
    identifier_version: str = IDENTIFIER_VERSION
    protocol_version: str = "fedlookup.v1"
    epoch_public_key: bytes = b""
    epoch_key_signature: bytes = b""


@dataclass(frozen=True)
class Evaluation:
    """The answer to one ``Evaluate`` call.

    Attributes:
        response: the PSI response (the blinded items re-blinded under the epoch key).
        receipt: the answering node's signed receipt of the audit entry it wrote.
        epoch_id: the epoch key the response was made under ("" when the peer does not
            say). The asker reads the response against its mirror of that epoch, so a
            rotation between its ``NodeInfo`` and ``Evaluate`` calls cannot turn hits into
            silent misses.
        index_version: the index version current when the peer answered (0 when it does
            not say); an asker whose mirror is older fetches the delta before reading the
            answer, so a check needs no ``NodeInfo`` round trip while the epoch holds.
        proof: the batched DLEQ proof that ``response`` is the request under the epoch's
            published key (``federation.dleq``; empty for a cardinality-only answer).
    """

    response: bytes
    receipt: bytes
    epoch_id: str = ""
    index_version: int = 0
    proof: bytes = b""


@dataclass(frozen=True)
class IndexDownload:
    """An index blob as received, with the answering node's signed head.

    Attributes:
        blob: the full index or a delta (``federation.index_format``).
        head: the canonical :class:`~federation.index_head.IndexHead` v2 bytes.
        signature: the peer's Ed25519 signature over ``head`` (its directory audit key).
    """

    blob: bytes
    head: bytes = b""
    signature: bytes = b""


@runtime_checkable
class PeerTransport(Protocol):
    """One peer node, as the asking side sees it.

    Every call takes a ``timeout`` in seconds; a call that does not finish in time raises
    :class:`~fedlookup.errors.PeerUnavailableError`.
    """

    @property
    def country(self) -> str:
        """The peer's country code."""
        ...

    def node_info(self, *, timeout: float) -> NodeInfo:
        """The peer's epoch, index version and limits.

        Raises:
            PeerUnavailableError: unreachable or too slow.
            PeerRejectedError: the peer refused to answer.
        """
        ...

    def sync_index(
        self, since_version: int | None, epoch_id: str | None, *, timeout: float
    ) -> IndexDownload:
        """The peer's index: a delta from ``since_version`` or, when ``since_version`` is
        ``None`` or ``epoch_id`` is not the peer's current epoch, the full index; with its
        signed head, which the caller checks (``federation.mirrors.MirrorStore``).

        Raises:
            PeerUnavailableError: unreachable, too slow, or the stream broke off.
            PeerRejectedError: the peer refused to answer.
        """
        ...

    def evaluate(
        self, statement: bytes, signature: bytes, request: bytes, *, timeout: float
    ) -> Evaluation:
        """Evaluate a blinded PSI request under a signed query statement.

        Raises:
            PeerUnavailableError: unreachable or too slow.
            PeerRejectedError: refused by policy, quota or identity checks.
        """
        ...


@runtime_checkable
class WitnessTransport(Protocol):
    """One peer node as a witness of this node's audit logs (``federation.cosign``).

    Kept apart from :class:`PeerTransport` so a transport that only answers hit checks
    still fits there; both real transports implement both.
    """

    @property
    def country(self) -> str:
        """The peer's country code."""
        ...

    def add_checkpoint(self, body: bytes, *, timeout: float) -> tuple[int, bytes]:
        """Send a C2SP tlog-witness add-checkpoint request; return the witness's
        ``(status, body)`` as it answered (200 with cosignature lines, 409, 4xx).

        Raises:
            PeerUnavailableError: unreachable, too slow, or the peer does not witness.
            PeerRejectedError: the peer refused the caller (identity, membership).
        """
        ...
