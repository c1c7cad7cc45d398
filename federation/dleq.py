"""Verifiable evaluation: batched DLEQ proofs and signed epoch public keys.

An answering node holds the epoch key ``k`` and publishes ``B = k*G``. For a request of
blinded points ``C_1..C_n`` it returns ``D_i = k*C_i`` and a proof that one ``k`` links
``(G, B)`` and every ``(C_i, D_i)``: a Chaum-Pedersen proof over random linear composites,
in the style of RFC 9497 section 2.2 (``GenerateProof`` with ``ComputeCompositesFast`` on
the prover's side)::

    seed  = SHA-256(DST, context, B, n, C_1..C_n, D_1..D_n)
    d_i   = SHA-512(DST, "composite", seed, i) mod q
    M     = sum d_i*C_i                 (public; the verifier also forms Z = sum d_i*D_i)
    r     <- random;  t2 = r*G;  t3 = r*M        (constant-time: r and k are secret)
    c     = SHA-512(DST, "challenge", seed, t2, t3) mod q
    s     = r - c*k mod q                proof = c || s   (64 bytes)

The verifier recomputes ``t2 = s*G + c*B`` and ``t3 = s*M + c*Z``, the latter as one
multi-scalar multiplication ``sum (s*d_i)*C_i + (c*d_i)*D_i``, and checks the challenge.
``M`` and ``Z`` are not hashed separately (RFC 9497 hashes them): they are functions of the
seed, which commits to every ``C_i``, ``D_i`` and ``B``. The context binds a proof to the
node's country and epoch, so a proof cannot be replayed under another epoch.

The epoch public key travels in ``NodeInfo`` with an Ed25519 signature by the node's
directory-pinned audit key over :func:`epoch_key_message` (country, epoch id, key), so an
asker trusts no key the directory does not vouch for.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence

from federation import p256
from fedlookup.errors import PSIProtocolError

__all__ = [
    "PROOF_INVALID",
    "PROOF_LENGTH",
    "epoch_key_message",
    "proof_context",
    "prove",
    "public_key",
    "verify",
]

_DST = b"fedlookup-dleq-v1"
#: Length of an encoded proof: challenge and response, 32 bytes each.
PROOF_LENGTH = 64
#: The reason every failed verification gives (and the asker reports).
PROOF_INVALID = "evaluation proof invalid"


def public_key(secret: bytes) -> bytes:
    """The compressed public key ``k*G`` of an epoch key (33 bytes)."""
    return p256.base_mul(int.from_bytes(secret, "big")).encode()


def epoch_key_message(country: str, epoch_id: str, public: bytes) -> bytes:
    """The bytes a node signs to vouch for an epoch's public key (domain-separated)."""
    return f"fedlookup epoch key v1\n{country}\n{epoch_id}\n{public.hex()}\n".encode("ascii")


def proof_context(country: str, epoch_id: str) -> bytes:
    """The context a proof is bound to: the answering country and its epoch."""
    return f"{country}\n{epoch_id}".encode("ascii")


def _seed(
    context: bytes, public: bytes, blinded: Sequence[bytes], evaluated: Sequence[bytes]
) -> bytes:
    h = hashlib.sha256(_DST + b"|seed|")
    h.update(len(context).to_bytes(2, "big") + context + public)
    h.update(len(blinded).to_bytes(4, "big"))
    for point in blinded:
        h.update(point)
    for point in evaluated:
        h.update(point)
    return h.digest()


def _scalar(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"|".join((_DST, *parts))).digest(), "big") % p256.ORDER


def _weights(seed: bytes, n: int) -> list[int]:
    return [_scalar(b"composite", seed, i.to_bytes(4, "big")) for i in range(n)]


def _check_lengths(blinded: Sequence[bytes], evaluated: Sequence[bytes]) -> None:
    if len(blinded) != len(evaluated):
        raise PSIProtocolError(f"{PROOF_INVALID}: {len(evaluated)} answers to {len(blinded)} items")


