"""Debian's chromium, headless, through selenium: the browser of the desk's browser tests.

Skips with a reason when chromium or chromedriver is missing, except in CI (``CI=true``),
which promises a browser (``.ci/run`` installs it) and so fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

__all__ = ["headless_chromium"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def headless_chromium(downloads: Path | None = None) -> Any:
    """A started headless chromium (1280x1000, en-GB, 5 s implicit wait); files it
    downloads go to ``downloads`` when given. The caller quits it."""
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
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
    return driver
