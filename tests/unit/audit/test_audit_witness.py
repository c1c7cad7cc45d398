"""Cosigning over the C2SP tlog-witness add-checkpoint exchange."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_helpers import fill
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog, Checkpoint, log_vkey, sign_checkpoint
from audit.witness import handle_add_checkpoint, request_cosignature, witness_request
from fedlookup.errors import PeerRejectedError

OpenLog = Callable[..., AuditLog]


def test_rounds_of_witnessing_with_a_stale_client(open_log: OpenLog) -> None:
    de, fr = open_log("DE"), open_log("FR")
    trusted = {de.origin: de.vkey}

    def send(body: bytes) -> tuple[int, bytes]:
        return handle_add_checkpoint(fr, body, trusted)

    fill(de, 3)
    assert request_cosignature(de, send, fr.cosigner_vkey) == 3
    fill(de, 4)
    # The client forgot the size (old 0): the witness answers 409 with 3, the client retries.
    assert request_cosignature(de, send, fr.cosigner_vkey, old_size=0) == 7
    assert fr.cosigned_size(de.origin) == 7
    assert de.checkpoint().decode().count("\u2014 ") == 2


def test_statuses(open_log: OpenLog, keys: dict[str, Ed25519PrivateKey]) -> None:
    de, fr = open_log("DE"), open_log("FR")
    fill(de, 5)
    trusted = {de.origin: de.vkey}
    request, _ = witness_request(de, 0)
    wrong_key = {de.origin: log_vkey(de.origin, keys["IT"].public_key())}
    assert handle_add_checkpoint(fr, request, {})[0] == 404
    assert handle_add_checkpoint(fr, request, wrong_key)[0] == 403
    assert handle_add_checkpoint(fr, b"garbage", trusted)[0] == 400
    assert handle_add_checkpoint(fr, request.replace(b"old 0", b"old 9"), trusted)[0] == 400
    assert handle_add_checkpoint(fr, request, trusted)[0] == 200
    # A rewritten history: a checkpoint of size 6 whose root does not extend the one of size 5.
    forged = sign_checkpoint(Checkpoint(de.origin, 6, bytes(32)), keys["DE"]).serialize()
    status, reply = handle_add_checkpoint(fr, b"old 5\n\n" + forged, trusted)
    assert (status, fr.cosigned_size(de.origin)) == (422, 5)
    assert b"consistency" in reply


def test_refusal_is_reported(open_log: OpenLog) -> None:
    de, fr = open_log("DE"), open_log("FR")
    fill(de, 1)
    with pytest.raises(PeerRejectedError, match="404"):
        request_cosignature(de, lambda body: handle_add_checkpoint(fr, body, {}), fr.cosigner_vkey)
