"""Figures of a run: which files, valid PNGs of the expected size, and no crash or
warning on diverged metrics, NaN parameters, more than two classes or a reused figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnexp.core.data import Dataset, boolean_triples, generate, hold_out, red_blue
from nnexp.core.network import Network, Params, init_params
from nnexp.core.optim import OPTIMIZERS
from nnexp.core.train import Split, encode_targets, train
from nnexp.run import figures as plots
from nnexp.run.artifacts import metrics_frame
from nnexp.run.figures import boundary_png, run_plots

# Plotting a diverged run must not leak RuntimeWarnings (overflow) or Matplotlib's own.
pytestmark = pytest.mark.filterwarnings("error")


def fit(
    data: Dataset, hidden=(4,), epochs=200, lr=1.0, optimizer="gd", loss="sse", output="sigmoid"
):
    """-> (net, params, metrics frame) after a short training run on ``data``."""
    n_outputs = 1 if data.n_classes == 2 and output == "sigmoid" else data.n_classes
    net = Network(data.n_features, hidden, n_outputs, "tanh", output, True)
    params = init_params(net, "xavier", np.random.default_rng(0))

    def split(X, labels):
        return Split(data.transform(X), encode_targets(labels, n_outputs), labels)

    validation = None if data.X_val is None else split(data.X_val, data.labels_val)
    history = train(
        net,
        params,
        OPTIMIZERS[optimizer](params, lr),
        loss,
        split(data.X, data.labels),
        epochs,
        validation=validation,
    )
    return net, params, metrics_frame(history)


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
    assert png_size(tmp_path / "curves.png") == (1000, 400)
    assert png_size(tmp_path / "decision_boundary.png") == (720, 560)
    # Written through a temporary file and renamed: nothing else is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "decision_boundary.png"]


def test_validation_points_and_curves(tmp_path):
    data = hold_out(generate("xor", 100, 0.1, 0), 0.2, 0)
    net, params, metrics = fit(data, hidden=(8, 8), epochs=100, lr=0.05)
    assert "val_loss" in metrics
    paths = run_plots(tmp_path, metrics, data, net, params)
    assert [png_size(p) for p in paths] == [(1000, 400), (720, 560)]


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
    assert [png_size(p) for p in paths] == [(1000, 400), (720, 560)]


def test_diverged_metrics_and_nan_parameters_do_not_crash(tmp_path):
    data = red_blue()
    net, params, metrics = fit(data)
    metrics.loc[metrics.index[-3:], "loss"] = [1e300, np.inf, np.nan]
    metrics.loc[metrics.index[-1], "accuracy"] = np.nan
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
    assert metrics.loss.iloc[0] > 100 * metrics.loss.iloc[-1]
    assert plots.curves_figure(metrics, "x").axes[0].get_yscale() == "log"
    flat = metrics.assign(loss=np.linspace(1.0, 0.5, len(metrics)))
    assert plots.curves_figure(flat, "x").axes[0].get_yscale() == "linear"


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
    assert alone.shape == (400, 1000, 3)


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
