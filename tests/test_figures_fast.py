"""The run figures' fast paths draw the same pixels as the plain ones: the PNG writer
(NumPy and zlib instead of Pillow) and the two-class boundary's looked-up colours."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnexp.core.data import generate, hold_out, red_blue, with_queries
from nnexp.core.network import Network
from nnexp.run import figures


def decoded(png: bytes) -> np.ndarray:
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and picture.mode == "RGB"
    return np.asarray(picture)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (37, 53), (440, 1000)])
def test_png_bytes_hold_exactly_the_pixels(shape):
    rng = np.random.default_rng(sum(shape))
    rgb = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decoded(figures.png_bytes(rgb)), rgb)
    # Smooth rows and a view that is not contiguous (a canvas's RGBA without alpha).
    rgba = np.zeros((*shape, 4), np.uint8)
    rgba[..., :3] = np.linspace(0, 255, shape[1]).astype(np.uint8)[None, :, None]
    rgba[::2, :, 1] = 255
    np.testing.assert_array_equal(decoded(figures.png_bytes(rgba[..., :3])), rgba[..., :3])
    # The RGBA itself (as a canvas hands it over): its alpha dropped, the same bytes as
    # its RGB copied out.
    rgba[..., 3] = rng.integers(0, 256, shape, dtype=np.uint8)
    rgb = np.ascontiguousarray(rgba[..., :3])
    assert figures.png_bytes(rgba) == figures.png_bytes(rgb)
    np.testing.assert_array_equal(decoded(figures.png_bytes(rgba)), rgb)


def test_png_bytes_match_pillows_pixels_for_a_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots().plot([0, 1, 0.5], label="a line")
    fig.legend()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    pillow = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(pillow, format="png")
    np.testing.assert_array_equal(decoded(figures.png_bytes(rgb)), decoded(pillow.getvalue()))


@pytest.mark.parametrize(
    "data",
    [
        with_queries(red_blue(), [[0.2, 0.8], [1.0, 1.0]]),
        hold_out(generate("circles", 120, 0.1, 4), 0.25, 0),
    ],
    ids=["queries", "validation"],
)
def test_looked_up_inks_composite_as_the_general_path(data):
    overlay = figures._overlay(data, Network(2, (4,), 1, "tanh", "sigmoid", True), True)
    top, bottom, left, right = overlay.box
    assert len(overlay.drawn[0]) > 0  # points and labels lie over the map
    rng = np.random.default_rng(0)
    ink = rng.integers(0, len(figures._TWO_CLASS_INKS), (bottom - top, right - left))
    ink[:, : (right - left) // 2] = figures.BLACK_INK  # and plain stretches of one ink
    general = figures._composite(overlay, figures._TWO_CLASS_INKS[ink])
    np.testing.assert_array_equal(figures._composite_inks(overlay, ink), general)


def test_the_boundary_layer_kept_on_disk_gives_the_same_figure(tmp_path, monkeypatch):
    from nnexp.core.network import init_params

    data = with_queries(red_blue(), [[0.2, 0.8]])
    net = Network(2, (4,), 1, "sigmoid", "sigmoid", True)
    params = init_params(net, "xavier", np.random.default_rng(0))

    def drawn(cache: str) -> bytes:
        monkeypatch.setenv(figures.CACHE_VARIABLE, cache)
        figures._overlays.__dict__.clear()  # each thread's layers in memory
        return figures.boundary_png(data, net, params, "seed=0")

    plain = drawn("")  # no disk cache
    kept = tmp_path / "cache"
    assert drawn(str(kept)) == plain  # drawn, then kept
    (layer,) = kept.glob("boundary-layer-*.npz")
    assert drawn(str(kept)) == plain  # read back
    layer.write_bytes(b"not a layer")
    assert drawn(str(kept)) == plain  # a damaged file is drawn again, and replaced
    assert layer.read_bytes() != b"not a layer"
    other = Network(2, (5,), 1, "sigmoid", "sigmoid", True)  # another title: another layer
    figures.boundary_png(data, other, init_params(other, "xavier", np.random.default_rng(0)))
    assert len(list(kept.glob("boundary-layer-*.npz"))) == 2
    (kept / "blocked").write_text("")  # a cache that cannot be written is passed by
    assert drawn(str(kept / "blocked")) == plain


def test_the_disk_cache_keeps_the_most_recently_used_layers(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(figures, "KEPT_LAYERS", 3)
    for age, name in enumerate("abcde"):
        path = tmp_path / f"boundary-layer-{name}.npz"
        path.write_bytes(b"")
        os.utime(path, ns=(age * 10**9, age * 10**9))  # a oldest, e newest
    (tmp_path / "other.txt").write_text("not ours")
    figures._prune(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "boundary-layer-c.npz",
        "boundary-layer-d.npz",
        "boundary-layer-e.npz",
        "other.txt",
    ]


def drawn_afresh(metrics, title: str, loss=None, rows=None) -> bytes:
    """The reference curves.png: ``curves_figure`` on a new figure (a new thread's),
    drawn as curves.png has been drawn since it was blitted (the lines, legend and
    title over the rest, so the lines cover the axes' frame), no background kept."""
    from concurrent.futures import ThreadPoolExecutor

    def draw() -> bytes:
        fig = figures.curves_figure(metrics, title, loss, rows)
        own = [(ax, line) for ax in fig.axes for line in ax.lines]
        own += [(fig, artist) for artist in [*fig.legends, fig._suptitle]]
        for _, artist in own:
            artist.set_visible(False)
        fig.canvas.draw()
        for owner, artist in own:
            artist.set_visible(True)
            owner.draw_artist(artist)
        return figures.png_bytes(np.asarray(fig.canvas.buffer_rgba()))

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(draw).result()


def curves_metrics(kind: str, scale: float):
    """Metrics of a run of 200 epochs: falling, falling over decades (a log axis), with a
    validation split, diverging, or a few logged epochs; ``scale`` shifts the loss (runs
    of one kind share their axes)."""
    import pandas as pd

    epoch = np.arange(0, 201, 40 if kind == "few" else 1)
    loss = scale * np.exp(-epoch / 40) + (1e-4 if "wide" in kind else 0.01)
    frame = pd.DataFrame({"epoch": epoch, "loss": loss, "accuracy": 1 - loss / 3})
    if "validation" in kind:
        frame = frame.assign(val_loss=loss * 1.2, val_accuracy=1 - loss / 2)
    if kind == "diverging":
        frame.loc[150:, ["loss", "accuracy"]] = np.nan
    return frame


@pytest.mark.slow
def test_curves_blitted_on_kept_backgrounds_are_the_figure_drawn_afresh():
    # Runs alike and unlike in turn, so some are drawn onto a background kept from
    # another run (with its legend) and some make a new one: every PNG must be the bytes
    # of the whole figure drawn on a new canvas.
    figures._figures.__dict__.pop("curves_backgrounds", None)
    kept = figures._figures.__dict__.setdefault("curves_backgrounds", {})
    # Linear and log loss axes in turn: each kept from the run before, or set anew.
    kinds = ("falling", "wide", "wide", "wide_validation", "validation", "falling")
    found = 0
    for kind in kinds + ("diverging", "wide", "few", "validation"):
        for scale in (2.0, 2.5):
            metrics = curves_metrics(kind, scale)
            title = f"{kind}: scale={scale}"
            before = list(kept)
            assert figures.curves_png(metrics, title) == drawn_afresh(metrics, title)
            found += list(kept) == before  # drawn on a background kept from another run
    assert found >= 8
    # Two runs of 80 rows' summed loss, per row: another axis label.
    metrics = curves_metrics("falling", 2.0)
    assert figures.curves_png(metrics, "sse", "sse", (80, 0)) == drawn_afresh(
        metrics, "sse", "sse", (80, 0)
    )
