"""Hostile messages for every RPC of ``fedlookup.v1.Federation``, and the verdict on answers.

:class:`CaseFactory` makes, deterministically from a seed, the raw request bytes a
malicious or broken peer could send: random bytes, bit flips, truncations and insertions
of valid messages, messages over the node's size limit, and for ``Evaluate`` /
``CompatEvaluate`` structured lies inside well-formed messages: P-256 points that are not
on the curve, wrong point lengths and prefixes, statements whose ``item_count`` differs
from the request, absurd counts, bad signatures, statements in another country's name,
unknown fields. A few valid requests are mixed in as a control.

:func:`verdict` decides whether an answer is acceptable: any status but UNKNOWN, INTERNAL
(except grpc's own fixed "Exception deserializing request!") and UNAVAILABLE, and nothing
in the details that looks like an internal (a traceback, a path, SQL, a Python exception
name). :func:`fuzz_method` sends cases through a raw channel (identity serializers).
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.statements import QueryStatement, sign
from federation.evaluation import BlindedQuery
from protos.fedlookup.v1 import fedlookup_pb2 as pb

__all__ = [
    "GRPC_DESERIALIZE",
    "METHODS",
    "CaseFactory",
    "FuzzStats",
    "fuzz_method",
    "off_curve_point",
    "verdict",
]

SERVICE = "/fedlookup.v1.Federation/"
#: method -> whether its answer is a stream.
METHODS = {
    "NodeInfo": False,
    "SyncIndex": True,
    "Evaluate": False,
    "CompatSetup": True,
    "CompatEvaluate": False,
}
#: What grpc itself answers (status INTERNAL) when a request does not parse as protobuf.
GRPC_DESERIALIZE = "Exception deserializing request!"
_ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNIMPLEMENTED,
}
_LEAK = re.compile(
    r"Traceback|File \"|\.py\b|/tmp/|/work/|/home/|/usr/|site-packages|SELECT |INSERT |"
    r"sqlite|psycopg|sqlalchemy|RuntimeError|DecodeError|KeyError|TypeError|ValueError|"
    r"AttributeError|IndexError|0x[0-9a-f]{8,}",
    re.IGNORECASE,
)

# P-256: y^2 = x^3 - 3x + b over GF(p).
_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def off_curve_point(rng: random.Random) -> bytes:
    """A compressed encoding whose x has no y on P-256 (no such point exists)."""
    while True:
        x = rng.randrange(_P)
        rhs = (pow(x, 3, _P) - 3 * x + _B) % _P
        if rhs and pow(rhs, (_P - 1) // 2, _P) == _P - 1:  # a quadratic non-residue
            return bytes([rng.choice((2, 3))]) + x.to_bytes(32, "big")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _psi_request(points: list[bytes], *, reveal: bool = True, extra: bytes = b"") -> bytes:
    # openmined Request: field 1 reveal_intersection (bool), field 2 encrypted_elements.
    out = bytearray(b"\x08\x01" if reveal else b"")
    for p in points:
        out += b"\x12" + _varint(len(p)) + p
    return bytes(out) + extra


@dataclass
class FuzzStats:
    """Counts of one fuzz run of one method."""

    method: str
    cases: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: FuzzStats) -> None:
        """Add another run's counts."""
        self.cases += other.cases
        self.codes.update(other.codes)
        self.kinds.update(other.kinds)
        self.failures += other.failures
        self.seconds = max(self.seconds, other.seconds)


def verdict(code: grpc.StatusCode, details: str) -> str | None:
    """``None`` when an answer is acceptable, else what is wrong with it."""
    if code == grpc.StatusCode.INTERNAL and details == GRPC_DESERIALIZE:
        return None
    if code not in _ALLOWED:
        return f"status {code.name}: {details!r}"
    if details and _LEAK.search(details):
        return f"details leak internals: {details!r}"
    return None


