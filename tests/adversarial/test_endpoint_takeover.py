"""A member takes over another member's endpoint after the asker has talked to it.

DE holds one long-lived transport to FR (as a serving node's cosigning rounds and a desk's
checks do) and checks FR's node once: it answers. FR's node then stops and a process holding
NL's valid member certificate starts serving at FR's endpoint (``members/impostor.py``).
DE's next call on the *same* transport opens a new connection, which must be authenticated
like the first: DE reports FR unavailable naming the mismatch, and the impostor receives no
call at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import member_process
from reliability.relnet import RelNet

from certs import PeerAuthenticator, ReloadingPeerVerifier
from federation.directory import load_directory
from federation.grpc_transport import GrpcTransport
from fedlookup.errors import PeerUnavailableError

pytestmark = pytest.mark.integration

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    """DE, FR, NL serving."""
    with RelNet.start(tmp_path_factory.mktemp("takeover"), ["DE", "FR", "NL"], records=5) as n:
        yield n


def _answers(transport: GrpcTransport) -> str:
    """The country the transport's peer reports, retried for up to 20 s."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return transport.node_info(timeout=TIMEOUT).country
        except PeerUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_a_takeover_after_a_good_call_is_refused_on_the_same_transport(
    net: RelNet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = net.network.nodes["DE"].config()
    directory = load_directory(config.directory.path, config.directory.authority)
    servers = PeerAuthenticator(ReloadingPeerVerifier([config.tls.ca], [config.tls.crl]), directory)
    record = tmp_path / "calls.jsonl"
    nl = net.folder("NL") / "tls"
    with GrpcTransport("FR", net.endpoint("FR"), net.credentials("DE"), server_check=servers) as fr:
        assert fr.node_info(timeout=TIMEOUT).country == "FR"  # the real FR, authenticated
        net.procs.stop("FR")
        try:
            with (
                member_process(
                    "impostor", "--port", str(net.ports["FR"]),
                    "--cert", str(nl / "node.pem"), "--key", str(nl / "node.key"),
                    "--ca", str(config.tls.ca), "--record", str(record),
                ),
                pytest.raises(PeerUnavailableError) as info,
            ):  # fmt: skip
                fr.node_info(timeout=TIMEOUT)
        finally:
            net.start_again("FR")
        assert "answering node is not FR" in str(info.value), info.value
        assert "certificate is for NL, expected FR" in str(info.value), info.value
        # The impostor got nothing but a handshake.
        assert record.read_text(encoding="utf-8") == ""
        # The same transport reaches FR again once FR's own node is back (after grpc's
        # reconnect backoff, about a second).
        assert _answers(fr) == "FR"
    refused = [r for r in caplog.records if getattr(r, "event", None) == "refused_server"]
    assert refused, caplog.text
    assert refused[0].peer == "FR"  # type: ignore[attr-defined]
