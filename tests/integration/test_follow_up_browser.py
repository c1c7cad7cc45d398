"""The follow-up journey in a real browser (Debian's chromium through selenium), both desks.

DE's investigator checks a firearm, clicks "Request follow-up" on FR's hit, FR's liaison
officer ticks two fields and releases them, and the investigator sees them. Skips with a
reason without chromium/chromedriver, except in CI (``CI=true``), where it fails. A failing
step leaves a screenshot (its path is printed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import headless_chromium
from followup_fixtures import FR_RECORDS, PASSWORD, FollowUpNetwork

pytestmark = pytest.mark.integration


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = headless_chromium()
    yield driver
    driver.quit()


def _wait_text(d: Any, css: str, text: str, timeout: float = 60) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, timeout).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )


def _login(d: Any, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    d.get(url + "/login")
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait_text(d, "#logout", name)


def test_investigator_requests_liaison_releases_investigator_reads(
    follow_up_network: FollowUpNetwork, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    d, net = browser, follow_up_network
    _, make, _, caliber, serial, _ = FR_RECORDS[3]
    try:
        # DE: check one firearm, then ask FR for the record behind its hit.
        _login(d, net.de.url, "ida")
        d.find_element(By.ID, "case").send_keys("CASE-BROWSER")
        d.find_element(By.ID, "purpose").send_keys("seized at the border")
        d.find_element(By.ID, "make").send_keys(make)
        d.find_element(By.ID, "serial").send_keys(serial)
        d.find_element(By.ID, "check-one").click()
        _wait_text(d, "#results", "FR")
        d.find_element(By.CSS_SELECTOR, "form.follow-up button").click()
        _wait_text(d, "#my-follow-ups", "CASE-BROWSER")
        row = d.find_element(By.CSS_SELECTOR, "#my-follow-ups tr.follow-up")
        request_id = row.get_attribute("data-id")
        assert "pending" in row.text

        # FR: the liaison officer ticks make and caliber and releases them.
        _login(d, net.fr.url, "lia")
        d.find_element(By.ID, "nav-follow-ups").click()
        _wait_text(d, "#incoming", "CASE-BROWSER")
        mine = f'tr[data-id="{request_id}"]'
        for field in ("make", "caliber"):
            d.find_element(By.CSS_SELECTOR, f'{mine} input[value="{field}"]').click()
        d.find_element(By.CSS_SELECTOR, f"{mine} form.release button").click()
        _wait_text(d, f"{mine} .status", "released")

        # DE: the investigator sees exactly the released fields. (Two desks on one host
        # share cookies across ports: in real life they are two people and two browsers.)
        _login(d, net.de.url, "ida")
        d.get(net.de.url + "/follow-ups")
        _wait_text(d, f"{mine} .status", "released")
        shown = {
            el.get_attribute("data-field"): el.text
            for el in d.find_elements(By.CSS_SELECTOR, f"{mine} dd")
        }
        assert shown == {"make": make, "caliber": caliber}
        assert serial not in d.find_element(By.CSS_SELECTOR, mine).text
    except Exception:
        shot = tmp_path / "failure.png"
        d.save_screenshot(str(shot))
        print(f"screenshot of the failing page: {shot}")
        print(d.page_source[-3000:])
        raise