class CaseFactory:
    """Deterministic hostile requests for one (asker, node) pair.

    Args:
        seed: the random seed (same seed, same cases).
        asker: the calling country (its certificate is on the channel).
        node: the node's country.
        audit_key: the asker's audit key (statements that pass the signature check).
        max_message: the node's message limit (oversized cases go just past it).
        max_items: the node's per-request item limit for the asker.
    """

    def __init__(
        self,
        seed: int,
        *,
        asker: str,
        node: str,
        audit_key: Ed25519PrivateKey,
        max_message: int,
        max_items: int,
    ) -> None:
        self.rng = random.Random(seed)
        self.asker, self.node, self.key = asker, node, audit_key
        self.max_message, self.max_items = max_message, max_items
        query = BlindedQuery.create([f"v1|MS|FUZZ|{i:04d}".encode() for i in range(64)])
        self.points = _parse_points(query.request)

    # Valid building blocks.

    def statement(self, items: int, **change: object) -> tuple[bytes, bytes]:
        """Canonical statement bytes and a valid signature (fields overridable)."""
        fields: dict[str, object] = {
            "request_id": QueryStatement.new_request_id(),
            "from_country": self.asker,
            "to_country": self.node,
            "case_id": "FUZZ-1",
            "purpose": "robustness test",
            "legal_basis": "test",
            "investigator": "fuzzer",
            "item_count": items,
            "commitment": secrets.token_bytes(32),
        }
        fields.update(change)
        data = QueryStatement(**fields).canonical()  # type: ignore[arg-type]
        return data, sign(data, self.key)

    def evaluate(self, statement: bytes, signature: bytes, request: bytes) -> bytes:
        """A serialized ``EvaluateRequest``."""
        msg = pb.EvaluateRequest(
            statement=pb.SignedStatement(statement=statement, signature=signature),
            request=request,
        )
        return msg.SerializeToString()

    def valid_evaluate(self, n: int = 2) -> bytes:
        """A well-formed request of ``n`` items that the node should answer."""
        st, sig = self.statement(n)
        return self.evaluate(st, sig, _psi_request(self.rng.sample(self.points, n)))

    # Generic byte-level mutations of any valid message.

    def _mutate(self, data: bytes) -> tuple[str, bytes]:
        r = self.rng
        kind = r.choice(("flip", "truncate", "insert", "random", "dup", "varint", "oversize"))
        if kind == "flip" and data:
            buf = bytearray(data)
            for _ in range(r.randint(1, 8)):
                buf[r.randrange(len(buf))] ^= 1 << r.randrange(8)
            return kind, bytes(buf)
        if kind == "truncate" and data:
            return kind, data[: r.randrange(len(data))]
        if kind == "insert":
            pos = r.randint(0, len(data))
            return kind, data[:pos] + r.randbytes(r.randint(1, 16)) + data[pos:]
        if kind == "dup":
            return kind, data + data[: r.randint(0, len(data))]
        if kind == "varint":  # a length-delimited field claiming an absurd length
            tag = r.choice((0x0A, 0x12, 0x1A, 0x22, 0x2A))
            return kind, data + bytes([tag]) + _varint(r.choice((2**31, 2**63 - 1, 10**12)))
        if kind == "oversize" and r.random() < 0.1:
            size = self.max_message + r.randint(1, 4096)
            return kind, r.randbytes(size)
        return "random", r.randbytes(r.randint(0, 512))

    # Structured Evaluate lies.

    def _evaluate_lie(self) -> tuple[str, bytes]:
        r = self.rng
        n = r.randint(1, 8)
        pts = r.sample(self.points, n)
        kind = r.choice(
            (
                "off_curve",
                "point_prefix",
                "point_length",
                "x_over_p",
                "count_lie",
                "absurd_count",
                "too_many",
                "empty",
                "bad_signature",
                "other_country",
                "other_node",
                "unknown_field",
                "bad_statement",
                "cardinality_flag",
            )
        )
        st, sig = self.statement(n)
        request = _psi_request(pts)
        i = r.randrange(n)
        if kind == "off_curve":
            pts[i] = off_curve_point(r)
            request = _psi_request(pts)
        elif kind == "point_prefix":
            pts[i] = bytes([r.choice((0, 1, 4, 5, 0xFF))]) + pts[i][1:]
            request = _psi_request(pts)
        elif kind == "point_length":
            size = r.choice((0, 1, 32, 34, 65, 100))
            pts[i] = (pts[i] + r.randbytes(100))[:size]
            request = _psi_request(pts)
        elif kind == "x_over_p":
            pts[i] = bytes([2]) + (_P + r.randrange(2**32)).to_bytes(33, "big")[-32:]
            request = _psi_request(pts)
        elif kind == "count_lie":
            st, sig = self.statement(r.choice([k for k in range(0, 20) if k != n]))
        elif kind == "absurd_count":
            st, sig = self.statement(r.choice((2**31, 2**53, 2**63 - 1)))
        elif kind == "too_many":
            k = self.max_items + r.randint(1, 50)
            request = _psi_request([r.choice(self.points) for _ in range(k)])
            st, sig = self.statement(k)
        elif kind == "empty":
            st, sig = self.statement(0)
            request = _psi_request([])
        elif kind == "bad_signature":
            sig = r.choice((b"", sig[:-1], bytes(64), r.randbytes(64), sig + b"\x00"))
        elif kind == "other_country":
            st, sig = self.statement(n, from_country=r.choice(("NL", "XX", self.node)))
        elif kind == "other_node":
            st, sig = self.statement(n, to_country=r.choice(("NL", "XX", self.asker)))
        elif kind == "unknown_field":
            request = _psi_request(pts, extra=b"\x1a\x03abc")
        elif kind == "bad_statement":
            st = r.choice((st[:-1], st + b" ", st.replace(b'"', b"'", 1), b"{}", b"null"))
        elif kind == "cardinality_flag":
            request = _psi_request(pts, reveal=False)
        return kind, self.evaluate(st, sig, request)

    # Per method.

    def base(self, method: str) -> bytes:
        """A valid request of ``method``."""
        r = self.rng
        if method == "NodeInfo":
            return b""
        if method == "SyncIndex":
            return pb.SyncIndexRequest(
                since_version=r.choice((0, 1, 2**63)),
                epoch_id=r.choice(("", "x" * r.randint(1, 300), "20260101T000000Z-00000000")),
                offset=r.choice((0, 1, 10**6, 2**63)),
                resume_version=r.choice((0, 1, 2**64 - 1)),
            ).SerializeToString()
        if method == "CompatSetup":
            return pb.CompatSetupRequest(
                num_client_inputs=r.choice((0, 1, 2**32, 2**64 - 1)),
                fpr=r.choice((0.0, -1.0, 2.0, 1e-300, float("nan"), float("inf"))),
            ).SerializeToString()
        return self.valid_evaluate(r.randint(1, 4))

    def case(self, method: str) -> tuple[str, bytes]:
        """One hostile request of ``method``: ``(kind, bytes)``."""
        r = self.rng
        evaluates = method in ("Evaluate", "CompatEvaluate")
        roll = r.random()
        if evaluates and roll < 0.02:
            return "valid", self.valid_evaluate(r.randint(1, 4))
        if evaluates and roll < 0.55:
            return self._evaluate_lie()
        if roll < 0.6:
            return "base", self.base(method)
        return self._mutate(self.base(method))


