"""Figures of a run: which files, valid PNGs of the expected size, and no crash or
warning on diverged metrics, NaN parameters, more than two classes or a reused figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli import trained

from nnexp.core.data import Dataset, boolean_triples, generate, hold_out, red_blue
from nnexp.core.network import Params, init_params
from nnexp.run import figures as plots
from nnexp.run.artifacts import metrics_frame
from nnexp.run.figures import boundary_png
from nnexp.run.figures import run_plots as run_plots_and_errors

# Plotting a diverged run must not leak RuntimeWarnings (overflow) or Matplotlib's own.
pytestmark = pytest.mark.filterwarnings("error")


def fit(data: Dataset, **settings):
    """-> (net, params, metrics frame) after a short training run on ``data``
    (``settings``: those of tests/cli.trained)."""
    net, params, history = trained(data, **settings)
    return net, params, metrics_frame(history)


def run_plots(out_dir, metrics, data, net, params, **kwargs):
    """The figures' paths, after checking that none failed."""
    paths, errors = run_plots_and_errors(out_dir, metrics, data, net, params, **kwargs)
    assert errors == {}
    return paths


CURVES, BOUNDARY = (1000, 440), (720, 620)  # PNG sizes: (width, height)


def png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000  # a blank canvas compresses far below this
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def three_blobs() -> Dataset:
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [1.5, 2.5]])
    X = np.concatenate([rng.normal(c, 0.7, (30, 2)) for c in centres])  # (90, 2)
    return Dataset(
        "blobs",
        X,
        np.repeat([0, 1, 2], 30),
        ["u", "v"],
        ["a", "b", "c"],
        queries=np.array([[1.5, 1.0]]),
        query_names=["middle"],
    )


def test_two_d_dataset_gets_curves_and_a_decision_boundary(tmp_path):
    data = red_blue()
    net, params, metrics = fit(data)
    paths = run_plots(tmp_path, metrics, data, net, params)
    assert [p.name for p in paths] == ["curves.png", "decision_boundary.png"]
    assert png_size(tmp_path / "curves.png") == CURVES
    assert png_size(tmp_path / "decision_boundary.png") == BOUNDARY
    # Written through a temporary file and renamed: nothing else is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "decision_boundary.png"]


def test_validation_points_and_curves(tmp_path):
    data = hold_out(generate("xor", 100, 0.1, 0), 0.2, 0)
    net, params, metrics = fit(data, hidden=(8, 8), epochs=100, lr=0.05)
    assert "val_loss" in metrics
    paths = run_plots(tmp_path, metrics, data, net, params)
    assert [png_size(p) for p in paths] == [CURVES, BOUNDARY]


def test_more_than_two_features_gets_no_decision_boundary(tmp_path):
    data = boolean_triples()
    net, params, metrics = fit(data, hidden=())
    paths = run_plots(tmp_path, metrics, data, net, params)
    assert [p.name for p in paths] == ["curves.png"]
    assert not (tmp_path / "decision_boundary.png").exists()


def test_three_classes_with_softmax(tmp_path):
    data = hold_out(three_blobs(), 0.2, 0)
    net, params, metrics = fit(
        data,
        hidden=(8,),
        epochs=100,
        lr=0.05,
        optimizer="adam",
        loss="cross_entropy",
        output="softmax",
    )
    assert net.n_outputs == 3
    paths = run_plots(tmp_path, metrics, data, net, params)
    assert [png_size(p) for p in paths] == [CURVES, BOUNDARY]


def test_diverged_metrics_and_nan_parameters_do_not_crash(tmp_path):
    data = red_blue()
    net, params, metrics = fit(data)
    metrics["loss"][-3:] = [1e300, np.inf, np.nan]
    metrics["accuracy"][-1] = np.nan
    broken = Params([np.full_like(w, np.nan) for w in params.weights], params.biases)
    paths = run_plots(tmp_path, metrics, data, net, broken)
    assert [png_size(p)[0] for p in paths] == [1000, 720]


def test_a_loss_from_zero_to_the_largest_float_does_not_crash(tmp_path):
    data = red_blue()
    net, params, metrics = fit(data, epochs=3)
    for losses in ([0.0, 1.0, 1e200, np.finfo(float).max], [1e307, 1e308, 1.7e308, np.inf]):
        metrics["loss"] = losses
        assert len(run_plots(tmp_path, metrics, data, net, params)) == 2


def test_metrics_with_nothing_finite_do_not_crash(tmp_path):
    data = red_blue()
    net, params, metrics = fit(data, epochs=3)
    metrics["loss"] = np.nan
    assert len(run_plots(tmp_path, metrics, data, net, params)) == 2


