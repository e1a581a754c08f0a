"""The HTML report that `genbench run` writes, opened in headless chromium: it loads
without console errors, has one leaderboard row per run, its images load, and clicking a
column header sorts the rows. A screenshot is kept as a test artifact. A page whose every
plugin- and user-controlled string is an XSS payload (tests/xss.py) runs no script of them."""

from __future__ import annotations

import pytest

from tests.browser import artifacts_dir, headless_chromium, require_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def suite_report(tmp_path_factory):
    from harness import cli

    out = tmp_path_factory.mktemp("runs")
    code = cli.main(["run", "-g", "clock", "-g", "gaussian", "-g", "noise", "-b", "smoke", "--seeds", "2",
                     "--device", "cpu", "--out", str(out)])
    assert code == 0
    return out / "report-adhoc.html"


def _column_values(driver, key: str) -> list[str]:
    from selenium.webdriver.common.by import By

    keys = [th.get_attribute("data-key") for th in
            driver.find_elements(By.CSS_SELECTOR, "#leaderboard-table thead th")]
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#leaderboard-table tbody tr'),"
        f" function (tr) {{ return tr.cells[{keys.index(key)}].dataset.value; }});")


def test_report_in_a_real_browser(suite_report):
    require_browser()
    from selenium.webdriver.common.by import By

    with headless_chromium() as driver:
        driver.get(suite_report.as_uri())
        assert driver.title.startswith("genbench: adhoc")

        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []

        rows = driver.find_elements(By.CSS_SELECTOR, "#leaderboard-table tbody tr")
        assert len(rows) == 6  # 3 generators x 2 seeds
        assert len({r.get_attribute("data-run") for r in rows}) == 6

        images = driver.find_elements(By.TAG_NAME, "img")
        # 6 sample grids + 2 ground-truth grids (clock is conditional) + 2 loss plots
        # (the baselines do not train) + the time-to-quality plot
        assert len(images) == 11
        broken = driver.execute_script(
            "return Array.prototype.filter.call(document.images,"
            " function (i) { return !(i.complete && i.naturalWidth > 0); }).map(function (i) { return i.alt; });")
        assert broken == []

        headers = {th.get_attribute("data-key"): th for th in
                   driver.find_elements(By.CSS_SELECTOR, "#leaderboard-table thead th")}
        assert headers["fd-clocknet"].text == "fd-clocknet ↓" and headers["ssim"].text == "ssim ↑"
        before = _column_values(driver, "ssim")
        assert before != sorted(before, key=float, reverse=True)  # ranked by FD, not by SSIM

        headers["ssim"].click()  # higher is better: best first
        after = _column_values(driver, "ssim")
        assert after == sorted(before, key=float, reverse=True)
        assert headers["ssim"].get_attribute("aria-sort") == "descending"
        headers["ssim"].click()
        assert _column_values(driver, "ssim") == sorted(before, key=float)

        headers["seed"].click()
        assert [float(v) for v in _column_values(driver, "seed")] == [0, 0, 0, 1, 1, 1]

        headers["fd-clocknet"].click()  # lower is better: best first, as the page was ranked
        values = [float(v) for v in _column_values(driver, "fd-clocknet")]
        assert values == sorted(values)

        driver.set_window_size(1300, driver.execute_script("return document.body.scrollHeight") + 100)
        shot = artifacts_dir() / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.fixture
def hostile_report(tmp_path):
    """A page of a database in which every plugin- and user-controlled string is an XSS
    payload (tests/xss.py), written by `genbench report --compare ... --title ...`."""
    from harness import cli
    from harness.records import ResultsStore
    from tests import xss

    store = ResultsStore(tmp_path / "genbench.sqlite")
    xss.plant(store, tmp_path / "runs")
    store.close()
    path = tmp_path / "hostile.html"
    code = cli.main(["report", *xss.LABELS, "--compare", *xss.LABELS, "--title", xss.TITLE,
                     "--db", str(tmp_path / "genbench.sqlite"), "--html", str(path)])
    assert code == 0
    return path


@pytest.mark.filterwarnings("ignore:Tight layout not applied:UserWarning")
def test_hostile_strings_run_no_script_in_a_real_browser(hostile_report):
    require_browser()
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    from tests import xss

    with headless_chromium() as driver:
        driver.get(hostile_report.as_uri())
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert  # noqa: B018 (the property raises when there is no alert)
        assert driver.execute_script("return typeof window.__xss") == "undefined"

        # The payloads are text: the title reads as planted, and nothing became an element.
        assert driver.title == xss.TITLE
        assert driver.find_element(By.TAG_NAME, "h1").text == xss.TITLE
        assert len(driver.find_elements(By.TAG_NAME, "script")) == 1
        assert driver.find_elements(By.TAG_NAME, "svg") == []
        sources = driver.execute_script("return Array.prototype.map.call(document.images, function (i) {"
                                        " return i.getAttribute('src'); });")
        assert len(sources) == 9 and all(s.startswith("data:image/png;base64,") for s in sources)
        handlers = driver.execute_script(
            "var found = []; document.querySelectorAll('*').forEach(function (e) {"
            " Array.prototype.forEach.call(e.attributes, function (a) {"
            " if (a.name.indexOf('on') === 0) { found.push(e.tagName + ' ' + a.name); } }); });"
            " return found;")
        assert handlers == []

        # Hover and click everything a payload could have hooked, and sort by the hostile column.
        driver.execute_script(
            "document.querySelectorAll('body *').forEach(function (e) {"
            " ['mouseover', 'mouseenter', 'focus'].forEach(function (t) {"
            " e.dispatchEvent(new Event(t, {bubbles: true})); }); });")
        for th in driver.find_elements(By.CSS_SELECTOR, "#leaderboard-table thead th"):
            th.click()
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert  # noqa: B018
        assert driver.execute_script("return typeof window.__xss") == "undefined"
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
