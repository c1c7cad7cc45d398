"""A second desk on the same node: HTTPS with a certificate, and a stateless replica.

The fixture's desk holds the node's desk lock and runs the checks; this one, started on the
same node and database with the node's certificate, serves HTTPS, queues what it is sent,
and answers from the shared database once the first desk's worker has run it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from desk_fixtures import PASSWORD, DeskNetwork

from node.config import NodeConfig
from node.desk.process import DeskProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def replica(desk_network: DeskNetwork) -> Iterator[tuple[DeskProcess, ssl.SSLContext]]:
    tls = NodeConfig.from_toml(desk_network.config, env={}).tls
    env = {
        "FEDLOOKUP_DESK_LISTEN": "127.0.0.1:0",
        "FEDLOOKUP_DESK_TLS_CERT": str(tls.cert),
        "FEDLOOKUP_DESK_TLS_KEY": str(tls.key),
    }
    context = ssl.create_default_context(cafile=str(tls.ca))
    with DeskProcess(desk_network.config, env=env, name="replica", scheme="https") as desk:
        yield desk, context


def test_replica_serves_https_and_does_not_take_the_lock(
    desk_network: DeskNetwork, replica: tuple[DeskProcess, ssl.SSLContext]
) -> None:
    desk, context = replica
    log = desk.log.read_text(encoding="utf-8")
    assert f"desk serving event=serving address=127.0.0.1:{desk.port}" in log
    assert "asks=False" in log
    with httpx.Client(base_url=desk.url, verify=context, timeout=30) as browser:
        page = browser.get("/login")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
        login = browser.post("/login", data={"name": "ida", "password": PASSWORD})
        assert login.status_code == 303
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("__Host-desk=")
        for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
            assert flag.lower() in cookie.lower()


def test_a_check_sent_to_the_replica_runs_at_the_lock_holder(
    desk_network: DeskNetwork, replica: tuple[DeskProcess, ssl.SSLContext]
) -> None:
    desk, context = replica
    _, make, serial, category = desk_network.fr[150]
    headers = {"Authorization": f"Bearer {desk_network.tokens['investigator']}"}
    body = {
        "case": "CASE-REPLICA",
        "purpose": "replica",
        "firearms": [{"make": make, "serial": serial}],
    }
    with httpx.Client(base_url=desk.url, verify=context, headers=headers, timeout=60) as api:
        r = api.post("/api/v1/checks", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["countries"]["FR"]["matches"][0]["category"] == category
    # The same check, read through the first desk: one database behind both.
    check_id = r.headers["location"].rsplit("/", 1)[1]
    with httpx.Client(base_url=desk_network.url, headers=headers, timeout=30) as first:
        assert first.get(f"/api/v1/checks/{check_id}").json()["status"] == "done"
