"""The one module that imports openmined-psi: a typed, thread-safe wrapper.

openmined-psi (ECDH PSI over P-256) has three traps this module closes:

* one PSI object used by two threads crashes the process, so every object lives in a
  ``threading.local`` cache (and worker processes build their own);
* it accepts a 16-byte key or ``fpr=2.0`` silently, so keys and false-positive rates are
  validated here before they reach it;
* it raises bare ``RuntimeError`` and protobuf ``DecodeError``: both become
  :class:`~fedlookup.errors.PSIProtocolError` (or :class:`~fedlookup.errors.KeyFileError`).

Points on the wire are 33-byte compressed P-256 points. The x-coordinate of ``H(y)^b`` (bytes
1..33 of the compressed point) is what the encrypted index derives tags from; the asker gets
the same x-coordinate from ``H(y)^ab`` with one ECDH operation under ``a^-1 mod n``
(:func:`unblind`).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import private_set_intersection.python as _psi
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError

from federation import p256
from fedlookup.errors import ConfigError, KeyFileError, PSIProtocolError

__all__ = [
    "CURVE_ORDER",
    "KEY_LENGTH",
    "POINT_LENGTH",
    "Blinder",
    "HashedItems",
    "blinded_request",
    "check_fpr",
    "check_key",
    "evaluate_points",
    "hash_items",
    "new_key",
    "parse_request",
    "parse_response",
    "process_request",
    "psi_version",
    "server_setup",
    "unblind",
]

#: Order n of the P-256 group; scalars are in [1, n).
CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
#: Length of a private scalar, big-endian, as openmined-psi reads it.
KEY_LENGTH = 32
#: Length of a compressed P-256 point.
POINT_LENGTH = 33

_local = threading.local()


def psi_version() -> str:
    """Return the version of the openmined-psi library in use."""
    return str(_psi.__version__)


def check_key(key: bytes) -> None:
    """Check that ``key`` is a valid P-256 scalar of exactly 32 bytes.

    Raises:
        KeyFileError: wrong length, zero, or not below the group order.
    """
    if not isinstance(key, bytes) or len(key) != KEY_LENGTH:
        raise KeyFileError(f"PSI key must be {KEY_LENGTH} bytes")
    if not 0 < int.from_bytes(key, "big") < CURVE_ORDER:
        raise KeyFileError("PSI key is not a valid P-256 scalar (must be in [1, n))")


def check_fpr(fpr: float) -> None:
    """Check that a false-positive rate lies strictly between 0 and 1.

    Raises:
        ConfigError: ``fpr`` outside (0, 1).
    """
    if not 0.0 < fpr < 1.0:
        raise ConfigError("fpr", f"must be in (0, 1), got {fpr!r}")


def new_key() -> bytes:
    """Return a fresh uniformly random P-256 scalar (32 bytes, big-endian)."""
    return (secrets.randbelow(CURVE_ORDER - 1) + 1).to_bytes(KEY_LENGTH, "big")


def _cached(kind: str, key: bytes, reveal: bool) -> Any:
    cache: dict[tuple[str, bytes, bool], Any] | None = getattr(_local, "objects", None)
    if cache is None:
        cache = {}
        _local.objects = cache
    obj = cache.get((kind, key, reveal))
    if obj is None:
        check_key(key)
        factory = _psi.client if kind == "client" else _psi.server
        try:
            obj = factory.CreateFromKey(key, reveal)
        except RuntimeError as exc:
            raise KeyFileError(f"openmined-psi refused the key: {exc}") from exc
        if len(cache) > 16:
            cache.clear()
        cache[(kind, key, reveal)] = obj
    return obj


def evaluate_points(key: bytes, items: Sequence[bytes]) -> list[bytes]:
    """Return ``H(y)^key`` for each item, in input order, as compressed points.

    This is the per-record work of the encrypted index: the same bytes an openmined server
    setup would hold for these items.

    Raises:
        KeyFileError: invalid key.
        PSIProtocolError: openmined-psi failed.
    """
    client = _cached("client", key, True)
    try:
        request = client.CreateRequest(list(items))
    except (RuntimeError, TypeError) as exc:
        raise PSIProtocolError(f"evaluation failed: {exc}") from exc
    return list(request.encrypted_elements)


def _check_points(points: Sequence[bytes], what: str, max_items: int | None) -> None:
    if max_items is not None and len(points) > max_items:
        raise PSIProtocolError(f"{what} carries {len(points)} elements, limit {max_items}")
    for i, point in enumerate(points):
        if len(point) != POINT_LENGTH or point[0] not in (2, 3):
            raise PSIProtocolError(f"{what} element {i} is not a compressed P-256 point")


def _parse_strict(message: Any, data: bytes, what: str) -> None:
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise PSIProtocolError(f"malformed {what}: {exc}") from exc
    # Unknown fields or a non-canonical encoding would survive ParseFromString; refuse them.
    message.DiscardUnknownFields()
    if message.SerializeToString() != data:
        raise PSIProtocolError(f"malformed {what}: non-canonical or unknown fields")


def parse_request(data: bytes, *, max_items: int | None = None) -> tuple[bool, list[bytes]]:
    """Parse an openmined ``Request`` strictly.

    Returns:
        ``(reveal_intersection, points)``.

    Raises:
        PSIProtocolError: bad protobuf, unknown fields, wrong point encoding, too many items.
    """
    request = _psi.Request()
    _parse_strict(request, data, "PSI request")
    points = list(request.encrypted_elements)
    _check_points(points, "PSI request", max_items)
    return bool(request.reveal_intersection), points


def parse_response(data: bytes, *, expected: int) -> list[bytes]:
    """Parse an openmined ``Response`` strictly and check it answers ``expected`` items.

    Raises:
        PSIProtocolError: bad protobuf, wrong count, wrong point encoding.
    """
    response = _psi.Response()
    _parse_strict(response, data, "PSI response")
    points = list(response.encrypted_elements)
    if len(points) != expected:
        raise PSIProtocolError(f"PSI response has {len(points)} elements, expected {expected}")
    _check_points(points, "PSI response", None)
    return points


def process_request(key: bytes, data: bytes, *, reveal: bool, max_items: int) -> bytes:
    """Answer an openmined ``Request`` under ``key``: return the serialized ``Response``.

    With ``reveal=False`` the request is processed as a cardinality-only request whatever
    flag the client set, and the answer comes back in an order unrelated to the request
    (openmined sorts it; we shuffle it again), so the asker can count matches only.

    Raises:
        PSIProtocolError: malformed request, invalid point, too many elements.
    """
    _, points = parse_request(data, max_items=max_items)
    request = _psi.Request()
    request.reveal_intersection = reveal
    request.encrypted_elements.extend(points)
    server = _cached("server", key, reveal)
    try:
        response = server.ProcessRequest(request)
    except RuntimeError as exc:
        raise PSIProtocolError(f"PSI request rejected: {exc}") from exc
    if not reveal:
        elements = list(response.encrypted_elements)
        secrets.SystemRandom().shuffle(elements)
        del response.encrypted_elements[:]
        response.encrypted_elements.extend(elements)
    return bytes(response.SerializeToString())


def server_setup(
    key: bytes, items: Sequence[bytes], *, fpr: float, num_client_inputs: int
) -> bytes:
    """Build the standard openmined ``ServerSetup`` (GCS) for ``items`` under ``key``.

    Raises:
        ConfigError: ``fpr`` outside (0, 1) or ``num_client_inputs`` below 1.
        PSIProtocolError: openmined-psi failed.
    """
    check_fpr(fpr)
    if num_client_inputs < 1:
        raise ConfigError("num_client_inputs", f"must be at least 1, got {num_client_inputs}")
    server = _cached("server", key, True)
    try:
        setup = server.CreateSetupMessage(fpr, num_client_inputs, list(items))
    except (RuntimeError, ValueError) as exc:  # ValueError: fpr too small for a GCS
        raise PSIProtocolError(f"server setup failed: {exc}") from exc
    return bytes(setup.SerializeToString())


def unblind(key: bytes | int, points: Sequence[bytes]) -> list[bytes]:
    """Remove the client blinding ``key`` from ``H(y)^(a*b)``: return x(``H(y)^b``) per point.

    One ECDH under the scalar ``a^-1 mod n`` gives the x-coordinate of ``H(y)^b``. ``key``
    is ``a`` as 32 big-endian bytes or as an integer.

    Raises:
        PSIProtocolError: a point is not on the curve.
    """
    scalar = key if isinstance(key, int) else int.from_bytes(key, "big")
    inverse = pow(scalar, -1, CURVE_ORDER)
    private = ec.derive_private_key(inverse, ec.SECP256R1())
    curve = ec.SECP256R1()
    out = []
    for i, point in enumerate(points):
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        except ValueError as exc:
            raise PSIProtocolError(f"response element {i} is not a P-256 point") from exc
        out.append(private.exchange(ec.ECDH(), public))
    return out


def blinded_request(key: bytes, items: Sequence[bytes], *, reveal: bool) -> bytes:
    """The serialized request ``[H(x)^key]`` a :class:`Blinder` under ``key`` sends.

    For auditors: with a revealed opening, recompute the request an asker sent.

    Raises:
        KeyFileError: invalid key.
        PSIProtocolError: openmined-psi failed.
    """
    request = _psi.Request()
    request.reveal_intersection = reveal
    request.encrypted_elements.extend(evaluate_points(key, items))
    return bytes(request.SerializeToString())


#: Requests up to this many items are blinded by re-randomising a per-thread base key (one
#: ECDH per item); larger ones build a fresh openmined object (about 1.7 ms once).
SMALL_REQUEST = 16


def _thread_base_key() -> bytes:
    key: bytes | None = getattr(_local, "base_key", None)
    if key is None:
        key = new_key()
        _local.base_key = key
    return key


@dataclass(frozen=True)
class HashedItems:
    """Items hashed to the curve once, under this thread's base key ``c``: ``H(x)^c``.

    One check sends the same items to every peer. Hashing them once and letting each
    peer's :class:`Blinder` re-randomise the points with its own fresh scalar ``r`` saves
    the hashing per peer; each peer still sees ``H(x)^(c*r)`` under a fresh, uniform key.
    Never send these points as they are.
    """

    key: bytes
    points: tuple[bytes, ...]


def hash_items(items: Sequence[bytes]) -> HashedItems:
    """Hash ``items`` to the curve under this thread's base key (see :class:`HashedItems`).

    Raises:
        PSIProtocolError: openmined-psi failed.
    """
    base = _thread_base_key()
    try:
        points = _cached("client", base, True).CreateRequest(list(items)).encrypted_elements
    except (RuntimeError, TypeError) as exc:
        raise PSIProtocolError(f"hashing to the curve failed: {exc}") from exc
    return HashedItems(base, tuple(points))


class Blinder:
    """The asking side of one request: a fresh client key ``a``, never reused.

    Building an openmined client object costs about 1.7 ms, more than the whole online
    evaluation of one serial. Small requests therefore compute ``H(x)^c`` with a per-thread
    cached object (key ``c``) and re-randomise each point with a fresh scalar ``r`` (one
    ECDH), so ``a = c*r mod n`` is still fresh and uniform per request. ECDH yields only the
    x-coordinate, so the point sent may be ``-H(x)^a``; that is harmless, because only
    ``x(H(x)^b)`` is ever used and ``x(-P) = x(P)``.

    Args:
        reveal: ``True`` for a reveal request, ``False`` for cardinality-only.
    """

    def __init__(self, *, reveal: bool = True, key: bytes | None = None) -> None:
        self.reveal = reveal
        if key is not None:
            check_key(key)
        self._key = key if key is not None else new_key()
        #: The points sent, decoded, when this blinder made them itself (small requests):
        #: the asker's proof check then needs not decode them again.
        self.points: list[p256.Point] | None = None

    def request(self, items: Sequence[bytes], *, hashed: HashedItems | None = None) -> bytes:
        """Blind ``items``: return a serialized openmined ``Request`` (``H(x)^a`` in order).

        Call once per :class:`Blinder`.

        Args:
            items: the items.
            hashed: the same items already hashed (:func:`hash_items`, shared by the
                requests of one check); re-randomised here with a fresh scalar.

        Raises:
            PSIProtocolError: openmined-psi failed, or ``hashed`` does not match ``items``.
        """
        items = list(items)
        if hashed is not None and len(hashed.points) != len(items):
            raise PSIProtocolError("hashed items do not match the items")
        try:
            if hashed is None and len(items) > SMALL_REQUEST:
                client = _psi.client.CreateFromKey(self._key, self.reveal)
                points = list(client.CreateRequest(items).encrypted_elements)
            else:
                if hashed is None:
                    hashed = hash_items(items)
                # Re-randomise H(x)^c to H(x)^a: by r = a / c, the request's key a given
                # (derived from its commitment nonce) or fresh.
                base = int.from_bytes(hashed.key, "big")
                r = int.from_bytes(self._key, "big") * pow(base, -1, CURVE_ORDER) % CURVE_ORDER
                # r is secret: p256.mul is the constant-time single-point multiplication.
                self.points = [p256.mul(r, p256.decode(h)) for h in hashed.points]
                points = [p.encode() for p in self.points]
        except (RuntimeError, TypeError) as exc:
            raise PSIProtocolError(f"blinding failed: {exc}") from exc
        request = _psi.Request()
        request.reveal_intersection = self.reveal
        request.encrypted_elements.extend(points)
        return bytes(request.SerializeToString())

    def unblind(self, points: Sequence[bytes]) -> list[bytes]:
        """Return x(``H(x)^b``) for each ``H(x)^ab`` of a response (see :func:`unblind`)."""
        return unblind(self._key, points)

    def unblind_points(self, points: Sequence[p256.Point]) -> list[bytes]:
        """:meth:`unblind` for points already decoded (by the proof check)."""
        inverse = pow(int.from_bytes(self._key, "big"), -1, CURVE_ORDER)
        return [p256.mul(inverse, p).encode()[1:] for p in points]
