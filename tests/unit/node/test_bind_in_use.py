"""A second node on a port already taken gets one clear line, not grpc's own text."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fedlookup.errors import ConfigError
from node.demo.setup import create_network
from node.serve.server import bind, build_server


def test_a_port_in_use_names_the_field_and_the_remedy(tmp_path: Path) -> None:
    cfg = create_network(tmp_path / "net", ["DE"]).nodes["DE"].config()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = build_server(cfg.server, [])
        try:
            with pytest.raises(ConfigError) as caught:
                bind(server, f"127.0.0.1:{port}", cfg.tls)
        finally:
            server.stop(None)
    assert caught.value.field == "node.listen"
    assert "another node on this host" in str(caught.value)
    assert "GRPC_VERBOSITY" not in str(caught.value)
