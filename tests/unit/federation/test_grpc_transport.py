"""GrpcTransport's index assembly and error translation, against a scripted stub.

The streams are scripted so the failure points are exact: a stream that breaks after some
chunks, one whose index moved on, a wrong checksum. Real servers are in the integration tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from pki_fixtures import ANY_SERVER, TestPKI

from federation.grpc_transport import ClientCredentials, GrpcTransport, translate_rpc_error
from federation.transport import IndexDownload
from fedlookup.errors import PeerRejectedError, PeerUnavailableError
from protos.fedlookup.v1 import fedlookup_pb2 as pb

BLOB = bytes(range(256)) * 40  # 10,240 bytes
DIGEST = hashlib.sha256(BLOB).digest()


class RpcFailure(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """What a grpc stub raises: an RpcError that is also a Call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> Any: ...
    def trailing_metadata(self) -> Any: ...
    def is_active(self) -> bool: ...
    def time_remaining(self) -> Any: ...
    def cancel(self) -> bool: ...
    def add_callback(self, callback: Any) -> bool: ...


class ScriptedStub:
    """Serves BLOB in 1 KiB chunks; each call follows the next entry of ``script``:
    ``("ok", None)``, ``("break", n)`` (UNAVAILABLE after n chunks), ``("aborted", None)``,
    ``("digest", None)`` (a wrong checksum)."""

    def __init__(self, script: list[tuple[str, int | None]]) -> None:
        self.script = script
        self.requests: list[pb.SyncIndexRequest] = []

    def SyncIndex(self, request: pb.SyncIndexRequest, timeout: float) -> Iterator[pb.IndexChunk]:
        self.requests.append(request)
        action, arg = self.script.pop(0)
        if action == "aborted":
            raise RpcFailure(grpc.StatusCode.ABORTED, "index changed during the transfer")
        digest = b"\0" * 32 if action == "digest" else DIGEST
        for sent, offset in enumerate(range(request.offset, len(BLOB), 1024)):
            if action == "break" and sent == arg:
                raise RpcFailure(grpc.StatusCode.UNAVAILABLE, "Socket closed")
            data = BLOB[offset : offset + 1024]
            final = offset + len(data) == len(BLOB)
            yield pb.IndexChunk(data=data, offset=offset, total_size=len(BLOB), sha256=digest,
                                index_version=7, epoch_id="e1", final=final,
                                head=b"H" if final else b"",
                                head_signature=b"S" if final else b"")  # fmt: skip


@pytest.fixture
def creds(test_pki: TestPKI) -> ClientCredentials:
    de = test_pki.nodes["DE"]
    return ClientCredentials.from_files(ca=de.ca_path, cert=de.cert_path, key=de.key_path)


def _transport(stub: ScriptedStub, creds: ClientCredentials) -> GrpcTransport:
    # The channel is lazy: nothing connects; the stub answers instead.
    t = GrpcTransport("FR", "127.0.0.1:9", creds, server_check=ANY_SERVER)
    t._stub = stub  # type: ignore[assignment]
    return t


def test_a_whole_stream_is_assembled_and_checked(creds: ClientCredentials) -> None:
    stub = ScriptedStub([("ok", None)])
    with _transport(stub, creds) as t:
        assert t.sync_index(3, "e1", timeout=5) == IndexDownload(BLOB, b"H", b"S")
    assert (stub.requests[0].since_version, stub.requests[0].epoch_id) == (3, "e1")


def test_a_broken_stream_resumes_from_the_last_byte_held(creds: ClientCredentials) -> None:
    stub = ScriptedStub([("break", 4), ("break", 3), ("ok", None)])
    with _transport(stub, creds) as t:
        assert t.sync_index(None, None, timeout=5).blob == BLOB
    assert [r.offset for r in stub.requests] == [0, 4096, 7168]
    assert [r.resume_version for r in stub.requests] == [0, 7, 7]
    assert not stub.requests[0].HasField("since_version")


def test_an_index_that_moved_on_restarts_from_zero(creds: ClientCredentials) -> None:
    stub = ScriptedStub([("break", 2), ("aborted", None), ("ok", None)])
    with _transport(stub, creds) as t:
        assert t.sync_index(None, None, timeout=5).blob == BLOB
    assert [r.offset for r in stub.requests] == [0, 2048, 0]


def test_a_wrong_checksum_makes_the_peer_unavailable(creds: ClientCredentials) -> None:
    stub = ScriptedStub([("digest", None)])
    with _transport(stub, creds) as t, pytest.raises(PeerUnavailableError, match="checksum"):
        t.sync_index(None, None, timeout=5)


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (grpc.StatusCode.UNAVAILABLE, PeerUnavailableError, "UNAVAILABLE: Socket closed"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, PeerUnavailableError, "deadline"),
        (grpc.StatusCode.PERMISSION_DENIED, PeerRejectedError, "refused by the node's policy"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, PeerRejectedError, "quota"),
    ],
)
def test_status_codes_become_unavailable_or_rejected(
    code: grpc.StatusCode, error: type[Exception], words: str
) -> None:
    details = {
        grpc.StatusCode.PERMISSION_DENIED: "refused by the node's policy",
        grpc.StatusCode.RESOURCE_EXHAUSTED: "daily item quota exceeded",
    }.get(code, "Socket closed")
    translated = translate_rpc_error("NL", RpcFailure(code, details), "Evaluate")
    assert isinstance(translated, error)
    assert words in str(translated)
    assert str(translated).startswith("peer NL: Evaluate")
