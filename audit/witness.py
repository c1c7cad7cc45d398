"""Cosigning over the wire, in the C2SP tlog-witness ``add-checkpoint`` format.

A node asks a peer to witness its log by sending::

    old <size the peer cosigned last>
    <consistency proof hash, base64>    (zero or more lines)
    <empty line>
    <signed checkpoint>

The peer answers ``(status, body)`` with the HTTP statuses of the specification: 200 and
cosignature lines; 409 and ``<latest cosigned size>\\n`` when ``old`` is stale (the log then
retries from that size); 400 malformed, 403 bad signature, 404 unknown log, 422 proof does
not verify. Transports carry the two values as they are (a gRPC message, an HTTP response).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping

from audit.checkpoint import Checkpoint
from audit.log import AuditLog, CosignConflictError
from audit.note import SignedNote, b64decode_strict
from fedlookup.errors import ConsistencyError, PeerRejectedError, VerificationError

__all__ = ["MAX_PROOF_LINES", "handle_add_checkpoint", "request_cosignature", "witness_request"]

MAX_PROOF_LINES = 63


def witness_request(log: AuditLog, old_size: int) -> tuple[bytes, int]:
    """Build an add-checkpoint request for ``log``'s latest checkpoint.

    Returns:
        The request and the size of the checkpoint it carries.
    """
    note = log.checkpoint()
    size = Checkpoint.parse_body(SignedNote.parse(note).text).size
    proof = log.consistency_proof(old_size, size) if 0 < old_size <= size else []
    lines = [f"old {old_size}\n", *(base64.b64encode(p).decode() + "\n" for p in proof), "\n"]
    return "".join(lines).encode() + note, size


def _parse(body: bytes) -> tuple[int, list[bytes], bytes]:
    text = body.decode("utf-8")
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise ValueError("request must start with an old size line and a blank line")
    size = lines[0][4:]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise ValueError("old size is not a decimal size")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise ValueError("too many consistency proof lines")
    proof = [b64decode_strict(line, "consistency proof line") for line in lines[1:]]
    return int(size), proof, note.encode()


def handle_add_checkpoint(
    log: AuditLog, body: bytes, trusted: Mapping[str, str]
) -> tuple[int, bytes]:
    """Witness a peer's checkpoint: the server side of add-checkpoint.

    Args:
        log: our own log (its key cosigns; its witness state is updated durably).
        body: the request.
        trusted: origin -> log vkey of every peer log we witness (the federation directory).

    Returns:
        ``(status, body)`` as the specification defines them.
    """
    try:
        old, proof, note = _parse(body)
        checkpoint = Checkpoint.parse_body(SignedNote.parse(note).text)
    except (ValueError, UnicodeDecodeError, VerificationError) as exc:
        return 400, f"{exc}\n".encode()
    vkey = trusted.get(checkpoint.origin)
    if vkey is None:
        return 404, b"unknown log\n"
    if old > checkpoint.size:
        return 400, b"old size is larger than the checkpoint\n"
    if old == 0 and proof:
        return 400, b"proof must be empty from size 0\n"
    try:
        line = log.cosign(note, vkey, proof, old_size=old)
    except CosignConflictError as exc:
        return 409, f"{exc.latest_size}\n".encode()
    except VerificationError as exc:
        return 403, f"{exc}\n".encode()
    except ConsistencyError as exc:
        status = 409 if old == checkpoint.size else 422
        return status, f"{exc}\n".encode()
    return 200, line.encode()


def request_cosignature(
    log: AuditLog,
    send: Callable[[bytes], tuple[int, bytes]],
    witness_vkey: str,
    *,
    old_size: int = 0,
) -> int:
    """Obtain and store a peer's cosignature on our latest checkpoint: the client side.

    Args:
        log: our log.
        send: delivers a request to the witness and returns its ``(status, body)``.
        witness_vkey: the witness's cosigner vkey (type 0x04).
        old_size: the size we believe the witness cosigned last (0 if unknown).

    Returns:
        The size the witness has now cosigned (keep it for the next round).

    Raises:
        PeerRejectedError: the witness refused (any status but 200 after one 409 retry).
        VerificationError: its cosignature does not verify.
    """
    for _ in range(2):
        request, size = witness_request(log, old_size)
        status, reply = send(request)
        if status == 409 and reply.strip().isdigit() and int(reply) != old_size:
            old_size = int(reply)
            continue
        if status != 200:
            text = reply.decode("utf-8", "replace").strip()
            raise PeerRejectedError(witness_vkey.split("+", 1)[0], f"witness {status}: {text}")
        for line in reply.decode("utf-8").splitlines(keepends=True):
            log.add_cosignature(line, witness_vkey, size=size)
        return size
    raise PeerRejectedError(witness_vkey.split("+", 1)[0], "witness keeps answering 409")
