"""A stock OpenMined client runs plain PSI against a node's setup and evaluator."""

from __future__ import annotations

from pathlib import Path

import pytest
from private_set_intersection.python import client

from federation.compat import SetupCache, build_server_setup
from federation.evaluation import Evaluator
from federation.keys import EpochKeyStore
from fedlookup.errors import ConfigError

NODE = [b"v1|S|111", b"v1|S|222", b"v1|MS|GLOCK|111", b"v1|S|111"]
ASKED = [b"v1|S|999", b"v1|S|111", b"v1|MS|GLOCK|111", b"v1|S|333"]


def test_stock_client_gets_the_intersection(tmp_path: Path) -> None:
    key = EpochKeyStore(tmp_path).current()
    setup = build_server_setup(key, NODE, fpr=1e-9, num_client_inputs=len(ASKED))
    stock = client.CreateWithNewKey(True)
    request = stock.CreateRequest(ASKED)
    response = Evaluator(key).evaluate(request.SerializeToString())
    from private_set_intersection.python import Response, ServerSetup

    setup_msg, response_msg = ServerSetup(), Response()
    setup_msg.ParseFromString(setup)
    response_msg.ParseFromString(response)
    assert sorted(stock.GetIntersection(setup_msg, response_msg)) == [1, 2]


def test_setup_cache_builds_once_per_version(tmp_path: Path) -> None:
    key = EpochKeyStore(tmp_path / "keys").current()
    cache = SetupCache(tmp_path / "cache")
    calls: list[int] = []

    def ids() -> list[bytes]:
        calls.append(1)
        return NODE

    first = cache.get(key, 1, ids, fpr=1e-6, num_client_inputs=10)
    assert cache.get(key, 1, ids, fpr=1e-6, num_client_inputs=10) == first
    cache.get(key, 2, ids, fpr=1e-6, num_client_inputs=10)
    assert len(calls) == 2
    assert len(list((tmp_path / "cache").glob("setup-*.bin"))) == 1
    with pytest.raises(ConfigError, match="fpr"):
        cache.get(key, 3, ids, fpr=1.5, num_client_inputs=10)
