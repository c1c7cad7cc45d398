"""The verified connector: a refused peer receives nothing, the reason surfaces, close cleans up.

The peer is a real TLS 1.3 server on 127.0.0.1 (a thread of this process) presenting a test
PKI certificate and recording every byte it receives after the handshake; the server check
is scripted (the real authenticator's verdicts are in tests/unit/certs and the adversarial
suite).
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pki_fixtures import ANY_SERVER, TestPKI

from federation.grpc_transport import ClientCredentials, GrpcTransport
from federation.peer_link import PeerLink
from fedlookup.errors import CountryMismatchError, PeerUnavailableError


@dataclass
class FakePeer:
    """A TLS 1.3 server that echoes what it receives and counts it."""

    port: int
    received: bytearray = field(default_factory=bytearray)
    handshakes: int = 0


@pytest.fixture
def creds(test_pki: TestPKI) -> ClientCredentials:
    de = test_pki.nodes["DE"]
    return ClientCredentials.from_files(ca=de.ca_path, cert=de.cert_path, key=de.key_path)


@pytest.fixture
def peer(test_pki: TestPKI) -> Iterator[FakePeer]:
    nl = test_pki.nodes["NL"]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(nl.cert_path, nl.key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    fake = FakePeer(listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            # One connection at a time, on this thread only: its SSLSocket has one user.
            with conn:
                conn.settimeout(5)
                try:
                    with ctx.wrap_socket(conn, server_side=True) as tls:
                        fake.handshakes += 1
                        while data := tls.recv(65536):
                            fake.received.extend(data)
                            tls.sendall(data)
                except (OSError, ssl.SSLError):
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=10)


class Refuse:
    """A server check that refuses, naming the mismatch, and keeps what it was shown."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, str]] = []

    def check_server(self, country: str, cert: bytes, host: str) -> object:
        self.seen.append((country, cert, host))
        raise CountryMismatchError(f"certificate is for NL, expected {country}")


def _exchange(link: PeerLink, payload: bytes) -> bytes:
    """Send ``payload`` through the link's local socket (as grpc does: no half-close); what
    comes back, up to as many bytes, before the link closes the connection."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(link.path)
        s.sendall(payload)
        out = bytearray()
        while len(out) < len(payload) and (data := s.recv(65536)):
            out.extend(data)
        return bytes(out)


def test_a_refused_peer_receives_nothing_and_the_reason_is_kept(
    peer: FakePeer, creds: ClientCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fedlookup")
    check = Refuse()
    link = PeerLink("FR", f"127.0.0.1:{peer.port}", creds, server_check=check)
    try:
        assert _exchange(link, b"PRI * HTTP/2.0 and a request") == b""
        failure = link.failure()
    finally:
        link.close()
    assert peer.handshakes == 1  # the handshake completed: the check saw its certificate
    assert bytes(peer.received) == b""  # and not one byte followed
    assert failure is not None
    assert failure.refused
    assert failure.reason == "answering node is not FR: certificate is for NL, expected FR"
    country, der, host = check.seen[0]
    assert (country, host) == ("FR", "127.0.0.1")
    assert der.startswith(b"\x30")  # the DER certificate presented on that connection
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "refused_server"]
    assert record.getMessage().startswith(f"refused server FR at 127.0.0.1:{peer.port}: ")
    assert (record.peer, record.reason) == ("FR", "CountryMismatchError")  # type: ignore[attr-defined]


def test_an_accepted_peer_is_relayed_both_ways(peer: FakePeer, creds: ClientCredentials) -> None:
    with_name = PeerLink("FR", f"127.0.0.1:{peer.port}", creds, server_check=ANY_SERVER)
    try:
        assert _exchange(with_name, b"x" * 300_000) == b"x" * 300_000
        assert with_name.failure() is None
    finally:
        with_name.close()
    assert len(peer.received) == 300_000


def test_every_connection_is_checked(peer: FakePeer, creds: ClientCredentials) -> None:
    check = Refuse()
    link = PeerLink("FR", f"127.0.0.1:{peer.port}", creds, server_check=check)
    try:
        for _ in range(3):
            assert _exchange(link, b"again") == b""
    finally:
        link.close()
    assert len(check.seen) == 3
    assert peer.received == b""


def test_the_socket_is_private_and_close_removes_it(creds: ClientCredentials) -> None:
    link = PeerLink("FR", "127.0.0.1:9", creds, server_check=ANY_SERVER)
    folder = os.path.dirname(link.path)
    try:
        assert link.address == f"unix:{link.path}"
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        mode = os.stat(link.path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
        assert any(t.name == "fedlookup-peer-links" for t in threading.enumerate())
    finally:
        link.close()
    link.close()  # idempotent
    assert not os.path.exists(folder)
    assert not any(t.name == "fedlookup-peer-links" for t in threading.enumerate())


def test_close_drops_a_connection_in_flight(peer: FakePeer, creds: ClientCredentials) -> None:
    link = PeerLink("FR", f"127.0.0.1:{peer.port}", creds, server_check=ANY_SERVER)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(link.path)
        s.sendall(b"ping")
        assert s.recv(4) == b"ping"  # relayed and echoed: the connection is up
        link.close()
        assert s.recv(10) == b""  # the link closed it
    assert not os.path.exists(link.path)


def _free_port() -> int:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_peer_is_unavailable_with_its_reason(creds: ClientCredentials) -> None:
    port = _free_port()
    with (
        GrpcTransport("FR", f"127.0.0.1:{port}", creds, server_check=ANY_SERVER) as t,
        pytest.raises(
            PeerUnavailableError, match=rf"cannot connect to 127\.0\.0\.1:{port}"
        ) as info,
    ):
        t.node_info(timeout=5)
    assert info.value.peer == "FR"


def test_a_transport_reports_the_refusal_of_its_link(
    peer: FakePeer, creds: ClientCredentials
) -> None:
    with (
        GrpcTransport("FR", f"127.0.0.1:{peer.port}", creds, server_check=Refuse()) as t,
        pytest.raises(PeerUnavailableError) as info,
    ):
        t.node_info(timeout=5)
    assert "answering node is not FR: certificate is for NL, expected FR" in str(info.value)
    assert bytes(peer.received) == b""


class Switch:
    """A server check that passes until it is told to refuse (a directory or CRL change)."""

    def __init__(self) -> None:
        self.refuse = False

    def check_server(self, country: str, cert: bytes, host: str) -> object:
        if self.refuse:
            raise CountryMismatchError(f"FR is not a member of directory v9 ({country})")
        return None


def test_an_open_connection_is_dropped_when_its_peer_no_longer_passes(
    peer: FakePeer, creds: ClientCredentials
) -> None:
    check = Switch()
    link = PeerLink("FR", f"127.0.0.1:{peer.port}", creds, server_check=check)
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(link.path)
            s.sendall(b"first")
            assert s.recv(64) == b"first"  # authenticated and relayed
            assert link.recheck(max_age=0) is None  # still passes: nothing dropped
            check.refuse = True
            assert link.recheck() is None  # checked a moment ago: not again yet
            failure = link.recheck(max_age=0)
            assert failure is not None
            assert failure.refused
            assert "not a member" in failure.reason
            assert s.recv(64) == b""  # the link dropped the connection
        assert bytes(peer.received) == b"first"  # nothing after the refusal
        assert link.recheck(max_age=0) is None  # no open connection left to refuse
    finally:
        link.close()
