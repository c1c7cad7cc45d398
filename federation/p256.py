"""P-256 point arithmetic for evaluation proofs, on the OpenSSL libcrypto Python itself loads.

openmined-psi exposes no point arithmetic and pyca/cryptography exposes only ECDH (an
x-coordinate) and key derivation. The DLEQ proofs of :mod:`federation.dleq` need point
addition, scalar multiplication of arbitrary points and multi-scalar multiplication, so this
module binds a dozen functions of OpenSSL's ``EC_POINT`` and ``BN`` API through
:mod:`ctypes`: the same
OpenSSL 3 that CPython's ``ssl`` module links (``libcrypto.so.3``), whose P-256 code
(``ecp_nistz256``) is constant-time for a single scalar. ADR 0008 weighs this against
pycryptodome and fastecdsa (both 4 to 5 times slower here).

Two kinds of multiplication, kept apart on purpose:

* :func:`mul` and :func:`base_mul` take a *secret* scalar: one point, the constant-time path;
* :func:`multi_mul` takes *public* scalars only (``EC_POINTs_mul``, variable-time wNAF):
  the composites and the verifier's check, where every input is known to both sides.

Points are opaque :class:`Point` objects; on the wire they are 33-byte compressed SEC1
points, as openmined-psi writes them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Sequence
from typing import Any

from fedlookup.errors import PSIProtocolError

__all__ = ["ORDER", "Point", "base_mul", "decode", "libcrypto_version", "mul", "multi_mul"]

#: Order n of the P-256 group.
ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_NID_P256 = 415  # NID_X9_62_prime256v1
_COMPRESSED = 2  # POINT_CONVERSION_COMPRESSED
_BN_FLG_CONSTTIME = 0x04
_vp = ctypes.c_void_p
_SIGNATURES: tuple[tuple[str, Any, list[Any]], ...] = (
    ("OpenSSL_version", ctypes.c_char_p, [ctypes.c_int]),
    ("EC_GROUP_new_by_curve_name", _vp, [ctypes.c_int]),
    ("EC_POINT_new", _vp, [_vp]),
    ("EC_POINT_free", None, [_vp]),
    ("EC_POINT_oct2point", ctypes.c_int, [_vp, _vp, ctypes.c_char_p, ctypes.c_size_t, _vp]),
    ("EC_POINT_point2oct", ctypes.c_size_t, [_vp, _vp, ctypes.c_int, _vp, ctypes.c_size_t, _vp]),
    ("EC_POINT_is_at_infinity", ctypes.c_int, [_vp, _vp]),
    ("EC_POINT_mul", ctypes.c_int, [_vp, _vp, _vp, _vp, _vp, _vp]),
    ("EC_POINTs_mul", ctypes.c_int, [_vp, _vp, _vp, ctypes.c_size_t, _vp, _vp, _vp]),
    ("BN_bin2bn", _vp, [ctypes.c_char_p, ctypes.c_int, _vp]),
    ("BN_set_flags", None, [_vp, ctypes.c_int]),
    ("BN_free", None, [_vp]),
    ("BN_clear_free", None, [_vp]),
)

_state: dict[str, Any] = {}
_lock = threading.Lock()


def _libcrypto_path() -> str:
    """The libcrypto to bind: the one CPython's ``ssl`` module loaded, else the system's.

    Raises:
        PSIProtocolError: none found (evaluation proofs cannot be made or checked).
    """
    import _ssl  # noqa: F401 (loads the libcrypto CPython was built against)

    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "/libcrypto" in path:
                    return path
    except OSError:
        pass  # not Linux: ask the platform's loader
    for name in (ctypes.util.find_library("crypto"), "libcrypto.so.3", "libcrypto.3.dylib"):
        if name is None:
            continue
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    raise PSIProtocolError("OpenSSL libcrypto not found: evaluation proofs need it")


def _lib() -> tuple[Any, int]:
    """Load libcrypto and the P-256 group once; return ``(lib, group)``."""
    if "lib" not in _state:
        with _lock:
            if "lib" not in _state:
                lib = ctypes.CDLL(_libcrypto_path())
                for fn, restype, argtypes in _SIGNATURES:
                    func = getattr(lib, fn)
                    func.restype, func.argtypes = restype, argtypes
                group = lib.EC_GROUP_new_by_curve_name(_NID_P256)
                if not group:
                    raise PSIProtocolError("libcrypto has no P-256 group")
                _state["group"] = group
                _state["lib"] = lib
    return _state["lib"], _state["group"]


def libcrypto_version() -> str:
    """The OpenSSL version string of the libcrypto in use (for benchmarks and ADRs)."""
    lib, _ = _lib()
    return bytes(lib.OpenSSL_version(0)).decode()


class Point:
    """A P-256 point owned by this object (freed with it). Build with :func:`decode`."""

    __slots__ = ("_ptr",)

    def __init__(self, ptr: int) -> None:
        if not ptr:
            raise PSIProtocolError("out of memory allocating a P-256 point")
        self._ptr = ptr

    def __del__(self) -> None:
        lib = _state.get("lib")
        if lib is not None and self._ptr:
            lib.EC_POINT_free(self._ptr)
            self._ptr = 0

    def encode(self) -> bytes:
        """The 33-byte compressed SEC1 encoding.

        Raises:
            PSIProtocolError: the point is the identity (it has no such encoding).
        """
        lib, group = _lib()
        if lib.EC_POINT_is_at_infinity(group, self._ptr) == 1:
            raise PSIProtocolError("the point at infinity has no compressed encoding")
        buf = ctypes.create_string_buffer(33)
        if lib.EC_POINT_point2oct(group, self._ptr, _COMPRESSED, buf, 33, None) != 33:
            raise PSIProtocolError("could not encode a P-256 point")
        return buf.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and self.encode() == other.encode()

    def __hash__(self) -> int:
        return hash(self.encode())


def _new() -> Point:
    lib, group = _lib()
    return Point(lib.EC_POINT_new(group))


def decode(data: bytes, what: str = "point") -> Point:
    """Decode a 33-byte compressed P-256 point, checking it lies on the curve.

    Raises:
        PSIProtocolError: wrong length or prefix, or not a point of the curve.
    """
    if len(data) != 33 or data[0] not in (2, 3):
        raise PSIProtocolError(f"{what} is not a compressed P-256 point")
    lib, group = _lib()
    point = _new()
    if lib.EC_POINT_oct2point(group, point._ptr, data, 33, None) != 1:
        raise PSIProtocolError(f"{what} is not on the P-256 curve")
    return point


class _Scalar:
    """A BIGNUM for one call; secret ones are flagged constant-time and cleared."""

    def __init__(self, value: int, *, secret: bool) -> None:
        lib, _ = _lib()
        self._lib, self._secret = lib, secret
        self.ptr = lib.BN_bin2bn((value % ORDER).to_bytes(32, "big"), 32, None)
        if not self.ptr:
            raise PSIProtocolError("out of memory allocating a scalar")
        if secret:
            lib.BN_set_flags(self.ptr, _BN_FLG_CONSTTIME)

    def free(self) -> None:
        (self._lib.BN_clear_free if self._secret else self._lib.BN_free)(self.ptr)


def _checked(ok: int, what: str) -> None:
    if ok != 1:
        raise PSIProtocolError(f"P-256 {what} failed")


def base_mul(scalar: int) -> Point:
    """``scalar * G`` for a secret scalar (constant-time fixed-base multiplication)."""
    lib, group = _lib()
    k, out = _Scalar(scalar, secret=True), _new()
    try:
        _checked(lib.EC_POINT_mul(group, out._ptr, k.ptr, None, None, None), "multiplication")
    finally:
        k.free()
    return out


def mul(scalar: int, point: Point) -> Point:
    """``scalar * point`` for a secret scalar (constant-time single-point multiplication)."""
    lib, group = _lib()
    k, out = _Scalar(scalar, secret=True), _new()
    try:
        _checked(lib.EC_POINT_mul(group, out._ptr, None, point._ptr, k.ptr, None), "multiplication")
    finally:
        k.free()
    return out


def multi_mul(scalars: Sequence[int], points: Sequence[Point], *, base: int = 0) -> Point:
    """``base * G + sum(scalars[i] * points[i])`` for PUBLIC scalars only (variable-time).

    Raises:
        PSIProtocolError: the lengths differ or OpenSSL failed.
    """
    if len(scalars) != len(points):
        raise PSIProtocolError("multi-scalar multiplication needs one scalar per point")
    lib, group = _lib()
    bns = [_Scalar(s, secret=False) for s in scalars]
    g = _Scalar(base, secret=False) if base else None
    out = _new()
    try:
        pts = (_vp * len(points))(*[p._ptr for p in points])
        scs = (_vp * len(bns))(*[b.ptr for b in bns])
        _checked(
            lib.EC_POINTs_mul(group, out._ptr, g.ptr if g else None, len(points), pts, scs, None),
            "multi-scalar multiplication",
        )
    finally:
        for b in bns:
            b.free()
        if g is not None:
            g.free()
    return out
