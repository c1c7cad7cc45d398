"""The console in a real browser (Debian's chromium through selenium), as an investigator uses it.

Skips with a reason when no chromium/chromedriver is installed, except in CI (``CI=true``),
where ``.ci/run`` installs them and a missing browser fails. A failing step leaves a
screenshot (path in the failure message). With ``FEDLOOKUP_TEST_SCREENSHOTS=DIR`` the main
pages are saved there (that is how ``docs/img/desk-*.png`` are made).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import headless_chromium
from desk_fixtures import PASSWORD, DeskNetwork

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = headless_chromium(downloads)
    driver.downloads = downloads  # type: ignore[attr-defined]
    yield driver
    failed = getattr(request.node, "failed_call", False)
    if failed:
        shot = tmp_path / "failure.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot of the failing page: {shot}")
    driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        item.failed_call = True  # type: ignore[attr-defined]


def _shot(driver: object, name: str) -> None:
    folder = os.environ.get("FEDLOOKUP_TEST_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / f"desk-{name}.png"))  # type: ignore[attr-defined]


def _wait_for(driver: object, css: str, timeout: float = 60) -> object:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(  # type: ignore[arg-type]
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _wait_text(driver: object, css: str, text: str, timeout: float = 60) -> None:
    """Wait until the element shows ``text`` (a click that loads a page leaves the old one
    in place for a moment: reading it at once would read the old page)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(  # type: ignore[arg-type]
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )


def _send_list(driver: object, path: Path, case: str) -> str:
    from selenium.webdriver.common.by import By

    d = driver
    d.get(d.current_url.split("/", 3)[0] + "//" + d.current_url.split("/", 3)[2] + "/")  # type: ignore[attr-defined]
    d.find_element(By.ID, "file").send_keys(str(path))  # type: ignore[attr-defined]
    d.find_element(By.ID, "upload").click()  # type: ignore[attr-defined]
    summary = _wait_for(d, "#summary").text  # type: ignore[attr-defined]
    _shot(d, f"preview-{path.suffix[1:]}")
    d.find_element(By.ID, "case").send_keys(case)  # type: ignore[attr-defined]
    d.find_element(By.ID, "purpose").send_keys("seizure list")  # type: ignore[attr-defined]
    d.find_element(By.ID, "send").click()  # type: ignore[attr-defined]
    _wait_for(d, "#results")
    return str(summary)


def test_investigator_uploads_lists_sees_hits_exports_and_logs_out(
    desk_network: DeskNetwork, browser: object, tmp_path: Path
) -> None:
    from openpyxl import Workbook
    from selenium.webdriver.common.by import By

    d = browser
    fr = desk_network.fr
    # A seizure list as Excel writes it in France: ';'-separated, Windows-1252 (Latin-1).
    rows = [(m, s) for _, m, s, _ in fr[100:105]] + [("Hérstal Arms", "ZZQ9911")]
    csv_path = tmp_path / "saisie.csv"
    lines = ["Marque;Numéro de série"] + [f"{m};{s}" for m, s in rows]
    csv_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    xlsx_path = tmp_path / "seizure.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["Serial number", "Make", "Notes"])
    for _, m, s, _ in fr[110:113]:
        sheet.append([s, m, "found in a car"])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx_path.write_bytes(buffer.getvalue())

    # Log in.
    d.get(desk_network.url + "/")  # type: ignore[attr-defined]
    assert "/login" in d.current_url  # type: ignore[attr-defined]
    _shot(d, "login")
    d.find_element(By.ID, "name").send_keys("ida")  # type: ignore[attr-defined]
    d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()  # type: ignore[attr-defined]
    _wait_for(d, "#upload")
    _shot(d, "home")

    # One firearm typed into the form: a hit in FR.
    _, make, serial, category = fr[99]
    for field, value in (("case", "CASE-BROWSER"), ("purpose", "roadside check"),
                         ("make", make), ("serial", serial)):  # fmt: skip
        d.find_element(By.ID, field).send_keys(value)  # type: ignore[attr-defined]
    d.find_element(By.ID, "check-one").click()  # type: ignore[attr-defined]
    _wait_for(d, "#results")
    assert "hit 1," in d.find_element(By.ID, "counts").text  # type: ignore[attr-defined]
    assert category in d.find_element(By.ID, "results").text  # type: ignore[attr-defined]

    # The ';' Latin-1 CSV: what was detected is shown, then five hits in FR.
    summary = _send_list(d, csv_path, "CASE-BROWSER")
    assert "6 firearms" in summary
    assert "windows-1252" in summary
    assert "(;)" in summary
    counts = d.find_element(By.ID, "counts").text  # type: ignore[attr-defined]
    assert "hit 5," in counts
    assert d.find_element(By.CSS_SELECTOR, "#results").text.count("hit") >= 5  # type: ignore[attr-defined]
    _shot(d, "results")

    # Export.
    d.find_element(By.ID, "export-csv").click()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 20
    while not list(d.downloads.glob("*.csv")) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.2)
    exported = next(d.downloads.glob("*.csv")).read_text(encoding="utf-8-sig")  # type: ignore[attr-defined]
    assert exported.splitlines()[0].startswith("make,serial,country,outcome")
    assert sum(1 for line in exported.splitlines() if ",FR,hit," in line) == 5

    # The XLSX list (columns in another order, found by their names): three hits.
    summary = _send_list(d, xlsx_path, "CASE-BROWSER")
    assert "3 firearms" in summary
    assert "XLSX" in summary
    assert "hit 3," in d.find_element(By.ID, "counts").text  # type: ignore[attr-defined]

    # The case page lists the three checks.
    d.get(desk_network.url + "/cases/CASE-BROWSER")  # type: ignore[attr-defined]
    assert len(d.find_elements(By.CSS_SELECTOR, "#case-checks tbody tr")) == 3  # type: ignore[attr-defined]
    _shot(d, "case")

    # Log out: back at the login page, and the console is closed again.
    d.find_element(By.ID, "logout").click()  # type: ignore[attr-defined]
    _wait_for(d, "#password")
    d.get(desk_network.url + "/")  # type: ignore[attr-defined]
    assert "/login" in d.current_url  # type: ignore[attr-defined]


