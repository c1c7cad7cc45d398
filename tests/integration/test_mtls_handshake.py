"""The test PKI's certificates work with grpc mutual TLS, and the peer's country can be read
from the handshake (``auth_context``), with revocation checked after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pki_fixtures import TestPKI

from certs import NodeCertFiles, PeerVerifier
from fedlookup.errors import IdentityError

pytestmark = pytest.mark.integration

TIMEOUT = 10.0


class CountryInterceptor(grpc.ServerInterceptor):
    """Verifies the caller's certificate (chain, CRL, country) before any handler runs."""

    def __init__(self, verifier: PeerVerifier) -> None:
        self.verifier = verifier
        self.seen: list[str] = []
        self.refused: list[str] = []

    def intercept_service(
        self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def checked(request: Any, context: grpc.ServicerContext) -> Any:
            # Present only with require_client_auth=True; absent means no certificate.
            pems = context.auth_context().get("x509_pem_cert") or [b""]
            try:
                identity = self.verifier.verify(bytes(pems[0]))
            except IdentityError as exc:
                self.refused.append(str(exc))
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "peer not accepted")
            self.seen.append(identity.country)
            return inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@pytest.fixture(scope="module")
def server(test_pki: TestPKI) -> Iterator[tuple[int, CountryInterceptor]]:
    node = test_pki.nodes["DE"]
    interceptor = CountryInterceptor(test_pki.verifier())
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[interceptor])
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), srv)
    creds = grpc.ssl_server_credentials(
        [(node.key_path.read_bytes(), node.cert_path.read_bytes())],
        root_certificates=test_pki.ca.cert_path.read_bytes(),
        require_client_auth=True,
    )
    port = srv.add_secure_port("127.0.0.1:0", creds)
    srv.start()
    try:
        yield port, interceptor
    finally:
        srv.stop(grace=None)


def _check(
    port: int, roots: bytes, client: NodeCertFiles | None, server_name: str | None = None
) -> int:
    creds = grpc.ssl_channel_credentials(
        root_certificates=roots,
        private_key=client.key_path.read_bytes() if client else None,
        certificate_chain=client.cert_path.read_bytes() if client else None,
    )
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    with grpc.secure_channel(f"127.0.0.1:{port}", creds, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
        return int(reply.status)


def test_good_client_is_served_and_its_country_read(
    test_pki: TestPKI, server: tuple[int, CountryInterceptor]
) -> None:
    port, interceptor = server
    roots = test_pki.ca.cert_path.read_bytes()
    assert _check(port, roots, test_pki.nodes["FR"]) == health_pb2.HealthCheckResponse.SERVING
    assert interceptor.seen[-1] == "FR"
    assert _check(port, roots, test_pki.nodes["NL"]) == health_pb2.HealthCheckResponse.SERVING
    assert interceptor.seen[-1] == "NL"


@pytest.mark.parametrize(
    "client", [None, "other_ca", "self_signed", "expired", "not_yet_valid", "wrong_usage"]
)
def test_handshake_refuses_untrusted_client(
    test_pki: TestPKI, server: tuple[int, CountryInterceptor], client: str | None
) -> None:
    port, _ = server
    files = test_pki.bad[client] if client else None
    with pytest.raises(grpc.RpcError) as info:
        _check(port, test_pki.ca.cert_path.read_bytes(), files)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("client", "reason"), [("revoked", "revoked"), ("no_country", "no country")]
)
def test_client_passing_tls_is_refused_by_the_interceptor(
    test_pki: TestPKI, server: tuple[int, CountryInterceptor], client: str, reason: str
) -> None:
    # grpc Python has no CRL hook: the handshake accepts a revoked certificate, which is
    # why the node re-verifies the peer certificate in an interceptor.
    port, interceptor = server
    with pytest.raises(grpc.RpcError) as info:
        _check(port, test_pki.ca.cert_path.read_bytes(), test_pki.bad[client])
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in interceptor.refused[-1]


def test_client_refuses_server_under_wrong_name(
    test_pki: TestPKI, server: tuple[int, CountryInterceptor]
) -> None:
    port, _ = server
    with pytest.raises(grpc.RpcError) as info:
        _check(port, test_pki.ca.cert_path.read_bytes(), test_pki.nodes["FR"], "node.example")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_refuses_server_from_another_ca(
    test_pki: TestPKI, server: tuple[int, CountryInterceptor]
) -> None:
    port, _ = server
    with pytest.raises(grpc.RpcError) as info:
        _check(port, test_pki.other_ca.cert_path.read_bytes(), test_pki.nodes["FR"])
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
