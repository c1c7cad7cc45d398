"""A check that would ask nobody is an error (exit 2), never a clean-looking no-hit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from node.demo.setup import create_network

FEDLOOKUP = Path(sys.executable).with_name("fedlookup")


def _check(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["--make", "Glock", "--serial", "AB12345", "--case", "C-1", "--purpose", "test"]
    return subprocess.run(
        [str(FEDLOOKUP), "check", "--config", str(config), *args, *extra, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_directory_with_no_other_member_is_exit_2(tmp_path: Path) -> None:
    net = create_network(tmp_path / "net", ["DE"])
    done = _check(net.nodes["DE"].config_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nobody to ask" in done.stderr
    assert "no member other than DE" in done.stderr
    assert '"complete"' not in done.stdout


@pytest.mark.parametrize("peer", ["DE", "de"])
def test_peer_naming_the_node_itself_is_exit_2(tmp_path: Path, peer: str) -> None:
    net = create_network(tmp_path / "net", ["DE", "FR"])
    done = _check(net.nodes["DE"].config_path, "--peer", peer)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--peer: DE is this node's own country" in done.stderr
    assert done.stdout == ""
