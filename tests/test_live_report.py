"""The sweep page while the sweep runs: report.html rebuilt as jobs finish, reloading
itself until the sweep ends."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from nnexp.sweep import live, report
from tests.cli import nnexp, wait_for

WINDOW = (1200, 900)  # the browser fixture's (conftest.py)


pytestmark = pytest.mark.slow  # every test here stands on a real sweep (a few seconds)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real three-job sweep, finished (its final report written, no live page)."""
    cwd = tmp_path_factory.mktemp("live")
    done = nnexp(cwd, "-m", "lr=0.1,1,10", "epochs=30", "hydra.sweep.dir=sweep")
    assert done.returncode == 0, done.stderr
    return cwd / "sweep"


@pytest.fixture
def sweep(finished, tmp_path):
    """A copy of it in which job 2 is still running (no summary.json yet)."""
    folder = tmp_path / "sweep"
    shutil.copytree(finished, folder)
    (folder / "report.html").unlink()
    (folder / "2" / "summary.json").rename(tmp_path / "summary-2.json")
    return folder


def test_the_final_page_does_not_reload(finished):
    page = (finished / "report.html").read_text()
    assert "http-equiv" not in page and "(running)" not in page and 'id="live"' not in page
    assert "location.reload" not in page


def test_a_live_page_counts_and_reloads(sweep):
    live.write_live(sweep, 2)
    page = (sweep / "report.html").read_text()
    assert 'data-state="running"' in page and 'data-every="2"' in page
    assert f'data-stale-after="{live.stale_after(2):g}"' in page and "location.reload" in page
    assert "<title>(running) Sweep report: sweep</title>" in page
    assert 'data-done="2" data-running="1" data-failed="0"' in page
    assert "Sweep running: 2 done, 1 running, 0 failed, 0 not started (of 3)." in page
    best = report.best(report.collect(sweep))
    assert f"Best so far: lr={best['settings']['lr']:g}" in page


def test_the_fingerprint_changes_when_a_job_starts_or_finishes(sweep, tmp_path):
    before = live.fingerprint(sweep)
    (tmp_path / "summary-2.json").rename(sweep / "2" / "summary.json")
    finished = live.fingerprint(sweep)
    assert finished != before
    (sweep / "3" / ".hydra").mkdir(parents=True)
    (sweep / "3" / ".hydra" / "overrides.yaml").write_text("- lr=100\n")
    assert live.fingerprint(sweep) != finished


def _page(folder: Path) -> str:
    try:
        return (folder / "report.html").read_text()
    except FileNotFoundError:
        return ""


def test_the_watcher_follows_the_jobs_and_stops(sweep, tmp_path):
    watcher = live.Watcher(sweep, 0.2)
    try:
        assert wait_for(lambda: 'data-done="2" data-running="1"' in _page(sweep))
        (tmp_path / "summary-2.json").rename(sweep / "2" / "summary.json")
        assert wait_for(lambda: 'data-done="3" data-running="0"' in _page(sweep))
    finally:
        watcher.stop()
    assert not watcher.process.is_alive()
    report.build(sweep)  # what the callback does next: the final page
    time.sleep(0.5)  # a watcher still running would have rewritten it by now
    assert 'id="live"' not in _page(sweep)


def test_the_page_reloads_itself_in_a_browser(sweep, tmp_path, browser):
    from selenium.webdriver.common.by import By

    browser.get_log("browser")  # this page's messages only
    live.write_live(sweep, 1)
    browser.get((sweep / "report.html").as_uri())
    banner = browser.find_element(By.ID, "live")
    assert banner.get_attribute("data-done") == "2"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    (tmp_path / "summary-2.json").rename(sweep / "2" / "summary.json")
    live.write_live(sweep, 1)
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, '#live[data-done="3"]'), 20)
    report.build(sweep)  # the sweep ends: the next reload shows the final page
    assert wait_for(lambda: not browser.find_elements(By.ID, "live"), 20)
    assert not browser.title.startswith("(running)")


def test_the_callback_pickles_without_its_watcher(tmp_path):
    """joblib, Ray and submitit pickle the callbacks for their workers."""
    import pickle

    from nnexp.sweep.callbacks import SweepReport

    callback = SweepReport(live_every=1)
    callback.watcher = live.Watcher(tmp_path, 1)
    try:
        copy = pickle.loads(pickle.dumps(callback))
    finally:
        callback.watcher.stop()
    assert copy.watcher is None and copy.live_every == 1.0


def _reloads(browser, seconds: float) -> bool:
    """Whether the open page reloads within ``seconds``: a mark left on its window is
    gone after a reload."""
    browser.execute_script("window.notReloaded = true")
    return wait_for(lambda: not browser.execute_script("return window.notReloaded"), seconds)


