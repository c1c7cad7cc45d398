"""Every way a caller's (or a node's) credentials can be wrong, against a real node process.

Ten cases, one table: no certificate, self-signed, another CA, expired, not yet valid, wrong
key usage (refused in the TLS handshake, grpc's reason in the node's JSON log), revoked,
unlisted, country mismatch (refused by the node's identity checks with a fixed public
message, the reason class in its log) and a node answering under the wrong host name (the
asking side refuses it, with the reason in the error it reports). Each is refused and each
reason is logged; a valid caller is served before and after.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from pki_fixtures import ANY_SERVER
from relnet import RelNet

from audit.keys import load_private_key
from audit.statements import QueryStatement, sign
from certs import (
    CAFiles,
    NodeCertFiles,
    PeerAuthenticator,
    ReloadingPeerVerifier,
    issue_node_certificate,
    revoke,
)
from federation.directory import load_directory
from federation.evaluation import BlindedQuery
from federation.grpc_transport import ClientCredentials, GrpcTransport
from fedlookup.errors import PeerRejectedError, PeerUnavailableError

pytestmark = pytest.mark.integration

TIMEOUT = 10.0

#: case -> substring of the refusal logged by DE (grpc's TLS reason or the error class).
HANDSHAKE = {
    "no_certificate": "PEER_DID_NOT_RETURN_A_CERTIFICATE",
    # BoringSSL names an untrusted self-signed leaf like any certificate of an unknown issuer.
    "self_signed": "unable to get local issuer certificate",
    "other_ca": "unable to get local issuer certificate",
    "expired": "certificate has expired",
    "not_yet_valid": "certificate is not yet valid",
    "wrong_usage": "unsupported certificate purpose",
}


def _issue(net: RelNet, name: str, tmp: Path) -> NodeCertFiles:
    ca = CAFiles.open(net.network.ca_dir)
    now = datetime.now(UTC)
    out = tmp / name
    if name == "self_signed":
        return issue_node_certificate(None, "FR", out, self_signed=True)
    if name == "other_ca":
        from certs import init_ca

        other = init_ca(tmp / "other-ca", "another federation")
        return issue_node_certificate(other, "FR", out)
    if name == "expired":
        return issue_node_certificate(ca, "FR", out, not_before=now - timedelta(days=10), days=1)
    if name == "not_yet_valid":
        return issue_node_certificate(ca, "FR", out, not_before=now + timedelta(days=10), days=30)
    if name == "wrong_usage":
        return issue_node_certificate(ca, "FR", out, usages=("serverAuth",))
    return issue_node_certificate(ca, "XX" if name == "unlisted" else "FR", out)


def _creds(net: RelNet, files: NodeCertFiles | None) -> ClientCredentials:
    ca = (net.network.ca_dir / "ca.pem").read_bytes()
    if files is None:
        return ClientCredentials(ca=ca, cert=b"", key=b"")
    return ClientCredentials(ca, files.cert_path.read_bytes(), files.key_path.read_bytes())


def _node_info(net: RelNet, creds: ClientCredentials) -> None:
    if not creds.cert:  # grpc needs None, not b"", for "no client certificate"
        channel = grpc.secure_channel(net.endpoint("DE"), grpc.ssl_channel_credentials(creds.ca))
        with channel:
            channel.unary_unary("/fedlookup.v1.Federation/NodeInfo")(b"", timeout=TIMEOUT)
        return
    with GrpcTransport("DE", net.endpoint("DE"), creds, server_check=ANY_SERVER) as t:
        t.node_info(timeout=TIMEOUT)


def _refusals(net: RelNet) -> list[str]:
    return [
        f"{r.get('reason')}: {r.get('detail')}"
        for r in net.log_records("DE")
        if r.get("event") == "refused"
    ]


def _logged(net: RelNet, needle: str, since: int = 0) -> str:
    for _ in range(200):  # the node writes its log asynchronously (20 s under load)
        found = [r for r in _refusals(net)[since:] if needle in r]
        if found:
            return found[-1]
        time.sleep(0.1)
    pytest.fail(f"{needle!r} not in DE's log; refusals: {_refusals(net)[-5:]}")


def test_a_valid_caller_is_served(net: RelNet) -> None:
    _node_info(net, net.credentials("FR"))


@pytest.mark.parametrize("case", list(HANDSHAKE))
def test_refused_in_the_handshake_with_the_reason_logged(
    net: RelNet, case: str, tmp_path: Path
) -> None:
    files = None if case == "no_certificate" else _issue(net, case, tmp_path)
    since = len(_refusals(net))
    with pytest.raises((PeerUnavailableError, grpc.RpcError)) as info:
        _node_info(net, _creds(net, files))
    if isinstance(info.value, grpc.RpcError):
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    _logged(net, HANDSHAKE[case], since)
    # Every handshake refusal names the caller's address (read from grpc's handshake trace).
    refused = [r for r in net.log_records("DE") if r.get("reason") == "TLSHandshakeError"]
    assert refused
    assert all(str(r.get("address", "")).startswith("ipv4:127.0.0.1:") for r in refused), refused


def test_revoked_is_refused_after_the_crl_is_published(net: RelNet, tmp_path: Path) -> None:
    files = _issue(net, "revoked", tmp_path)
    ca = CAFiles.open(net.network.ca_dir)
    revoke(ca, files.cert_path, "keyCompromise")
    crl = net.network.nodes["DE"].config().tls.crl
    shutil.copy(ca.crl_path, crl.with_name("crl.new"))
    crl.with_name("crl.new").replace(crl)
    with pytest.raises(PeerRejectedError, match="UNAUTHENTICATED") as info:
        _node_info(net, _creds(net, files))
    line = _logged(net, "RevokedError")
    assert line.split(": ", 1)[1] not in str(info.value)  # the detail stays local


def test_unlisted_country_is_refused(net: RelNet, tmp_path: Path) -> None:
    files = _issue(net, "unlisted", tmp_path)
    with pytest.raises(PeerRejectedError, match="PERMISSION_DENIED"):
        _node_info(net, _creds(net, files))
    _logged(net, "UnlistedPeerError")


def test_a_genuine_certificate_not_pinned_in_the_directory_is_refused(
    net: RelNet, tmp_path: Path
) -> None:
    # A second, valid FR certificate from the federation CA: not the key the directory
    # pins for FR (a stolen CA signature is not enough to speak for FR).
    files = _issue(net, "second_fr", tmp_path)
    with pytest.raises(PeerRejectedError, match=r"PERMISSION_DENIED|UNAUTHENTICATED"):
        _node_info(net, _creds(net, files))
    _logged(net, "Error")


def _evaluate_as(net: RelNet, claimed: str, signer: str) -> Callable[[], object]:
    key = load_private_key(net.network.nodes[signer].config().audit.key)
    st = QueryStatement(
        request_id=QueryStatement.new_request_id(),
        from_country=claimed,
        to_country="DE",
        case_id="C",
        purpose="p",
        legal_basis="l",
        investigator="i",
        item_count=1,
        commitment=bytes(32),
    )
    data = st.canonical()
    query = BlindedQuery.create([b"v1|S|X"])

    def call() -> object:
        with GrpcTransport(
            "DE", net.endpoint("DE"), net.credentials("FR"), server_check=ANY_SERVER
        ) as t:
            return t.evaluate(data, sign(data, key), query.request, timeout=TIMEOUT)

    return call


def test_country_mismatch_is_refused(net: RelNet) -> None:
    call = _evaluate_as(net, "DE", "DE")  # FR's certificate, a statement in DE's name
    with pytest.raises(PeerRejectedError, match="PERMISSION_DENIED"):
        call()
    _logged(net, "CountryMismatchError")


def test_the_asker_refuses_a_node_under_the_wrong_host_name(net: RelNet) -> None:
    config = net.network.nodes["FR"].config()
    directory = load_directory(config.directory.path, config.directory.authority)
    servers = PeerAuthenticator(ReloadingPeerVerifier([config.tls.ca], [config.tls.crl]), directory)
    with (
        GrpcTransport(
            "DE",
            net.endpoint("DE"),
            net.credentials("FR"),
            server_name="de.node.example",
            server_check=servers,
        ) as t,
        pytest.raises(PeerUnavailableError) as info,
    ):
        t.node_info(timeout=TIMEOUT)
    assert "answering node is not DE: wrong host name: de.node.example" in str(info.value)


def test_the_valid_caller_is_still_served(net: RelNet) -> None:
    _node_info(net, net.credentials("FR"))
    assert net.alive("DE")
