"""The console in a real browser (Debian's chromium through selenium), as an investigator uses it.

Skips with a reason when no chromium/chromedriver is installed, except in CI (``CI=true``),
where ``.ci/run`` installs them and a missing browser fails. A failing step leaves a
screenshot (path in the failure message). With ``FEDLOOKUP_TEST_SCREENSHOTS=DIR`` the main
pages are saved there (that is how ``docs/img/desk-*.png`` are made).
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_fixtures import PASSWORD, DeskNetwork

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        reason = "no chromium/chromedriver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI promises a browser: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--lang=en-GB"):  # fmt: skip
        options.add_argument(arg)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
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

    # The ';' Latin-1 CSV: what was detected is shown, then five hits in FR.
    summary = _send_list(d, csv_path, "CASE-BROWSER")
    assert "6 firearms" in summary
    assert "windows-1252" in summary
    assert "(;)" in summary
    counts = d.find_element(By.ID, "counts").text  # type: ignore[attr-defined]
    assert "5 hits" in counts
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
    assert "3 hits" in d.find_element(By.ID, "counts").text  # type: ignore[attr-defined]

    # The case page lists both checks.
    d.get(desk_network.url + "/cases/CASE-BROWSER")  # type: ignore[attr-defined]
    assert len(d.find_elements(By.CSS_SELECTOR, "#case-checks tbody tr")) == 2  # type: ignore[attr-defined]
    _shot(d, "case")

    # Log out: back at the login page, and the console is closed again.
    d.find_element(By.ID, "logout").click()  # type: ignore[attr-defined]
    _wait_for(d, "#password")
    d.get(desk_network.url + "/")  # type: ignore[attr-defined]
    assert "/login" in d.current_url  # type: ignore[attr-defined]
