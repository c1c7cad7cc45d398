"""Online evaluation: :class:`Evaluator` (answering node) and :class:`BlindedQuery` (asker).

One round per peer per request::

    asker                                  node (epoch key b)
    a <- fresh scalar
    request = [H(x_i)^a]            --->   check policy, quota; write audit entry
                                    <---   response = [H(x_i)^ab]   (in order, or shuffled
                                                                     for cardinality-only)
    x_i' = x(H(x_i)^b) via ECDH with a^-1
    prk_i = HKDF-Extract(epoch, x_i'); per category, probe tag_0, tag_1, ... in the mirror;
    open labels (IndexMirror.labels_for)

The node never sees ``x_i``; the asker learns only the entries of identifiers it evaluated.
Which items are hits or possible matches is the caller's reading of the per-item labels:
items are opaque here, and :func:`federation.hitcheck_types.classify` applies the rule
that a serial-only match alone is a *possible* match, not a hit.
"""

from __future__ import annotations

from collections.abc import Sequence

from federation import dleq, p256
from federation.index_mirror import IndexMirror
from federation.keys import EpochKey
from federation.labels import Label, entry_prk
from federation.psi import (
    SMALL_REQUEST,
    Blinder,
    HashedItems,
    hash_items,
    parse_request,
    parse_response,
    process_request,
)
from fedlookup.errors import EpochMismatchError, PSIProtocolError

__all__ = ["DEFAULT_MAX_ITEMS", "PAD_SLOTS", "PROBE_LIMIT", "BlindedQuery", "Evaluator"]

#: Default limit of items in one request (node policy may set a lower one).
DEFAULT_MAX_ITEMS = 100_000
#: The asker probes at most this many slots per item past the chain heads, over all of
#: its category chains: records sharing one identifier beyond this are not read (a node
#: planting thousands of slots cannot slow it further).
PROBE_LIMIT = 64
#: Every item costs at least this many probes past the chain heads, so a hit on a record
#: that shares its identifier with a few others takes as long to read as a miss.
PAD_SLOTS = 4


