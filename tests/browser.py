"""A real headless browser for the HTML report's tests: Debian's chromium driven through
selenium and chromedriver (installed by `make setup` / `.ci/run`). Where it is missing
the tests skip, unless GENBENCH_REQUIRE_BROWSER=1 (set by CI), where they fail."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
REQUIRE_ENV = "GENBENCH_REQUIRE_BROWSER"
ARTIFACTS_ENV = "GENBENCH_TEST_ARTIFACTS"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    if not any(shutil.which(b) for b in BROWSERS):
        return f"no chromium on PATH (looked for {', '.join(BROWSERS)}; apt-get install chromium)"
    if not shutil.which("chromedriver"):
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


def require_browser() -> None:
    reason = _missing()
    if reason and os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    if reason:
        pytest.skip(reason)


def artifacts_dir() -> Path:
    """Where screenshots go: $GENBENCH_TEST_ARTIFACTS or test-artifacts/ in the checkout."""
    path = Path(os.environ.get(ARTIFACTS_ENV) or Path(__file__).resolve().parent.parent / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def headless_chromium(width: int = 1300, height: int = 1000) -> Iterator:
    """A selenium driver with the browser console log enabled."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = next(shutil.which(b) for b in BROWSERS if shutil.which(b))
    # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
