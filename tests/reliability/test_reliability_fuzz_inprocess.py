"""In-process fuzzing (no sockets) of everything that parses bytes from a peer.

Hypothesis drives the answering side (the real :class:`~node.serve.service.NodeService`'s
responder: statement, signature, PSI request) and the asking side (a peer's PSI response,
index blob, receipt). Every input must end in a result or a :class:`FedlookupError` that
the node's error catalog maps to a status other than INTERNAL; a failed call leaves the
mirror as it was. ``FEDLOOKUP_FUZZ_EXAMPLES`` scales the run (CI: 150 per target;
``scripts/reliability.py fuzz`` sets it to 100,000).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fuzzcases import CaseFactory, off_curve_point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relnet import load_registry, registry_records

from audit.keys import load_private_key, log_vkey
from audit.receipts import verify_receipt
from audit.statements import QueryStatement
from federation.evaluation import BlindedQuery
from federation.index_mirror import IndexMirror
from federation.psi import new_key, parse_request, server_setup
from fedlookup.errors import FedlookupError, PSIProtocolError
from node.demo.setup import create_network
from node.layout import node_log_origin
from node.ops.operations import index_node
from node.serve.errors import public_error
from node.serve.service import NodeService

EXAMPLES = int(os.environ.get("FEDLOOKUP_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Node:
    service: NodeService
    fr_key: Ed25519PrivateKey
    mirror: IndexMirror
    blob: bytes


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root = tmp_path_factory.mktemp("inproc")
    net = create_network(root, ["DE", "FR"])
    cfg = net.nodes["DE"].config()
    load_registry(cfg, registry_records("DE", 40))
    index_node(cfg, workers=1)
    service = NodeService(cfg)
    try:
        blob = service.responder.sync_index("FR", None, None).blob
        mirror = IndexMirror()
        mirror.apply(blob)
        fr_key = load_private_key(net.nodes["FR"].config().audit.key)
        yield Node(service, fr_key, mirror, blob)
    finally:
        service.close()


def factory(node: Node, seed: int) -> CaseFactory:
    return CaseFactory(
        seed, asker="FR", node="DE", audit_key=node.fr_key, max_message=1 << 20, max_items=1000
    )


def refused_cleanly(exc: FedlookupError) -> None:
    assert public_error(exc).code != grpc.StatusCode.INTERNAL, repr(exc)


@FUZZ
@given(seed=st.integers(0, 2**32), method=st.sampled_from(["Evaluate", "CompatEvaluate"]))
def test_responder_structured_lies(node: Node, seed: int, method: str) -> None:
    from protos.fedlookup.v1 import fedlookup_pb2 as pb

    _kind, data = factory(node, seed).case(method)
    try:
        msg = pb.EvaluateRequest.FromString(data)
    except Exception:
        return
    try:
        node.service.responder.evaluate(
            "FR", msg.statement.statement, msg.statement.signature, msg.request
        )
    except FedlookupError as exc:
        refused_cleanly(exc)


@FUZZ
@given(statement=st.binary(max_size=600), signature=st.binary(max_size=80), request=st.binary())
def test_responder_random_bytes(
    node: Node, statement: bytes, signature: bytes, request: bytes
) -> None:
    with pytest.raises(FedlookupError) as info:
        node.service.responder.evaluate("FR", statement, signature, request)
    refused_cleanly(info.value)


@FUZZ
@given(request=st.binary(max_size=2000))
def test_psi_request_parser(request: bytes) -> None:
    with contextlib.suppress(PSIProtocolError):
        parse_request(request, max_items=1000)


@FUZZ
@given(seed=st.integers(0, 2**32), n=st.integers(1, 6))
def test_off_curve_points_are_refused(node: Node, seed: int, n: int) -> None:
    import random

    f = factory(node, seed)
    points = f.points[:n]
    points[random.Random(seed).randrange(n)] = off_curve_point(random.Random(seed))
    from fuzzcases import _psi_request

    evaluator = node.service.responder._evaluator(node.service.index.epoch_id)
    with pytest.raises(PSIProtocolError):
        evaluator.evaluate(_psi_request(points))


@FUZZ
@given(response=st.binary(max_size=800))
def test_asker_survives_a_hostile_response(node: Node, response: bytes) -> None:
    query = BlindedQuery.create([b"v1|MS|GLOCK|DE000001", b"v1|S|DE000001"])
    with contextlib.suppress(FedlookupError):
        query.finish(response, node.mirror)


@FUZZ
@given(data=st.data())
def test_mirror_refuses_damaged_blobs_and_stays_whole(node: Node, data: st.DataObject) -> None:
    blob = node.blob
    pos = data.draw(st.integers(0, len(blob) - 1))
    how = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    if how == "flip":
        bad = blob[:pos] + bytes([blob[pos] ^ data.draw(st.integers(1, 255))]) + blob[pos + 1 :]
    elif how == "truncate":
        bad = blob[:pos]
    else:
        bad = blob[:pos] + data.draw(st.binary(min_size=1, max_size=16)) + blob[pos:]
    mirror = IndexMirror()
    mirror.apply(blob)
    before = mirror.to_bytes()
    with pytest.raises(FedlookupError):
        mirror.apply(bad)
    assert mirror.to_bytes() == before


@FUZZ
@given(data=st.binary(max_size=600))
def test_statement_parser(data: bytes) -> None:
    with contextlib.suppress(FedlookupError):
        QueryStatement.parse(data)


@FUZZ
@given(receipt=st.binary(max_size=1500))
def test_receipt_verification_refuses_garbage(node: Node, receipt: bytes) -> None:
    key = Ed25519PrivateKey.generate()
    st_ = QueryStatement(
        request_id=QueryStatement.new_request_id(),
        from_country="FR",
        to_country="DE",
        case_id="c",
        purpose="p",
        legal_basis="l",
        investigator="i",
        item_count=1,
        commitment=bytes(32),
    )
    with pytest.raises(FedlookupError):
        verify_receipt(
            receipt, key.public_key(), log_vkey(node_log_origin("DE"), key.public_key()), st_
        )


@pytest.mark.parametrize("fpr", [1e-300, 1e-20])
def test_stock_setup_with_a_tiny_fpr_is_a_protocol_error(fpr: float, tmp_path: Path) -> None:
    # openmined-psi raises ValueError (a C++ std::length_error) when the filter would need
    # more than 64 bits per element; a peer choosing fpr could turn it into INTERNAL.
    with pytest.raises(PSIProtocolError):
        server_setup(new_key(), [b"a", b"b"], fpr=fpr, num_client_inputs=10)