def prove(
    secret: bytes,
    blinded: Sequence[bytes],
    evaluated: Sequence[bytes],
    *,
    context: bytes,
    public: bytes | None = None,
) -> bytes:
    """Prove that ``evaluated[i] = k*blinded[i]`` for the epoch key ``secret`` = ``k``.

    Args:
        secret: the epoch key (32 bytes).
        blinded: the request's points, as received.
        evaluated: the response's points, in the same order.
        context: :func:`proof_context` of this node and epoch.
        public: :func:`public_key` of ``secret``, when the caller has it cached.

    Returns:
        The 64-byte proof (empty for an empty request).

    Raises:
        PSIProtocolError: a point does not decode, or the lengths differ.
    """
    _check_lengths(blinded, evaluated)
    if not blinded:
        return b""
    k = int.from_bytes(secret, "big")
    if public is None:
        public = public_key(secret)
    seed = _seed(context, public, blinded, evaluated)
    points = [p256.decode(c, "request element") for c in blinded]
    composite = p256.multi_mul(_weights(seed, len(points)), points)
    r = secrets.randbelow(p256.ORDER - 1) + 1
    t2, t3 = p256.base_mul(r), p256.mul(r, composite)
    c = _scalar(b"challenge", seed, t2.encode(), t3.encode())
    s = (r - c * k) % p256.ORDER
    return c.to_bytes(32, "big") + s.to_bytes(32, "big")


@functools.lru_cache(maxsize=64)
def _public_point(public: bytes) -> p256.Point:
    return p256.decode(public, "epoch public key")


def verify(
    public: bytes,
    blinded: Sequence[bytes],
    evaluated: Sequence[bytes],
    proof: bytes,
    *,
    context: bytes,
    points: tuple[Sequence[p256.Point], Sequence[p256.Point]] | None = None,
) -> None:
    """Check a proof that one key behind ``public`` turned ``blinded`` into ``evaluated``.

    Args:
        public: the answering node's epoch public key (from its signed ``NodeInfo``).
        blinded: the points this asker sent.
        evaluated: the points the node returned, in the same order.
        proof: the node's 64-byte proof.
        context: :func:`proof_context` of the node and the epoch it named.
        points: ``blinded`` and ``evaluated`` already decoded, when the caller has them
            (the asker keeps the points it blinded and reuses the decoded answer to unblind).

    Raises:
        PSIProtocolError: ``evaluation proof invalid`` (with the reason), whatever is wrong.
    """
    _check_lengths(blinded, evaluated)
    if not blinded:
        if proof:
            raise PSIProtocolError(f"{PROOF_INVALID}: a proof for no items")
        return
    if len(proof) != PROOF_LENGTH:
        raise PSIProtocolError(f"{PROOF_INVALID}: {len(proof)} bytes, expected {PROOF_LENGTH}")
    c, s = int.from_bytes(proof[:32], "big"), int.from_bytes(proof[32:], "big")
    if not (0 <= c < p256.ORDER and 0 <= s < p256.ORDER):
        raise PSIProtocolError(f"{PROOF_INVALID}: scalar out of range")
    seed = _seed(context, public, blinded, evaluated)
    weights = _weights(seed, len(blinded))
    try:
        key = _public_point(public)
        if points is None:
            points = (
                [p256.decode(x, "request element") for x in blinded],
                [p256.decode(x, "response element") for x in evaluated],
            )
        t2 = p256.multi_mul([c], [key], base=s)
        scalars = [s * d % p256.ORDER for d in weights] + [c * d % p256.ORDER for d in weights]
        t3 = p256.multi_mul(scalars, [*points[0], *points[1]])
        expected = _scalar(b"challenge", seed, t2.encode(), t3.encode())
    except PSIProtocolError as exc:
        raise PSIProtocolError(f"{PROOF_INVALID}: {exc}") from exc
    if expected != c:
        raise PSIProtocolError(PROOF_INVALID)