def _parse_points(request: bytes) -> list[bytes]:
    from federation.psi import parse_request

    return parse_request(request)[1]


def _call(
    channel: grpc.Channel, method: str, data: bytes, timeout: float
) -> tuple[grpc.StatusCode, str]:
    path = SERVICE + method
    try:
        if METHODS[method]:
            stream: Callable[..., object] = channel.unary_stream(path)
            for _ in stream(data, timeout=timeout):  # type: ignore[attr-defined]
                pass
        else:
            channel.unary_unary(path)(data, timeout=timeout)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


def fuzz_method(
    channel: grpc.Channel,
    factory_for: Callable[[int], CaseFactory],
    method: str,
    cases: int,
    *,
    threads: int = 1,
    timeout: float = 10.0,
) -> FuzzStats:
    """Send ``cases`` hostile requests of ``method`` and judge every answer.

    Args:
        channel: a raw channel to the node (identity serializers are used).
        factory_for: builds a case factory for a thread's seed.
        method: one of :data:`METHODS`.
        cases: how many requests in all.
        threads: concurrent senders (each with its own factory and seed).
        timeout: deadline of each call.

    Returns:
        Counts by status and case kind, and every unacceptable answer.
    """
    started = time.monotonic()

    def worker(seed: int, n: int) -> FuzzStats:
        stats = FuzzStats(method)
        factory = factory_for(seed)
        for _ in range(n):
            kind, data = factory.case(method)
            code, details = _call(channel, method, data, timeout)
            stats.cases += 1
            stats.codes[code.name] += 1
            stats.kinds[kind] += 1
            problem = verdict(code, details)
            if problem is not None and len(stats.failures) < 20:
                stats.failures.append(f"{kind}: {problem}")
        return stats

    share = [cases // threads + (1 if i < cases % threads else 0) for i in range(threads)]
    total = FuzzStats(method)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for part in pool.map(lambda a: worker(*a), enumerate(share)):
            total.merge(part)
    total.seconds = time.monotonic() - started
    return total
