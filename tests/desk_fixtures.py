"""A running desk for tests: DE's desk over three real nodes (DE asks FR and NL) on loopback.

``desk_network`` (module scope) lays out the network with the demo's set-up code, starts
the three nodes and DE's desk as separate processes, and creates the accounts the tests
log in with. FR holds some of the firearms the tests ask about (hits).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from node.demo.network import NodeProcesses
from node.demo.setup import Network, create_network, index_records, publish_directory
from node.desk.accounts import add_token, add_user
from node.desk.db import DeskDatabase
from node.desk.process import DeskProcess
from node.desk.settings import DeskSettings

ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
MAKES = ("Glock", "Beretta", "Walther", "Sig Sauer", "CZ")
PASSWORD = "correct horse battery staple"
DESK_SETTINGS = """
[desk]
listen = "127.0.0.1:0"
items_per_day = 3000
approval_above = 1500
sync_wait_s = 20
max_failures = 3
lockout_minutes = 1
login_per_minute = 50
"""


def registry(code: str, n: int, seed: int) -> list[tuple[str, str, str, str]]:
    """``n`` records ``(id, make, serial, category)`` with serials unique to ``code``."""
    rng = random.Random(seed)
    return [
        (f"{code}-{i}", rng.choice(MAKES), code + "".join(rng.choices(ALPHABET, k=7)),
         rng.choice(("stolen", "lost", "registered")))
        for i in range(n)
    ]  # fmt: skip


@dataclass
class DeskNetwork:
    """DE's desk over a running three-country network."""

    network: Network
    desk: DeskProcess
    fr: list[tuple[str, str, str, str]]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The desk's base URL."""
        return self.desk.url

    @property
    def config(self) -> Path:
        """DE's ``node.toml``."""
        return self.network.nodes["DE"].config_path


@pytest.fixture(scope="module")
def desk_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskNetwork]:
    """DE's desk, FR and NL nodes, accounts ``ida`` (investigator, team A), ``sam``
    (supervisor, team A), ``otto`` (operator), ``aude`` (auditor), ``lia`` (liaison), all
    with :data:`PASSWORD`; and a bearer token per role."""
    root = tmp_path_factory.mktemp("desk")
    net = create_network(root, ["DE", "FR", "NL"])
    regs = {c: registry(c, 200, seed) for seed, c in enumerate(("DE", "FR", "NL"))}
    for country, records in regs.items():
        index_records(net.nodes[country], records, workers=1)
    de = net.nodes["DE"]
    with de.config_path.open("a", encoding="utf-8") as f:
        f.write(DESK_SETTINGS)
    settings = DeskSettings.from_toml(de.config_path, de.config().node.data_dir, env={})
    db = DeskDatabase(settings.database)
    tokens: dict[str, str] = {}
    with db.session() as s:
        for name, role, team in (("ida", "investigator", "A"), ("sam", "supervisor", "A"),
                                 ("otto", "operator", ""), ("aude", "auditor", ""),
                                 ("lia", "liaison", "")):  # fmt: skip
            add_user(s, name, role, password=PASSWORD, team=team)
            tokens[role] = add_token(s, name, role)
    db.close()
    with NodeProcesses() as nodes:
        nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
        publish_directory(net, {c: p.endpoint for c, p in nodes.nodes.items()}, version=2)
        # The desk holds DE's outgoing log, so it has that log cosigned itself: often here,
        # so a test sees a check's checkpoint cosigned within seconds.
        with DeskProcess(de.config_path, env={"FEDLOOKUP_AUDIT_COSIGN_INTERVAL_S": "1"}) as desk:
            yield DeskNetwork(net, desk, regs["FR"], tokens)
            # SIGTERM: the desk finishes, closes the outgoing log and exits 0.
            code = desk.stop()
            assert code == 0, desk.log.read_text(encoding="utf-8")[-3000:]
            assert "desk stopped" in desk.log.read_text(encoding="utf-8")
