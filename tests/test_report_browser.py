"""The sweep report's HTML page in a real headless browser (Debian's chromium and
chromedriver, driven by selenium): it loads from disk with no console error, every image
shows, a click on a column head sorts, the filter hides rows, and every link to a run
page resolves to a file."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import report_build  # noqa: E402

from nnexp.sweep import report  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = report_build.seed_lr_sweep(
        tmp_path_factory.mktemp("browser") / "sweep", jobs=40, rows=20, seeds=4
    )
    shutil.rmtree(root / "3")  # a job that never started a folder: still a clean page
    report.build(root)
    return root


def _open(driver, sweep: Path) -> None:
    """The report, afresh: no sorting or filter kept from an earlier test."""
    driver.get((sweep / "report.html").as_uri())
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()


def _column(driver, table_id: str, index: int) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [r.find_elements(By.TAG_NAME, "td")[index].text for r in rows if r.is_displayed()]


def test_the_page_loads_from_disk_with_no_console_error_and_every_image_shows(browser, sweep):
    from selenium.webdriver.common.by import By

    browser.get((sweep / "report.html").as_uri())
    assert browser.title == "Sweep report: sweep"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 10 + 2  # a thumbnail a setting, and the figures
    for image in images:
        browser.execute_script("arguments[0].scrollIntoView()", image)
        assert browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", image
        ), image.get_attribute("src")[:80]
    nav = [a.get_attribute("hash") for a in browser.find_elements(By.CSS_SELECTOR, "nav a")]
    assert nav[:2] == ["#answer", "#plots"] and "#settings" in nav and "#jobs" in nav


def test_a_click_on_a_column_head_sorts_and_a_filter_hides_rows(browser, sweep):
    from selenium.webdriver.common.by import By

    _open(browser, sweep)
    heads = browser.find_elements(By.CSS_SELECTOR, "#settings-table thead th")
    names = [h.text for h in heads]
    lr = names.index("lr")
    before = [float(v) for v in _column(browser, "settings-table", lr)]
    assert before != sorted(before)  # best first, not by lr
    heads[lr].click()
    assert [float(v) for v in _column(browser, "settings-table", lr)] == sorted(before)
    assert heads[lr].get_attribute("aria-sort") == "ascending"
    heads[lr].click()
    assert [float(v) for v in _column(browser, "settings-table", lr)] == sorted(before)[::-1]

    # The jobs table is collapsed; open it, then filter it down to one learning rate.
    browser.find_element(By.CSS_SELECTOR, "#jobs details summary").click()
    everything = len(_column(browser, "jobs-table", 0))
    assert everything == 39
    target = _column(browser, "settings-table", lr)[0]
    box = browser.find_element(By.CSS_SELECTOR, 'input[data-table="jobs-table"]')
    box.send_keys(target)
    shown = _column(browser, "jobs-table", 1)
    assert 0 < len(shown) < everything
    assert browser.find_element(By.ID, "jobs-table-count").text.endswith(f"of {everything} rows")
    box.clear()
    box.send_keys("no such words here")
    assert _column(browser, "jobs-table", 0) == []


def test_links_to_run_pages_resolve_to_files(browser, sweep):
    from selenium.webdriver.common.by import By

    _open(browser, sweep)
    browser.find_element(By.CSS_SELECTOR, "#jobs details summary").click()
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")]
    runs = [link for link in links if "#" not in link]
    assert len(runs) >= 39
    for link in runs:
        url = urlparse(link)
        assert url.scheme == "file", link
        assert Path(unquote(url.path)).is_file(), link
    browser.get(runs[0])
    assert browser.find_element(By.TAG_NAME, "body").text


def test_sorting_filters_and_open_sections_survive_a_reload(browser, sweep):
    # The live page reloads itself while a sweep runs; the reader's view must stay.
    from selenium.webdriver.common.by import By

    _open(browser, sweep)
    heads = browser.find_elements(By.CSS_SELECTOR, "#settings-table thead th")
    lr = [h.text for h in heads].index("lr")
    heads[lr].click()
    heads[lr].click()  # descending
    browser.find_element(By.CSS_SELECTOR, "#jobs details summary").click()
    browser.find_element(By.CSS_SELECTOR, 'input[data-table="jobs-table"]').send_keys("diverged")
    shown = _column(browser, "jobs-table", 0)
    order = _column(browser, "settings-table", lr)
    browser.refresh()
    assert _column(browser, "settings-table", lr) == order
    assert [float(v) for v in order] == sorted((float(v) for v in order), reverse=True)
    assert browser.find_element(By.CSS_SELECTOR, "#jobs details").get_attribute("open") is not None
    assert _column(browser, "jobs-table", 0) == shown and 0 < len(shown) < 39
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
