"""The desk's HTTP API against a real desk process over real nodes: every status code."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from desk_fixtures import PASSWORD, DeskNetwork

from audit.export import export_log
from audit.verify import load_export
from certs import CAFiles
from federation.directory import load_directory, write_directory
from federation.peer_link import RECHECK_S
from node.demo.network import fedlookup_command

pytestmark = pytest.mark.integration


def _api(net: DeskNetwork, role: str | None = "investigator") -> httpx.Client:
    headers = {"Authorization": f"Bearer {net.tokens[role]}"} if role else {}
    return httpx.Client(base_url=net.url, headers=headers, timeout=60)


def _body(firearms: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {"case": "CASE-API", "purpose": "api test", "firearms": firearms, **extra}


def test_single_check_answers_the_check_document_with_the_hit(desk_network: DeskNetwork) -> None:
    _, make, serial, category = desk_network.fr[3]
    with _api(desk_network) as api:
        r = api.post("/api/v1/checks", json=_body([{"make": make, "serial": serial}]))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["schema"] == "fedlookup.check/v1"
    fr = doc["results"][0]["countries"]["FR"]
    assert fr["outcome"] == "hit"
    assert fr["matches"][0]["category"] == category
    assert doc["results"][0]["countries"]["NL"]["outcome"] == "no-hit"
    assert r.headers["location"].startswith("/api/v1/checks/")


def test_the_signed_pseudonym_is_the_account_not_a_field(desk_network: DeskNetwork) -> None:
    _, make, serial, _ = desk_network.fr[4]
    with _api(desk_network) as api:
        forged = api.post(
            "/api/v1/checks",
            json=_body([{"make": make, "serial": serial}], investigator="someone-else"),
        )
        assert forged.status_code == 422
        assert api.post("/api/v1/checks", json=_body([{"make": make, "serial": serial}])).is_success
    out = desk_network.config.parent / "export-pseudonym"
    export_log(desk_network.config.parent / "data" / "audit-outgoing", out)
    sent = [json.loads(line) for line in (out / "entries.jsonl").read_text().splitlines()]
    assert {e["investigator"] for e in sent if e["kind"] == "query_sent"} == {"ida"}


def test_without_or_with_a_wrong_token_is_401(desk_network: DeskNetwork) -> None:
    body = _body([{"make": "Glock", "serial": "ABC123"}])
    with _api(desk_network, None) as api:
        r = api.post("/api/v1/checks", json=body)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        wrong = api.post("/api/v1/checks", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("role", ["auditor", "operator", "liaison"])
def test_roles_that_may_not_check_get_403(desk_network: DeskNetwork, role: str) -> None:
    with _api(desk_network, role) as api:
        r = api.post("/api/v1/checks", json=_body([{"make": "Glock", "serial": "ABC123"}]))
    assert r.status_code == 403
    assert "may not run checks" in r.json()["detail"]


def test_bad_rows_are_422_naming_row_and_field(desk_network: DeskNetwork) -> None:
    firearms = [
        {"make": "Glock", "serial": "ABC123"},
        {"make": "Glock"},
        {"make": "CZ", "serial": "1"},
    ]
    with _api(desk_network) as api:
        missing = api.post("/api/v1/checks", json=_body(firearms))
        assert missing.status_code == 422
        assert [(e["row"], e["field"]) for e in missing.json()["errors"]] == [(2, "serial")]
        firearms[1]["serial"] = "  "
        short = api.post("/api/v1/checks", json=_body(firearms))
    assert short.status_code == 422
    assert [(e["row"], e["field"]) for e in short.json()["errors"]] == [
        (2, "serial"),
        (3, "serial"),
    ]


def test_wait_false_is_202_then_poll_until_done(desk_network: DeskNetwork) -> None:
    firearms = [{"make": m, "serial": s} for _, m, s, _ in desk_network.fr[10:60]]
    with _api(desk_network) as api:
        r = api.post("/api/v1/checks", json=_body(firearms, wait=False))
        assert r.status_code == 202
        check_id = r.json()["id"]
        assert r.json()["status"] in {"queued", "running"}
        deadline = time.monotonic() + 60
        while True:
            got = api.get(f"/api/v1/checks/{check_id}").json()
            if got["status"] == "done" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert got["status"] == "done"
    assert got["result"]["summary"]["hit"] == 50


def test_large_batch_waits_for_a_supervisor(desk_network: DeskNetwork) -> None:
    firearms = [{"make": "Glock", "serial": f"BATCH{i:05d}"} for i in range(1501)]
    with _api(desk_network) as api:
        r = api.post("/api/v1/checks", json=_body(firearms))
        assert r.status_code == 202
        assert r.json()["status"] == "awaiting_approval"
        check_id = r.json()["id"]
        own = api.post(f"/api/v1/checks/{check_id}/approval", json={"approve": True})
        assert own.status_code == 403
    with _api(desk_network, "supervisor") as sup:
        assert any(c["id"] == check_id for c in sup.get("/api/v1/checks").json())
        decided = sup.post(f"/api/v1/checks/{check_id}/approval", json={"approve": False})
        assert decided.json() == {"id": check_id, "status": "rejected"}
        again = sup.post(f"/api/v1/checks/{check_id}/approval", json={"approve": True})
        assert again.status_code == 409


def test_daily_budget_is_429(desk_network: DeskNetwork) -> None:
    firearms = [{"make": "Glock", "serial": f"BUDGET{i:05d}"} for i in range(3001)]
    with _api(desk_network) as api:
        r = api.post("/api/v1/checks", json=_body(firearms))
    assert r.status_code == 429
    assert "daily budget" in r.json()["detail"]


def test_others_cannot_see_a_check_404(desk_network: DeskNetwork) -> None:
    with _api(desk_network) as api:
        r = api.post("/api/v1/checks", json=_body([{"make": "CZ", "serial": "XYZ987"}]))
        check_id = r.headers["location"].rsplit("/", 1)[1]
    with _api(desk_network, "auditor") as other:
        assert other.get(f"/api/v1/checks/{check_id}").status_code == 404
    with _api(desk_network, "supervisor") as team:  # same team: may see it
        assert team.get(f"/api/v1/checks/{check_id}").json()["investigator"] == "ida"


def test_openapi_document(desk_network: DeskNetwork) -> None:
    r = httpx.get(desk_network.url + "/api/openapi.json", timeout=10)
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/api/v1/checks", "/api/v1/checks/{check_id}"} <= set(paths)
    assert {"200", "202", "401", "403", "422"} <= set(paths["/api/v1/checks"]["post"]["responses"])


def test_role_change_by_operator_only_and_audited(desk_network: DeskNetwork) -> None:
    with _api(desk_network) as api:
        assert api.put("/api/v1/accounts/lia/role", json={"role": "operator"}).status_code == 403
    with _api(desk_network, "operator") as op:
        assert op.put("/api/v1/accounts/lia/role", json={"role": "wizard"}).status_code == 422
        assert (
            op.put("/api/v1/accounts/lia/role", json={"role": "liaison"}).json()["role"]
            == "liaison"
        )
    with _api(desk_network, "auditor") as aud:
        events = aud.get("/api/v1/audit/events").json()
    assert any(e["kind"] == "role_changed" and e["actor"] == "otto" for e in events)


def test_cookie_session_needs_csrf_for_changes(desk_network: DeskNetwork) -> None:
    with httpx.Client(base_url=desk_network.url, timeout=30) as browser:
        login = browser.post("/login", data={"name": "ida", "password": PASSWORD})
        assert login.status_code == 303
        assert browser.get("/api/v1/me").json()["name"] == "ida"
        r = browser.post("/api/v1/checks", json=_body([{"make": "CZ", "serial": "XYZ987"}]))
        assert r.status_code == 403
        assert "CSRF" in r.json()["detail"]


def test_lockout_after_failures_and_events(desk_network: DeskNetwork) -> None:
    with httpx.Client(base_url=desk_network.url, timeout=30) as browser:
        for _ in range(3):
            assert (
                browser.post("/login", data={"name": "lia", "password": "wrong"}).status_code == 401
            )
        locked = browser.post("/login", data={"name": "lia", "password": PASSWORD})
        assert locked.status_code == 401
        assert "locked" in locked.text
    with _api(desk_network, "auditor") as aud:
        kinds = [e["kind"] for e in aud.get("/api/v1/audit/events").json() if e["account"] == "lia"]
    assert kinds.count("login_failed") == 3
    assert "account_locked" in kinds
    assert "login_locked" in kinds


def test_cli_check_refuses_while_the_desk_runs(desk_network: DeskNetwork) -> None:
    done = subprocess.run(
        [*fedlookup_command(), "check", "--config", str(desk_network.config), "--make", "CZ",
         "--serial", "XYZ987", "--case", "C", "--purpose", "p"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"a desk serves this node at {desk_network.url}" in done.stderr


def test_console_forms_need_the_csrf_token_and_pages_carry_the_csp(
    desk_network: DeskNetwork,
) -> None:
    from node.desk.app import CSP

    with httpx.Client(base_url=desk_network.url, timeout=30) as browser:
        login = browser.post("/login", data={"name": "sam", "password": PASSWORD})
        assert login.status_code == 303
        home = browser.get("/")
        assert home.headers["content-security-policy"] == CSP
        assert home.headers["x-frame-options"] == "DENY"
        forged = browser.post("/logout", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert browser.get("/api/v1/me").status_code == 200  # still logged in


def test_the_desk_has_the_outgoing_log_it_holds_cosigned(
    desk_network: DeskNetwork, tmp_path: Path
) -> None:
    """The serving node cannot open DE's outgoing log while the desk holds it: the desk asks
    FR and NL to cosign it, so a check's checkpoint meets the directory's quorum (both)."""
    _, make, serial, _ = desk_network.fr[5]
    with _api(desk_network) as api:
        r = api.post("/api/v1/checks", json=_body([{"make": make, "serial": serial}]))
    assert r.status_code == 200, r.text
    cfg = desk_network.network.nodes["DE"].config()
    trusted = tmp_path / "trusted-de-outgoing.json"
    made = subprocess.run(
        [*fedlookup_command(), "audit", "policy", "--directory", str(cfg.directory.path),
         "--authority", str(cfg.directory.authority), "--country", "DE", "--outgoing",
         "--out", str(trusted)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(trusted.read_text())["quorum"] == 2
    deadline = time.monotonic() + 60
    for attempt in range(600):
        out = tmp_path / f"outgoing-{attempt}"
        export_log(cfg.layout.audit_outgoing, out)
        view, _ = load_export(out)
        queried = any(e is not None and e.kind == "query_sent" for e in view.entries)
        verify = subprocess.run(
            [*fedlookup_command(), "audit", "verify", "--policy", str(trusted), str(out)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if queried and verify.returncode == 0:
            break
        assert time.monotonic() < deadline, verify.stdout[-2000:]
        time.sleep(0.5)
    assert verify.returncode == 0, verify.stdout[-2000:]


def test_a_member_removed_from_the_directory_is_refused_without_a_desk_restart(
    desk_network: DeskNetwork,
) -> None:
    """The desk's hit check stays open for its lifetime; a newer signed directory without FR
    must still stop it trusting FR at once (FR unavailable, nothing sent), and FR is
    answered again once a later directory lists it again."""
    cfg = desk_network.network.nodes["DE"].config()
    held = load_directory(cfg.directory.path, cfg.directory.authority)
    ca = CAFiles.open(desk_network.network.ca_dir)
    _, make, serial, _ = desk_network.fr[7]
    body = _body([{"make": make, "serial": serial}])
    without_fr = replace(
        held,
        version=held.version + 1,
        issued_at=datetime.now(UTC),
        members=tuple(m for m in held.members if m.country != "FR"),
    )
    try:
        write_directory(without_fr, ca, cfg.directory.path)
        time.sleep(RECHECK_S)  # open connections are re-checked at most this often
        with _api(desk_network) as api:
            r = api.post("/api/v1/checks", json=body)
        assert r.status_code == 200, r.text
        fr = r.json()["results"][0]["countries"]["FR"]
        assert fr["outcome"] == "unavailable", fr
        assert "FR is not a member" in fr["reason"], fr
    finally:
        back = replace(held, version=held.version + 2, issued_at=datetime.now(UTC))
        write_directory(back, ca, cfg.directory.path)
    # FR again, once grpc's reconnect backoff (about a second) lets the channel dial anew.
    deadline = time.monotonic() + 20
    with _api(desk_network) as api:
        while True:
            r = api.post("/api/v1/checks", json=body)
            outcome = r.json()["results"][0]["countries"]["FR"]["outcome"]
            if outcome == "hit" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert outcome == "hit", r.text