def test_the_boundary_map_changes_with_the_network_and_nothing_else(tmp_path):
    import io

    from PIL import Image

    data = red_blue()
    net, trained, _ = fit(data, epochs=200)
    untrained = init_params(net, "xavier", np.random.default_rng(0))

    def pixels(params):
        return np.asarray(Image.open(io.BytesIO(boundary_png(data, net, params))).convert("RGB"))

    first, again, other = pixels(trained), pixels(trained), pixels(untrained)
    np.testing.assert_array_equal(first, again)  # the kept layer leaves nothing behind
    changed = np.any(first != other, axis=2)
    rows, cols = np.nonzero(changed)
    # Only the map inside the axes differs: title, labels, ticks and colour bar do not.
    assert changed.any() and rows.min() > 40 and cols.max() < 615
    # Blue and red bands both appear once trained: the 0.5 line crosses the plane.
    reds = (first[..., 0] > first[..., 2] + 40).sum()
    blues = (first[..., 2] > first[..., 0] + 40).sum()
    assert reds > 5000 and blues > 5000


def test_log_scale_only_for_a_loss_over_two_decades():
    data = red_blue()
    _, _, metrics = fit(data, epochs=500)
    assert metrics["loss"][0] > 100 * metrics["loss"][-1]
    assert plots.curves_figure(metrics, "x").axes[0].get_yscale() == "log"
    metrics["loss"] = np.linspace(1.0, 0.5, len(metrics))
    assert plots.curves_figure(metrics, "x").axes[0].get_yscale() == "linear"


def decoded(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def test_curves_drawn_on_a_kept_background_match_a_fresh_drawing():
    # Two runs whose curves share the axes limits: the second is drawn onto the
    # background kept from the first, and must come out exactly as if drawn alone.
    epoch = np.arange(0, 1001, 10)
    first = pd.DataFrame(
        {
            "epoch": epoch,
            "loss": 2.0 * np.exp(-epoch / 150) + 1e-3,
            "accuracy": np.minimum(1.0, epoch / 300),
        }
    )
    second = first.assign(
        loss=1.5 * np.exp(-epoch / 120) + 2e-3, accuracy=np.minimum(1.0, epoch / 600)
    )
    plots._figures.__dict__.pop("curves_backgrounds", None)
    alone = decoded(plots.curves_png(second, "x"))
    plots._figures.__dict__.pop("curves_backgrounds", None)
    before = decoded(plots.curves_png(first, "x"))
    kept = plots._figures.__dict__["curves_backgrounds"]
    after = decoded(plots.curves_png(second, "x"))
    assert len(kept) == 1  # the second run found the first one's background
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, alone)
    assert alone.shape == (CURVES[1], CURVES[0], 3)


def test_linear_loss_limits_are_round_numbers():
    epoch = np.arange(0, 101)
    metrics = pd.DataFrame(
        {"epoch": epoch, "loss": np.linspace(0.91, 0.43, 101), "accuracy": np.full(101, 0.5)}
    )
    loss_ax = plots.curves_figure(metrics, "x").axes[0]
    assert loss_ax.get_yscale() == "linear"
    low, high = loss_ax.get_ylim()
    assert low <= 0.43 and high >= 0.91
    assert (low, high) == pytest.approx((round(low, 1), round(high, 1)), abs=1e-12)


# --- issue 12: results never lost to a figure; titles, per-row loss, best epoch, legends --


def test_a_loss_settled_one_ulp_below_a_tick_gets_limits():
    # The metrics of `seed=7 lr=10 activation=relu model.hidden=[8] epochs=500`: the loss
    # settles at 0.9999999999999999, just under the tick 1.0, and the axis-limit rounding
    # found no tick at or below it (ValueError: zero-size array).
    losses = [2.93735471825444, 1.9777515703930426] + [0.9999999999999999] * 499
    metrics = pd.DataFrame(
        {"epoch": np.arange(501), "loss": losses, "accuracy": np.full(501, 0.8667)}
    )
    loss_ax = plots.curves_figure(metrics, "x").axes[0]
    low, high = loss_ax.get_ylim()
    assert low <= 0.9999999999999999 and high >= 2.93735471825444
    assert len(plots.curves_png(metrics, "x")) > 10_000


def test_a_figure_that_fails_is_reported_and_the_other_is_drawn(tmp_path, monkeypatch):
    data = red_blue()
    net, params, metrics = fit(data, epochs=20)
    (tmp_path / "curves.png").write_bytes(b"from an earlier try")

    def broken(*args, **kwargs):
        raise ValueError("zero-size array to reduction operation maximum")

    monkeypatch.setattr(plots, "curves_png", broken)
    paths, errors = run_plots_and_errors(tmp_path, metrics, data, net, params)
    assert [p.name for p in paths] == ["decision_boundary.png"]
    assert errors == {"curves.png": "ValueError: zero-size array to reduction operation maximum"}
    assert not (tmp_path / "curves.png").exists()  # no stale figure passes for this run's


