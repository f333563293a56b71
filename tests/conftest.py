"""Shared set-up for the tests: the schema registered, and the headless browser. Plain
helpers (running the CLI, finding run and job folders, composing the config) are in
``cli.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnexp.edge.config import register


@pytest.fixture(autouse=True, scope="session")
def _nnexp_schema():
    """nnexp's config names its schema in Hydra's ConfigStore; the command registers it
    when it starts, and tests that compose the config themselves need it too."""
    register()


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory):
    """Run figures keep layers in a cache folder (``NNEXP_CACHE_DIR``); the tests' go to
    a temporary one, never the user's, and the commands the tests start inherit it."""
    import os

    os.environ["NNEXP_CACHE_DIR"] = str(tmp_path_factory.mktemp("nnexp-cache"))


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(request):
    """Headless Chromium through selenium, one per test module; a module's ``WINDOW``
    (width, height) sets its window size. Skips where Chromium or its driver is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    width, height = getattr(request.module, "WINDOW", (1280, 1000))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