def test_a_page_whose_heartbeat_is_old_says_its_sweep_stopped_and_stays(sweep, browser):
    # The watcher died with its sweep (the whole process group killed): the last page it
    # wrote must not reload for ever. A fresh heartbeat reloads; an hour-old one stops.
    from selenium.webdriver.common.by import By

    page = sweep / "report.html"
    page.write_text(live.live_page(sweep, 1))
    browser.get(page.as_uri())
    assert browser.find_element(By.ID, "live").get_attribute("data-state") == "running"
    assert _reloads(browser, 10)
    page.write_text(live.live_page(sweep, 1, now=time.time() - 3600))
    assert wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, '#live[data-state="stopped"]'), 10
    )
    banner = browser.find_element(By.ID, "live").text
    assert banner.startswith("The sweep stopped: this page was last updated at ")
    assert "no longer reloads" in banner and browser.title.startswith("(stopped) ")
    assert not _reloads(browser, 3)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_the_heartbeat_moves_without_a_rebuild(sweep):
    html = live.live_page(sweep, 1, now=1000.0)
    assert 'data-heartbeat="1000.000"' in html
    moved = live.beat(html, 2000.5)
    assert 'data-heartbeat="2000.500"' in moved and "1000.000" not in moved
    assert moved.replace("2000.500", "1000.000") == html


def test_a_killed_sweeps_page_says_it_stopped_and_stops_reloading(tmp_path, browser):
    import os
    import signal
    import subprocess
    import sys

    from selenium.webdriver.common.by import By

    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    command = [sys.executable, "-m", "nnexp", "-m", "lr=0.1,1,10", "epochs=1000000"]
    command += ["hydra/launcher=basic", "hydra.sweep.dir=sweep"]
    command += ["hydra.callbacks.sweep_report.live_every=0.5"]
    sweep = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        page = tmp_path / "sweep" / "report.html"
        assert wait_for(lambda: 'data-state="running"' in _page(page.parent), 120)
        browser.get(page.as_uri())
        assert _reloads(browser, 10)  # the sweep runs: the page follows it
    finally:
        sweep.send_signal(signal.SIGKILL)  # no handler, no callback: only the watcher knows
        sweep.wait(30)
    assert wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, '#live[data-state="stopped"]'), 30
    )
    banner = browser.find_element(By.ID, "live").text
    assert (
        f"The sweep stopped (its process, pid {sweep.pid}, is gone): 0 done, 1 unfinished" in banner
    )
    assert "This page no longer reloads" in banner and browser.title.startswith("(stopped) ")
    assert not _reloads(browser, 3)
    assert 'data-state="stopped"' in _page(page.parent)


def test_the_watchers_remembered_reads_give_the_same_page_and_see_replaced_files(
    sweep, monkeypatch
):
    from nnexp.run.artifacts import write_text
    from nnexp.sweep import table

    def fresh() -> str:
        monkeypatch.setattr(table, "_REMEMBER", [False])
        page = live.live_page(sweep, 2, now=1.0)
        monkeypatch.setattr(table, "_REMEMBER", [True])
        return page

    monkeypatch.setattr(table, "_READS", {})
    monkeypatch.setattr(table, "_REMEMBER", [True])
    first = live.live_page(sweep, 2, now=1.0)
    assert first == fresh() and table._READS
    reads = []
    real = table.pd.read_csv
    monkeypatch.setattr(table.pd, "read_csv", lambda p, *a, **k: reads.append(p) or real(p))
    assert live.live_page(sweep, 2, now=1.0) == first and reads == []  # all from memory
    # Files replaced as nnexp and Hydra write them (a new inode) are read again.
    metrics = sweep / "1" / "metrics.csv"
    lines = metrics.read_text().splitlines()
    write_text(metrics, "\n".join(lines[: len(lines) // 2]) + "\n")
    write_text(sweep / "0" / ".hydra" / "overrides.yaml", "- lr=0.2\n")
    changed = live.live_page(sweep, 2, now=1.0)
    assert changed != first and reads == [metrics]
    assert changed == fresh()


def test_a_sweep_stopped_by_ctrl_c_leaves_a_page_that_says_so(tmp_path):
    """Found trying the README: after Ctrl-C the page kept saying "Sweep running" with the
    counts of its last build, and reloaded, until its heartbeat went stale a minute on.
    Ctrl-C reaches the whole process group; the watcher ignores it, and the sweep asks it
    for the stopped page before it ends."""
    import os
    import signal

    from tests.cli import started

    sweep = started(
        tmp_path,
        *("-m", "lr=0.1,1,10", "epochs=1000000", "hydra/launcher=basic"),
        *("hydra.sweep.dir=sweep", "hydra.callbacks.sweep_report.live_every=0.5"),
    )
    try:
        assert wait_for(lambda: 'data-state="running"' in _page(tmp_path / "sweep"), 120)
        os.killpg(sweep.pid, signal.SIGINT)
        _, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
    assert sweep.returncode == 130, err
    assert "Traceback" not in err
    page = _page(tmp_path / "sweep")
    assert 'data-state="stopped"' in page and "Sweep running" not in page
    assert (
        f"The sweep stopped (its process, pid {sweep.pid}, is gone): 0 done, 1 unfinished" in page
    )
    assert "<title>(stopped) " in page