def _login(d: object, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    d.get(url + "/login")  # type: ignore[attr-defined]
    d.find_element(By.ID, "name").send_keys(name)  # type: ignore[attr-defined]
    d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()  # type: ignore[attr-defined]
    _wait_for(d, "#logout")


def test_supervisor_approves_a_large_batch_in_french(
    desk_network: DeskNetwork, browser: object
) -> None:
    import httpx
    from selenium.webdriver.common.by import By

    d = browser
    firearms = [{"make": m, "serial": s} for _, m, s, _ in desk_network.fr[:150]]
    firearms += [{"make": "Glock", "serial": f"NOPE{i:05d}"} for i in range(1351)]
    headers = {"Authorization": f"Bearer {desk_network.tokens['investigator']}"}
    body = {"case": "CASE-BIG", "purpose": "warehouse seizure", "firearms": firearms}
    r = httpx.post(desk_network.url + "/api/v1/checks", json=body, headers=headers, timeout=60)
    assert r.json()["status"] == "awaiting_approval"
    check_id = r.json()["id"]

    _login(d, desk_network.url, "sam")
    d.find_element(By.ID, "lang-fr").click()  # type: ignore[attr-defined]
    _wait_text(d, "h1", "Nouvelle vérification")
    d.get(desk_network.url + "/approvals")  # type: ignore[attr-defined]
    assert "CASE-BIG" in d.find_element(By.TAG_NAME, "table").text  # type: ignore[attr-defined]
    _shot(d, "approvals-fr")
    d.find_element(By.CSS_SELECTOR, "button[value=approve]").click()  # type: ignore[attr-defined]
    _wait_text(d, "main", "Rien n'attend votre validation.")

    # The approved batch runs; its page follows the progress, then shows the answers.
    d.get(f"{desk_network.url}/checks/{check_id}")  # type: ignore[attr-defined]
    _wait_for(d, "#results", timeout=120)
    assert "concordance 150," in d.find_element(By.ID, "counts").text  # type: ignore[attr-defined]
    d.find_element(By.ID, "lang-en").click()  # type: ignore[attr-defined]
    _wait_text(d, "#logout", "Log out")
    d.find_element(By.ID, "logout").click()  # type: ignore[attr-defined]
    _wait_for(d, "#password")


def test_auditor_sees_verified_logs_and_desk_events(
    desk_network: DeskNetwork, browser: object
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    _login(d, desk_network.url, "aude")
    assert d.current_url.endswith("/audit")  # type: ignore[attr-defined]
    main = d.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    assert "fedlookup/DE/outgoing" in main
    assert "FINDINGS" not in main
    states = [
        e.get_attribute("class") for e in d.find_elements(By.CSS_SELECTOR, "dd[class^=state-]")
    ]  # type: ignore[attr-defined]
    # The outgoing log holds this desk's checks, signed and verified; the node's own log
    # (nobody asked DE) may still wait for its first checkpoint.
    assert states[-1] == "state-verified"
    assert set(states) <= {"state-verified", "state-pending"}
    sizes = [int(e.text) for e in d.find_elements(By.CSS_SELECTOR, "dd.size")]  # type: ignore[attr-defined]
    assert sizes[-1] > 0
    assert "login" in d.find_element(By.ID, "events").text  # type: ignore[attr-defined]
    _shot(d, "audit")
    # An auditor cannot reach the check form.
    d.get(desk_network.url + "/")  # type: ignore[attr-defined]
    assert d.current_url.endswith("/audit")  # type: ignore[attr-defined]
    d.find_element(By.ID, "logout").click()  # type: ignore[attr-defined]
    _wait_for(d, "#password")


def test_operator_changes_a_role_and_the_auditor_sees_it(
    desk_network: DeskNetwork, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    d = browser
    _login(d, desk_network.url, "otto")
    assert d.current_url.endswith("/accounts")  # type: ignore[attr-defined]
    _shot(d, "accounts")
    Select(d.find_element(By.ID, "role-lia")).select_by_value("investigator")  # type: ignore[attr-defined]
    save = d.find_element(By.ID, "save-lia")  # type: ignore[attr-defined]
    save.click()
    # The old page stays for a moment after the click: wait until it is gone, then read.
    WebDriverWait(d, 60).until(expected_conditions.staleness_of(save))  # type: ignore[arg-type]
    _wait_for(d, "#accounts")
    chosen = Select(d.find_element(By.ID, "role-lia")).first_selected_option.text  # type: ignore[attr-defined]
    assert chosen == "investigator"
    d.find_element(By.ID, "logout").click()  # type: ignore[attr-defined]
    _wait_for(d, "#password")
    _login(d, desk_network.url, "aude")
    _wait_text(d, "#events", "role_changed")
    assert "liaison -> investigator" in d.find_element(By.ID, "events").text  # type: ignore[attr-defined]
