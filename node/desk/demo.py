"""The demo's desk step: the asking country's desk, a demo login, one check through its API.

:func:`show_desk` gives the asking node a ``[desk]`` section (loopback, a free port that is
then pinned, so a kept network's desk comes back at the same address), creates the demo
investigator with a fresh password and a token, starts ``fedlookup desk serve`` as its own
process, checks one planted firearm through ``POST /api/v1/checks``, prints the address and
the login, asks the hit's owner for a follow-up, has the owner's liaison officer release
make, model and category (through the owner's follow-up queue, as its desk would), shows
the released fields, and stops the desk (it owns the outgoing log, which the demo's audit
step reads).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from node.desk.accounts import add_token, add_user
from node.desk.asking import FollowUpStore, load_node_config
from node.desk.db import DeskDatabase
from node.desk.follow_ups import decide
from node.desk.models import Account
from node.desk.process import DeskProcess
from node.desk.settings import DeskSettings

__all__ = ["DEMO_USER", "DeskDemo", "show_desk"]

#: The demo investigator's account name.
DEMO_USER = "demo"


@dataclass(frozen=True)
class DeskDemo:
    """What the desk step did."""

    url: str
    password: str
    outcome: str
    elapsed_ms: float
    follow_up: dict[str, str] | None = None


def _pin(config: Path, port: int) -> None:
    text = config.read_text(encoding="utf-8")
    if "[desk]" not in text:
        text += f'\n[desk]\nlisten = "127.0.0.1:{port}"\n'
    else:
        text = re.sub(r'(\[desk\]\nlisten = )"[^"]*"', rf'\1"127.0.0.1:{port}"', text, count=1)
    config.write_text(text, encoding="utf-8")


def show_desk(
    config: Path,
    example: tuple[str, str],
    case: str,
    purpose: str,
    console: Console,
    owners: dict[str, Path] | None = None,
) -> DeskDemo:
    """Start the desk beside ``config``'s node, check ``example`` through it, ask the hit's
    owner (its ``node.toml`` in ``owners``) for a follow-up and release it, stop the desk.

    Raises:
        FedlookupError: the desk did not start.
        httpx.HTTPError: the check through the API failed.
    """
    _pin(config, 0)
    node = load_node_config(config)
    settings = DeskSettings.from_toml(config, node.node.data_dir, env={})
    db = DeskDatabase(settings.database)
    try:
        with db.session() as s:
            _, password, _ = add_user(s, DEMO_USER, "investigator", team="demo", actor="demo")
            token = add_token(s, DEMO_USER, "investigator", actor="demo")
    finally:
        db.close()
    env = {"FEDLOOKUP_DESK_LISTEN": "127.0.0.1:0"}
    with DeskProcess(config, env=env) as desk:
        _pin(config, desk.port)
        body = {"case": case, "purpose": purpose,
                "firearms": [{"make": example[0], "serial": example[1]}]}  # fmt: skip
        started = time.perf_counter()
        with httpx.Client(base_url=desk.url, timeout=60) as client:
            r = client.post("/api/v1/checks", json=body,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            r.raise_for_status()
        elapsed = (time.perf_counter() - started) * 1000
        answers = r.json()["results"][0]["countries"]
        outcome = ", ".join(f"{c}: {a['outcome']}" for c, a in sorted(answers.items()))
        console.print(
            f"Desk serving at [bold]{desk.url}[/] (web console and HTTP API, "
            f"OpenAPI at {desk.url}/api/openapi.json)\n"
            f"Demo login: [bold]{DEMO_USER}[/] / [bold]{password}[/] (investigator)\n"
            f"POST /api/v1/checks {example[0]} {example[1]} -> {outcome} in {elapsed:.0f} ms, "
            f"signed as {DEMO_USER!r} (the account, not a form field). The desk stops with "
            "the demo: with --keep DIR, `fedlookup desk serve` brings it back at this address.",
            highlight=False,
            soft_wrap=True,
        )
        released = None
        hit = next(((c, a) for c, a in sorted(answers.items()) if a["outcome"] == "hit"), None)
        if hit is not None and owners and hit[0] in owners:
            released = _follow_up(desk.url, token, hit[1]["matches"][0]["reference"],
                                  owners[hit[0]], case, purpose, console)  # fmt: skip
    return DeskDemo(desk.url, password, outcome, elapsed, released)


def _follow_up(
    url: str, token: str, reference: str, owner: Path, case: str, purpose: str, console: Console
) -> dict[str, str]:
    """Ask for ``reference``, release three fields at the owner, read them back."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60, headers=auth) as client:
        r = client.post("/api/v1/follow-ups", json={"reference": reference, "case": case,
                                                    "purpose": purpose[:256]})  # fmt: skip
        r.raise_for_status()
        request_id = r.json()["id"]
        config = load_node_config(owner)
        liaison = Account(name="demo-liaison", role="liaison")
        store = FollowUpStore(config.layout.followups)
        try:
            decide(store, config, request_id, liaison, release=True,
                   fields=["make", "model", "category"])  # fmt: skip
        finally:
            store.close()
        view = client.get(f"/api/v1/follow-ups/{request_id}").json()
    console.print(
        f"POST /api/v1/follow-ups {reference} -> {config.node.country}'s liaison officer "
        f"released {view['released']} ({view['status']}); both logs record it as followup_*.",
        highlight=False,
        soft_wrap=True,
    )
    released: dict[str, str] = view["released"]
    return released
