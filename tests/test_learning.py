"""Watch it learn: snapshots taken during training, learning.html and learning.gif."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnexp.run import learning
from tests.cli import nnexp, only_run

WINDOW = (1200, 1000)  # the browser fixture's (conftest.py)


def test_snapshot_epochs_are_log_spaced_logged_and_bounded():
    epochs = learning.snapshot_epochs(10000, 1, 60)
    assert epochs[:6] == [0, 1, 2, 3, 4, 5] and epochs[-1] == 10000
    assert len(epochs) <= 60
    gaps = np.diff(epochs)
    assert (gaps[1:] >= gaps[:-1] - 1).all()  # the gaps only widen (log spacing)
    five = learning.snapshot_epochs(1003, 5, 60)
    assert all(e % 5 == 0 or e == 1003 for e in five) and five[-1] == 1003
    assert learning.snapshot_epochs(10, 1, 60) == list(range(11))
    assert learning.snapshot_epochs(500, 1, 0) == []


def test_the_recorder_copies_the_parameters_at_the_wanted_epochs():
    from nnexp.core.network import Params

    params = Params([np.zeros((2, 1))], [np.zeros((1, 1))])
    rec = learning.Recorder(params, [0, 2])
    for epoch in range(4):
        params.weights[0] += 1  # trained in place
        rec(epoch, {})
    assert [e for e, _ in rec.taken] == [0, 2]
    assert [p.weights[0][0, 0] for _, p in rec.taken] == [1.0, 3.0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("learning")
    done = nnexp(cwd, "epochs=400", "model.hidden=[3,2]", "activation=tanh")
    assert done.returncode == 0, done.stderr
    return only_run(cwd)


def _page_data(path: Path) -> dict:
    text = path.read_text()
    start = text.index('<script id="data" type="application/json">') + 42
    return json.loads(text[start : text.index("</script>", start)])


def test_the_loss_caption_names_a_validation_curve_only_when_the_run_has_one(run_dir):
    text = (run_dir / "learning.html").read_text()
    assert "Training loss over epochs" in text and "dashed" not in text  # no rows held out
    data = _page_data(run_dir / "learning.html")
    assert "val_loss" not in data["curve"]
    data["curve"]["val_loss"] = data["curve"]["loss"]
    held_out = learning.page(data, b"", "t")
    assert "validation loss (dashed)" in held_out and "Training loss over epochs" not in held_out


def test_a_2d_run_leaves_its_page_and_animation(run_dir):
    data = _page_data(run_dir / "learning.html")
    expected = learning.snapshot_epochs(400, 1, 60)
    assert [f["epoch"] for f in data["frames"]] == expected
    assert data["sizes"] == [2, 3, 2, 1] and data["neurons"]
    # Weights of the last snapshot are the trained model's (rounded for the page).
    with np.load(run_dir / "model.npz") as model:
        assert np.allclose(data["frames"][-1]["weights"][1], model["W1"], atol=1e-4)
    gif = Image.open(run_dir / "learning.gif")
    assert gif.format == "GIF" and gif.n_frames == len(expected)
    page = (run_dir / "learning.html").read_text()
    assert "http://" not in page and "https://" not in page  # nothing from the network
    assert "[play it step by step](learning.html)" in (run_dir / "report.md").read_text()


@pytest.mark.slow
def test_snapshots_0_and_data_that_is_not_2d_leave_none(tmp_path):
    done = nnexp(tmp_path, "epochs=50", "snapshots=0")
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert not (run / "learning.html").exists() and not (run / "learning.gif").exists()
    assert "learning.gif" not in (run / "report.md").read_text()


def _pictures(driver) -> tuple[str, str, str]:
    return tuple(
        driver.execute_script(f"return document.getElementById('{name}').toDataURL()")
        for name in ("boundary", "curve", "network")
    )


@pytest.mark.slow
def test_the_page_plays_and_its_slider_moves_the_picture(browser, run_dir, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((run_dir / "learning.html").as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.body.dataset.ready") is not None
    )
    assert browser.execute_script("return document.body.dataset.ready") == "1"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    epoch = browser.find_element(By.ID, "epoch")
    assert epoch.text.startswith("epoch 0 (snapshot 1 of ")
    first = _pictures(browser)

    slider = browser.find_element(By.ID, "slider")
    slider.send_keys(Keys.END)
    last = _pictures(browser)
    assert epoch.text.startswith("epoch 400 (")
    # The boundary, the curve's marker and every neuron's map all changed.
    assert all(a != b for a, b in zip(first, last))
    browser.save_screenshot(str(tmp_path / "learning.png"))

    slider.send_keys(Keys.HOME)
    assert _pictures(browser) == first  # the same snapshot draws the same picture
    browser.find_element(By.ID, "play").click()
    WebDriverWait(browser, 10).until(
        lambda d: int(d.execute_script("return document.body.dataset.index")) >= 3
    )
    assert browser.find_element(By.ID, "play").text == "Pause"
    browser.find_element(By.ID, "play").click()
    stopped = browser.execute_script("return document.body.dataset.index")
    assert browser.find_element(By.ID, "play").text == "Play"
    browser.execute_script("return new Promise(r => setTimeout(r, 400))")
    assert browser.execute_script("return document.body.dataset.index") == stopped
    assert int(slider.get_attribute("value")) == int(stopped)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.fixture(scope="module")
def three_class_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("learning3")
    done = nnexp(cwd, "dataset=gaussians", "dataset.classes=3", "epochs=60")
    assert done.returncode == 0, done.stderr
    return only_run(cwd)


def _pixels_of(picture: np.ndarray, colour: tuple[int, int, int]) -> int:
    """How many pixels of an (h, w, 3+) picture are exactly ``colour``."""
    return int((picture[..., :3] == np.array(colour)).all(axis=-1).sum())


@pytest.mark.slow
@pytest.mark.parametrize("which", ["two classes", "three classes"])
def test_the_page_the_animation_and_the_boundary_figure_colour_each_class_alike(
    browser, run_dir, three_class_dir, which
):
    # A training point is a solid disc of its class's colour in all three pictures (the
    # maps under them are paler), so each class's colour, as the page's legend shows it,
    # must fill some pixels of decision_boundary.png, learning.gif and the page's canvas.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    folder = run_dir if which == "two classes" else three_class_dir
    browser.get((folder / "learning.html").as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.body.dataset.ready") is not None
    )
    swatches = browser.find_elements(By.CSS_SELECTOR, "#boundary-caption .legend span")
    legend = [
        tuple(int(v) for v in s.value_of_css_property("background-color")[5:-1].split(",")[:3])
        for s in swatches
    ]
    assert len(legend) == (2 if which == "two classes" else 3)
    assert len(set(legend)) == len(legend)
    canvas = np.array(
        browser.execute_script(
            "const c = document.getElementById('boundary');"
            "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);"
        ),
        dtype=np.uint8,
    ).reshape(-1, 1, 4)
    figure = np.asarray(Image.open(folder / "decision_boundary.png").convert("RGB"))
    gif = Image.open(folder / "learning.gif")
    gif.seek(gif.n_frames - 1)
    animation = np.asarray(gif.convert("RGB"))
    for colour in legend:
        counts = [_pixels_of(p, colour) for p in (canvas, figure, animation)]
        assert min(counts) >= 10, (colour, counts)