def test_titles_name_the_run_setting(tmp_path):
    data = red_blue()
    net, params, metrics = fit(data, epochs=20)
    fig = plots.curves_figure(metrics, "red_blue: seed=7 lr=10")
    assert fig.get_suptitle() == "red_blue: seed=7 lr=10"
    a, b = (
        decoded(boundary_png(data, net, params, setting)).astype(int)
        for setting in ("seed=1 lr=0.5", "seed=2 lr=0.5")
    )
    rows = np.nonzero(np.any(a != b, axis=(1, 2)))[0]
    # Only the title's second line differs: a band of rows above the axes.
    assert rows.size and rows.min() > 30 and rows.max() < 75


def test_curves_with_different_titles_share_a_kept_background():
    epoch = np.arange(0, 101)
    metrics = pd.DataFrame(
        {"epoch": epoch, "loss": np.linspace(0.9, 0.4, 101), "accuracy": np.full(101, 0.5)}
    )
    plots._figures.__dict__.pop("curves_backgrounds", None)
    alone = decoded(plots.curves_png(metrics, "second"))
    plots._figures.__dict__.pop("curves_backgrounds", None)
    plots.curves_png(metrics, "first")
    after = decoded(plots.curves_png(metrics, "second"))
    assert len(plots._figures.__dict__["curves_backgrounds"]) == 1
    np.testing.assert_array_equal(after, alone)


def test_a_summed_loss_is_plotted_per_row_so_train_and_validation_compare():
    epoch = np.arange(3)
    metrics = pd.DataFrame(
        {
            "epoch": epoch,
            "loss": [80.0, 40.0, 8.0],  # 80 training rows
            "accuracy": [0.5, 0.7, 0.9],
            "val_loss": [20.0, 12.0, 4.0],  # 20 validation rows
            "val_accuracy": [0.5, 0.6, 0.8],
        }
    )
    loss_ax = plots.curves_figure(metrics, "x", loss="sse", rows=(80, 20)).axes[0]
    train, val = (line.get_ydata() for line in loss_ax.lines[:2])
    np.testing.assert_allclose(train, [1.0, 0.5, 0.1])
    np.testing.assert_allclose(val, [1.0, 0.6, 0.2])
    assert loss_ax.get_ylabel() == "sse per row"
    # A mean is already per row: plotted as it is, under its own name.
    loss_ax = plots.curves_figure(metrics, "x", loss="mse", rows=(80, 20)).axes[0]
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), [80.0, 40.0, 8.0])
    assert loss_ax.get_ylabel() == "mse"


def test_the_best_epoch_is_marked_and_the_legend_covers_no_panel():
    epoch = np.arange(0, 50)
    val = (epoch - 30.0) ** 2 + 1.0  # best at epoch 30
    metrics = pd.DataFrame(
        {
            "epoch": epoch,
            "loss": np.linspace(5, 1, 50),
            "accuracy": np.full(50, 0.5),
            "val_loss": val,
            "val_accuracy": np.full(50, 0.5),
        }
    )
    metrics.loc[45:, "loss"] = np.nan  # diverged at epoch 45
    fig = plots.curves_figure(metrics, "x")
    loss_ax, acc_ax = fig.axes
    ring = next(line for line in loss_ax.lines if line.get_label().startswith("best"))
    assert ring.get_label() == "best validation loss (epoch 30)"
    assert list(ring.get_xdata()) == [30] and list(ring.get_ydata()) == [1.0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [
        "train",
        "validation",
        "best validation loss (epoch 30)",
        "diverged (epoch 45)",
    ]
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert not any(legend.overlaps(ax.get_window_extent()) for ax in (loss_ax, acc_ax))


def test_query_labels_sit_where_they_cover_no_point():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A query with points up and right of it, where a label goes first.
    X = np.array([[1.2, 1.2], [1.5, 1.1], [1.3, 1.4], [1.8, 1.3], [0.0, 3.0], [3.0, 0.0]])
    data = Dataset(
        "crowd",
        X,
        np.array([0, 1, 0, 1, 0, 1]),
        ["u", "v"],
        ["a", "b"],
        queries=np.array([[1.0, 1.0]]),
        query_names=["a long query name"],
    )
    fig = Figure(figsize=(7.2, 6.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.scatter(*X.T)
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-0.5, 3.5)
    plots._label_queries(fig, ax, data)
    (label,) = ax.texts
    fig.canvas.draw()
    box = label.get_window_extent()
    pixels = ax.transData.transform(np.concatenate([X, data.queries]))
    inside = np.all((pixels >= [box.x0, box.y0]) & (pixels <= [box.x1, box.y1]), axis=1)
    assert not inside.any()
    assert label.get_position() != plots.LABEL_PLACES[0][:2]  # the first place was taken
