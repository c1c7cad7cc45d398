"""Verifiable evaluation, the arithmetic attacks: a node answering under another key, with
random points, in another order or under another epoch gains nothing: the proof fails."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from federation import dleq, p256
from federation.psi import Blinder, new_key, parse_request, parse_response, process_request
from fedlookup.errors import PSIProtocolError

ITEMS = [b"v1|MS|GLOCK|XK4471Z", b"v1|S|XK4471Z", b"v1|MS|SIG|A1", b"v1|S|A1"]
CONTEXT = dleq.proof_context("FR", "20260101T000000Z-0badc0de")


def _answer(key: bytes, items: list[bytes] = ITEMS) -> tuple[list[bytes], list[bytes]]:
    request = Blinder().request(items)
    _, blinded = parse_request(request)
    response = process_request(key, request, reveal=True, max_items=100)
    return blinded, parse_response(response, expected=len(items))


def _rejects(public: bytes, blinded: list[bytes], evaluated: list[bytes], proof: bytes) -> str:
    with pytest.raises(PSIProtocolError, match=dleq.PROOF_INVALID) as err:
        dleq.verify(public, blinded, evaluated, proof, context=CONTEXT)
    return str(err.value)


def test_an_honest_answer_verifies_for_any_request_size() -> None:
    key = new_key()
    for n in (1, 2, 17):
        items = [f"item-{i}".encode() for i in range(n)]
        blinded, evaluated = _answer(key, items)
        proof = dleq.prove(key, blinded, evaluated, context=CONTEXT)
        assert len(proof) == dleq.PROOF_LENGTH
        dleq.verify(dleq.public_key(key), blinded, evaluated, proof, context=CONTEXT)


def test_the_public_key_is_the_standard_p256_public_key() -> None:
    key = new_key()
    expected = (
        ec.derive_private_key(int.from_bytes(key, "big"), ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    )
    assert dleq.public_key(key) == expected


def test_an_answer_under_another_key_fails_even_with_a_valid_proof_for_that_key() -> None:
    published, other = new_key(), new_key()
    blinded, evaluated = _answer(other)
    proof = dleq.prove(other, blinded, evaluated, context=CONTEXT)
    _rejects(dleq.public_key(published), blinded, evaluated, proof)


def test_one_element_under_another_key_fails() -> None:
    key, other = new_key(), new_key()
    blinded, evaluated = _answer(key)
    # The node answers one item (a hit, say) under another key: a targeted silent miss.
    forged = p256.mul(int.from_bytes(other, "big"), p256.decode(blinded[1])).encode()
    assert forged != evaluated[1]
    mixed = [evaluated[0], forged, *evaluated[2:]]
    proof = dleq.prove(key, blinded, mixed, context=CONTEXT)
    _rejects(dleq.public_key(key), blinded, mixed, proof)


def test_random_points_fail() -> None:
    key = new_key()
    blinded, _ = _answer(key)
    rubbish = [dleq.public_key(new_key()) for _ in blinded]
    _rejects(dleq.public_key(key), blinded, rubbish, secrets.token_bytes(64))


def test_reordered_answers_fail() -> None:
    key = new_key()
    blinded, evaluated = _answer(key)
    swapped = [evaluated[1], evaluated[0], *evaluated[2:]]
    proof = dleq.prove(key, blinded, evaluated, context=CONTEXT)
    _rejects(dleq.public_key(key), blinded, swapped, proof)


def test_a_proof_is_bound_to_its_country_and_epoch() -> None:
    key = new_key()
    blinded, evaluated = _answer(key)
    proof = dleq.prove(key, blinded, evaluated, context=dleq.proof_context("FR", "other-epoch"))
    _rejects(dleq.public_key(key), blinded, evaluated, proof)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: b"",
        lambda p: p[:63],
        lambda p: p + b"\x00",
        lambda p: bytes([p[0] ^ 1]) + p[1:],
        lambda p: p[:32] + bytes([p[32] ^ 1]) + p[33:],
        lambda p: b"\xff" * 64,
    ],
    ids=["empty", "short", "long", "challenge", "response", "out-of-range"],
)
def test_a_mangled_proof_fails(mangle: object) -> None:
    key = new_key()
    blinded, evaluated = _answer(key)
    proof = dleq.prove(key, blinded, evaluated, context=CONTEXT)
    _rejects(dleq.public_key(key), blinded, evaluated, mangle(proof))  # type: ignore[operator]


def _on(candidate: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), candidate)
    except ValueError:
        return False
    return True


def test_a_point_off_the_curve_is_refused_with_a_reason() -> None:
    key = new_key()
    blinded, evaluated = _answer(key)
    off = next(c for c in (b"\x02" + x.to_bytes(32, "big") for x in range(1, 50)) if not _on(c))
    reason = _rejects(dleq.public_key(key), blinded, [off, *evaluated[1:]], b"\x01" * 64)
    assert "not on the P-256 curve" in reason
    with pytest.raises(PSIProtocolError, match="not a compressed"):
        p256.decode(b"\x04" + bytes(32))


def test_multi_scalar_multiplication_agrees_with_single_multiplications() -> None:
    a, b = secrets.randbelow(p256.ORDER), secrets.randbelow(p256.ORDER)
    g = p256.base_mul(1)
    q = p256.base_mul(7)
    assert p256.multi_mul([a, b], [g, q]) == p256.base_mul((a + 7 * b) % p256.ORDER)
    assert p256.multi_mul([b], [q], base=a) == p256.base_mul((a + 7 * b) % p256.ORDER)
    assert p256.mul(a, q) == p256.base_mul(7 * a % p256.ORDER)
    assert "OpenSSL" in p256.libcrypto_version()
