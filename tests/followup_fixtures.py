"""Two countries with two desks for follow-up tests: DE asks, FR owns the records.

``follow_up_network`` (module scope) lays out DE, FR and NL with the demo's set-up code,
fills FR's registry with real records (make, model, caliber, serial, category, date) and
indexes it the way ``fedlookup node index`` does, starts the three nodes and the DE and FR
desks as separate processes on 127.0.0.1, and creates the accounts: ``ida``
(investigator, DE) and ``lia`` (liaison, FR), with bearer tokens. FR's follow-up policy
gives DE a short deadline (:data:`DE_DEADLINE_S`) so one request can become overdue in a
test, and releases make and category to NL at once (auto-release).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from desk_fixtures import registry

from node.demo.network import NodeProcesses
from node.demo.setup import Network, create_network, index_records, publish_directory
from node.desk.accounts import add_token, add_user
from node.desk.db import DeskDatabase
from node.desk.process import DeskProcess
from node.desk.settings import DeskSettings
from node.ops.operations import index_node
from registry_adapter.models import Category, Record
from registry_adapter.store import RegistryStore

PASSWORD = "correct horse battery staple"
#: FR decides DE's follow-ups within this many seconds (short, so one becomes overdue).
DE_DEADLINE_S = 12.0
DESK = """
[desk]
listen = "127.0.0.1:0"
sync_wait_s = 20
"""
FR_FOLLOWUP = f"""
[followup]
deadline_hours = 48
contact = "SIRENE FR liaison desk, +33 1 00 00 00 00"
retention_days = 30

[followup.peers.DE]
deadline_hours = {DE_DEADLINE_S / 3600}

[followup.peers.NL]
auto_release = ["make", "category"]
"""

#: FR's records: (record id, make, model, caliber, serial, category).
FR_RECORDS = [
    ("FR-2026-000417", "Smith & Wesson", "M&P9", "9mm", "AB12345", "stolen"),
    ("FR-2026-000418", "Glock", "17", "9mm", "GX77001", "lost"),
    ("FR-2026-000419", "Beretta", "92FS", "9mm", "BR55102", "seized"),
    ("FR-2026-000420", "Walther", "P99", "9mm", "WA33011", "stolen"),
    ("FR-2026-000421", "CZ", "75", "9mm", "CZ90210", "stolen"),
]


@dataclass
class FollowUpNetwork:
    """DE's and FR's desks over a running DE/FR/NL network."""

    network: Network
    de: DeskProcess
    fr: DeskProcess
    tokens: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)

    def api(self, country: str, role: str) -> httpx.Client:
        """An API client of ``country``'s desk with the token of ``role``."""
        desk = self.de if country == "DE" else self.fr
        headers = {"Authorization": f"Bearer {self.tokens[f'{country}:{role}']}"}
        return httpx.Client(base_url=desk.url, headers=headers, timeout=60)

    def config(self, country: str) -> Path:
        """``country``'s ``node.toml``."""
        return self.network.nodes[country].config_path

    def hit_reference(self, record: int) -> str:
        """Check FR's record ``record`` through DE's desk and return FR's reference."""
        _, make, _, _, serial, _ = FR_RECORDS[record]
        body = {"case": "CASE-FU", "purpose": "seized firearm",
                "firearms": [{"make": make, "serial": serial}]}  # fmt: skip
        with self.api("DE", "investigator") as api:
            r = api.post("/api/v1/checks", json=body)
        assert r.status_code == 200, r.text
        fr = r.json()["results"][0]["countries"]["FR"]
        assert fr["outcome"] == "hit", fr
        return str(fr["matches"][0]["reference"])


def _accounts(config: Path, data_dir: Path, users: list[tuple[str, str]]) -> dict[str, str]:
    settings = DeskSettings.from_toml(config, data_dir, env={})
    db = DeskDatabase(settings.database)
    tokens: dict[str, str] = {}
    with db.session() as s:
        for name, role in users:
            add_user(s, name, role, password=PASSWORD)
            tokens[role] = add_token(s, name, role)
    db.close()
    return tokens


@pytest.fixture(scope="module")
def follow_up_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FollowUpNetwork]:
    """See the module docstring."""
    root = tmp_path_factory.mktemp("followup")
    net = create_network(root, ["DE", "FR", "NL"])
    fr = net.nodes["FR"]
    with fr.config_path.open("a", encoding="utf-8") as f:
        f.write(FR_FOLLOWUP + DESK)
    with net.nodes["DE"].config_path.open("a", encoding="utf-8") as f:
        f.write(DESK)
    store = RegistryStore(fr.config().registry.url)
    when = datetime(2026, 3, 14, tzinfo=UTC)
    try:
        store.upsert(
            Record(rid, make, model, caliber, serial, Category(cat), when)
            for rid, make, model, caliber, serial, cat in FR_RECORDS
        )
    finally:
        store.close()
    index_node(fr.config(), workers=1)
    for seed, country in enumerate(("DE", "NL")):
        index_records(net.nodes[country], registry(country, 20, seed), workers=1)
    tokens: dict[str, str] = {}
    for country, users in (("DE", [("ida", "investigator")]), ("FR", [("lia", "liaison")])):
        node = net.nodes[country]
        made = _accounts(node.config_path, node.config().node.data_dir, users)
        tokens.update({f"{country}:{role}": t for role, t in made.items()})
    with NodeProcesses() as nodes:
        nodes.start_all({c: n.config_path for c, n in net.nodes.items()})
        publish_directory(net, {c: p.endpoint for c, p in nodes.nodes.items()}, version=2)
        time.sleep(1.5)  # the nodes take up the new directory within a second
        with DeskProcess(net.nodes["DE"].config_path) as de, DeskProcess(fr.config_path) as frd:
            endpoints = {c: p.endpoint for c, p in nodes.nodes.items()}
            yield FollowUpNetwork(net, de, frd, tokens, endpoints)
            for desk in (de, frd):
                assert desk.stop() == 0, desk.log.read_text(encoding="utf-8")[-3000:]
