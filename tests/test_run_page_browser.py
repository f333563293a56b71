"""A run's report.html in a real headless browser (Debian's chromium and chromedriver,
driven by selenium): it opens from disk with no console error, every figure shows, the
numbers and the query table are rendered as tables, and nothing is fetched from
elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli import nnexp, only_run, summary

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1100,1400")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("page")
    result = nnexp(cwd, "epochs=300", "lr=0.5", "dataset.val_fraction=0.3", "snapshots=0")
    assert result.returncode == 0, result.stderr
    return only_run(cwd)


def test_the_run_page_renders_from_disk(browser, run):
    from selenium.webdriver.common.by import By

    browser.get((run / "report.html").as_uri())
    assert browser.find_element(By.TAG_NAME, "h1").text == "red_blue: 2-4-1 network"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    images = browser.find_elements(By.TAG_NAME, "img")
    assert [Path(i.get_attribute("src")).name for i in images] == [
        "curves.png",
        "decision_boundary.png",
    ]
    for image in images:
        assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
    # Every link and image is a file beside the page, named relatively: nothing from a
    # network, and the page works wherever the run folder is moved.
    refs = browser.execute_script(
        "return [...document.querySelectorAll('[src],[href]')]"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    assert refs and all((run / r).is_file() for r in refs), refs
    assert browser.find_elements(By.CSS_SELECTOR, "script, link") == []
    tables = browser.find_elements(By.TAG_NAME, "table")
    results, queries = tables[0], tables[1]
    s = summary(run)
    first = results.find_elements(By.CSS_SELECTOR, "tbody tr")[0]
    assert [c.text for c in first.find_elements(By.TAG_NAME, "td")][:2] == [
        "loss",
        f"{s['final']['loss']:.6g}",
    ]
    heads = [h.text for h in queries.find_elements(By.TAG_NAME, "th")]
    assert heads == ["query", "x", "y", "predicted", "P(red)"]
    assert "python -m nnexp epochs=300 lr=0.5" in browser.find_element(By.TAG_NAME, "pre").text
    browser.save_screenshot(str(run / "page.png"))  # for a person to look at