class Evaluator:
    """Node side: evaluate blinded requests under one epoch key. Thread-safe.

    Args:
        key: the epoch key the published index is derived under.
        max_items: the most elements one request may carry.
    """

    def __init__(self, key: EpochKey, *, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.key = key
        self.max_items = max_items
        self._public: bytes | None = None

    @property
    def epoch_id(self) -> str:
        """The epoch of the key in use (peers check it against their mirror)."""
        return self.key.epoch_id

    def item_count(self, request: bytes) -> int:
        """Number of blinded items in a serialized openmined ``Request``.

        Raises:
            PSIProtocolError: malformed request, invalid point, more than ``max_items``.
        """
        return len(parse_request(request, max_items=self.max_items)[1])

    def evaluate(self, request: bytes, *, reveal: bool = True) -> bytes:
        """Return ``H(x)^ab`` for each ``H(x)^a`` of an openmined ``Request``.

        Args:
            request: serialized openmined ``Request`` (from :class:`BlindedQuery` or any
                OpenMined PSI client).
            reveal: ``False`` for cardinality-only peers: the response is shuffled, so the
                asker can count matches but not tell which item matched.

        Raises:
            PSIProtocolError: malformed request, invalid point, more than ``max_items``.
        """
        return process_request(self.key.secret, request, reveal=reveal, max_items=self.max_items)

    @property
    def public_key(self) -> bytes:
        """The epoch's public key ``k*G`` (33-byte compressed point), computed once."""
        if self._public is None:
            self._public = dleq.public_key(self.key.secret)
        return self._public

    def prove(self, request: bytes, response: bytes, *, country: str) -> bytes:
        """A batched DLEQ proof that ``response`` is ``request`` under this epoch's key.

        Args:
            request: the serialized request that was evaluated.
            response: the serialized reveal response (in request order).
            country: this node's country (bound into the proof with the epoch id).

        Raises:
            PSIProtocolError: malformed request or response.
        """
        _, blinded = parse_request(request, max_items=self.max_items)
        evaluated = parse_response(response, expected=len(blinded))
        context = dleq.proof_context(country, self.key.epoch_id)
        return dleq.prove(
            self.key.secret, blinded, evaluated, context=context, public=self.public_key
        )


class BlindedQuery:
    """Asker side of one request to one peer (a fresh key; never reuse across peers).

    Use :meth:`create`, send :attr:`request`, then :meth:`finish` (or :meth:`count` for a
    cardinality-only peer) with the peer's response and the mirror of its index.
    """

    def __init__(self, items: Sequence[bytes], blinder: Blinder, request: bytes) -> None:
        self.items = tuple(items)
        self._blinder = blinder
        self.request = request
        self._verified: tuple[bytes, list[p256.Point]] | None = None
        #: Entries that did not open, and items probed up to PROBE_LIMIT, in :meth:`finish`.
        self.malformed = 0
        self.truncated = 0

    @classmethod
    def create(
        cls,
        items: Sequence[bytes],
        *,
        reveal: bool = True,
        hashed: HashedItems | None = None,
        key: bytes | None = None,
    ) -> BlindedQuery:
        """Blind ``items`` under a fresh key.

        Args:
            items: the items.
            reveal: ``False`` for a cardinality-only peer.
            hashed: the items hashed once for every peer of a check (:meth:`hash_once`);
                this query re-randomises them under its own key.
            key: the blinding key (``audit.commitment.blinding_key`` of the request's
                opening); default a fresh random one.

        Raises:
            PSIProtocolError: openmined-psi failed.
        """
        blinder = Blinder(reveal=reveal, key=key)
        return cls(items, blinder, blinder.request(items, hashed=hashed))

    @property
    def reveal(self) -> bool:
        """``True`` for a reveal request, ``False`` for a cardinality-only one."""
        return self._blinder.reveal

    @staticmethod
    def hash_once(items: Sequence[bytes]) -> HashedItems | None:
        """Hash ``items`` once for the queries of one check to several peers.

        Returns:
            The hashed items, or ``None`` for a request too large to gain from it (each
            query then builds its own client object).

        Raises:
            PSIProtocolError: openmined-psi failed.
        """
        return hash_items(items) if len(items) <= SMALL_REQUEST else None

    def verify(self, response: bytes, proof: bytes, *, public: bytes, context: bytes) -> None:
        """Check the peer's proof that ``response`` is this request under ``public``'s key.

        Call before reading the response (:meth:`finish`): an answer under another key, or
        made of random points, would otherwise read as silent no-hits.

        Args:
            response: the peer's serialized reveal response.
            proof: its batched DLEQ proof.
            public: the peer's epoch public key, from its signed ``NodeInfo``.
            context: ``federation.dleq.proof_context(country, epoch_id)``.

        Raises:
            PSIProtocolError: ``evaluation proof invalid`` (malformed response included).
        """
        _, blinded = parse_request(self.request)
        try:
            evaluated = parse_response(response, expected=len(blinded))
            decoded = (
                self._blinder.points or [p256.decode(x, "request element") for x in blinded],
                [p256.decode(x, "response element") for x in evaluated],
            )
        except PSIProtocolError as exc:
            raise PSIProtocolError(f"{dleq.PROOF_INVALID}: {exc}") from exc
        dleq.verify(public, blinded, evaluated, proof, context=context, points=decoded)
        # The decoded answer is reused to unblind (one decoding per point, not two).
        self._verified = (response, decoded[1])

    def _unblind(self, response: bytes, mirror: IndexMirror, epoch_id: str | None) -> list[bytes]:
        if mirror.epoch_id is None:
            raise EpochMismatchError("the mirror is empty: sync the peer's index first")
        if epoch_id is not None and epoch_id != mirror.epoch_id:
            raise EpochMismatchError(f"response under epoch {epoch_id}, mirror {mirror.epoch_id}")
        if self._verified is not None and self._verified[0] == response:
            xs = self._blinder.unblind_points(self._verified[1])
        else:
            xs = self._blinder.unblind(parse_response(response, expected=len(self.items)))
        return [entry_prk(x, mirror.epoch_id) for x in xs]

    def finish(
        self,
        response: bytes,
        mirror: IndexMirror,
        *,
        epoch_id: str | None = None,
        country: str | None = None,
    ) -> list[list[Label]]:
        """Unblind a reveal response and open the labels of the matching entries.

        Opening never raises: an entry that does not open is counted in :attr:`malformed`,
        and probing stops :data:`PROBE_LIMIT` slots past the category chains' heads
        (:attr:`truncated` counts items with more). Each item costs at least
        :data:`PAD_SLOTS` probes past the heads, hit or not (:meth:`IndexMirror.read`).

        Args:
            response: the peer's serialized openmined ``Response``.
            mirror: the asker's mirror of that peer's index (with labels).
            epoch_id: the epoch the peer says it evaluated under, when known.
            country: the peer's country from the directory (references are formatted
                with it, never with what the index header says).

        Returns:
            Per item, in request order, the labels of every record holding it (empty: no match).

        Raises:
            PSIProtocolError: malformed response or wrong element count.
            EpochMismatchError: the peer's epoch differs from the mirror's, or the mirror is
                empty.
        """
        if not mirror.has_labels:
            raise EpochMismatchError("the mirror holds no labels (cardinality-only peer)")
        country = country or mirror.country or "XX"
        self.malformed = self.truncated = 0
        out: list[list[Label]] = []
        for prk in self._unblind(response, mirror, epoch_id):
            read = mirror.read(prk, probe_limit=PROBE_LIMIT, pad=PAD_SLOTS, country=country)
            self.malformed += read.malformed
            self.truncated += read.truncated
            out.append(read.labels)
        return out

    def count(self, response: bytes, mirror: IndexMirror, *, epoch_id: str | None = None) -> int:
        """Count the items of a (shuffled) cardinality-only response present in the mirror.

        Raises:
            PSIProtocolError: malformed response or wrong element count.
            EpochMismatchError: epoch differs or the mirror is empty.
        """
        prks = self._unblind(response, mirror, epoch_id)
        return sum(1 for prk in prks if mirror.holds(prk))
