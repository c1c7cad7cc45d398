"""The openmined-psi wrapper: validation, strict parsing, error mapping, threads."""

from __future__ import annotations

import threading

import pytest
from private_set_intersection.python import Request

from federation import psi
from fedlookup.errors import ConfigError, KeyFileError, PSIProtocolError

ITEMS = [b"v1|MS|GLOCK|ABC123", b"v1|S|ABC123", b"v1|S|ZZZ999"]


@pytest.mark.parametrize(
    "key",
    [b"\x01" * 16, b"", b"\x00" * 32, psi.CURVE_ORDER.to_bytes(32, "big"), b"\xff" * 32],
    ids=["short", "empty", "zero", "order", "above-order"],
)
def test_bad_keys_are_refused(key: bytes) -> None:
    with pytest.raises(KeyFileError):
        psi.check_key(key)
    with pytest.raises(KeyFileError):
        psi.evaluate_points(key, ITEMS)


@pytest.mark.parametrize("fpr", [0.0, 1.0, 2.0, -0.1])
def test_bad_fpr_is_refused(fpr: float) -> None:
    with pytest.raises(ConfigError, match="fpr"):
        psi.server_setup(psi.new_key(), ITEMS, fpr=fpr, num_client_inputs=10)


@pytest.mark.parametrize("count", [1, 3, psi.SMALL_REQUEST, psi.SMALL_REQUEST + 1, 40])
def test_unblinding_recovers_the_epoch_evaluation(count: int) -> None:
    """Both blinding paths (re-randomised per-thread key, fresh object) unblind to x(H(y)^b)."""
    key = psi.new_key()
    items = [f"v1|S|ITEM{i}".encode() for i in range(count)]
    direct = psi.evaluate_points(key, items)
    blinder = psi.Blinder()
    request = blinder.request(items)
    response = psi.process_request(key, request, reveal=True, max_items=100)
    points = psi.parse_response(response, expected=len(items))
    assert blinder.unblind(points) == [p[1:] for p in direct]


def test_requests_are_unlinkable() -> None:
    """The same items blinded twice give unrelated points (a fresh key per request)."""
    a, b = psi.Blinder(), psi.Blinder()
    _, pa = psi.parse_request(a.request(ITEMS))
    _, pb = psi.parse_request(b.request(ITEMS))
    assert not set(pa) & set(pb)


def _request(elements: list[bytes], reveal: bool = True) -> bytes:
    req = Request()
    req.reveal_intersection = reveal
    req.encrypted_elements.extend(elements)
    return bytes(req.SerializeToString())


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xff\xff\xff", "malformed"),
        (_request([b"\x02" * 5]), "not a compressed"),
        (_request([b"\x04" + b"\x01" * 32]), "not a compressed"),
        (_request([b"\x02" + b"\xff" * 32]), "rejected"),
        (_request([b"\x02" + b"\x00" * 31 + b"\x05"] * 11), "limit 10"),
        (_request([]) + b"\x1a\x01\x00", "malformed"),
    ],
    ids=["garbage", "short-point", "bad-prefix", "off-curve", "too-many", "unknown-field"],
)
def test_bad_requests_raise_protocol_error(data: bytes, match: str) -> None:
    with pytest.raises(PSIProtocolError, match=match):
        psi.process_request(psi.new_key(), data, reveal=True, max_items=10)


def test_response_count_must_match() -> None:
    key = psi.new_key()
    response = psi.process_request(key, psi.Blinder().request(ITEMS), reveal=True, max_items=10)
    with pytest.raises(PSIProtocolError, match="expected 2"):
        psi.parse_response(response, expected=2)


def test_cardinality_response_is_a_permutation() -> None:
    key = psi.new_key()
    blinder = psi.Blinder(reveal=False)
    request = blinder.request(ITEMS)
    plain = psi.parse_response(
        psi.process_request(key, request, reveal=True, max_items=10), expected=3
    )
    shuffled = psi.parse_response(
        psi.process_request(key, request, reveal=False, max_items=10), expected=3
    )
    assert sorted(shuffled) == sorted(plain)


def test_threads_each_get_their_own_object() -> None:
    key = psi.new_key()
    expected = psi.evaluate_points(key, ITEMS)
    results: list[list[bytes]] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(20):
            got = psi.evaluate_points(key, ITEMS)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    assert all(r == expected for r in results)
