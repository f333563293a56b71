"""Datasets: the tutorials' arrays, generated 2-D datasets, hold-out and standardising."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core.data import (
    BUILTIN,
    GENERATED,
    DataError,
    Dataset,
    boolean_triples,
    gender,
    generate,
    hold_out,
    red_blue,
    standardized,
)

# --- the tutorials ---------------------------------------------------------------------


def test_boolean_triples():
    ds = boolean_triples()
    np.testing.assert_array_equal(ds.X, [[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
    np.testing.assert_array_equal(ds.labels, [0, 1, 1, 0])
    np.testing.assert_array_equal(ds.queries, [[1, 0, 0]])
    assert ds.query_names == ["[1 0 0]"]
    assert ds.n_features == 3 and ds.n_classes == 2 and not ds.two_d
    # The network sees the raw 0/1 inputs.
    np.testing.assert_array_equal(ds.transform(ds.X), ds.X)


def test_gender():
    ds = gender()
    np.testing.assert_array_equal(ds.X, [[133, 65], [160, 72], [152, 70], [120, 60]])
    np.testing.assert_array_equal(ds.labels, [1, 0, 0, 1])  # Alice, Bob, Charlie, Diana
    np.testing.assert_array_equal(ds.shift, [135, 66])
    np.testing.assert_array_equal(ds.scale, [1, 1])
    # The tutorial's shifted data and its two questions.
    np.testing.assert_array_equal(ds.transform(ds.X), [[-2, -1], [25, 6], [17, 4], [-15, -6]])
    assert ds.query_names == ["Emily", "Frank"]
    np.testing.assert_array_equal(ds.queries, [[128, 63], [155, 68]])
    np.testing.assert_array_equal(ds.transform(ds.queries), [[-7, -3], [20, 2]])
    assert ds.feature_names == ["weight", "height"] and ds.two_d


def test_red_blue():
    ds = red_blue()
    assert ds.X.shape == (15, 2)
    np.testing.assert_array_equal(ds.X[:4], [[0, 0], [0, 1], [0, 2], [-1, 0]])
    np.testing.assert_array_equal(ds.X[-1], [2, -2])
    np.testing.assert_array_equal(ds.labels, [0] * 7 + [1] * 8)
    np.testing.assert_array_equal(ds.queries, [[2, -3]])
    assert ds.class_names[ds.labels[7]] == "red" and ds.class_names[0] == "blue"
    np.testing.assert_array_equal(ds.transform(ds.X), ds.X)


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_datasets_are_consistent(name):
    ds = BUILTIN[name]()
    n, d = ds.X.shape
    assert ds.labels.shape == (n,)
    assert set(np.unique(ds.labels)) <= set(range(ds.n_classes))
    assert ds.queries.shape[1] == d and len(ds.query_names) == len(ds.queries)
    assert len(ds.feature_names) == d
    assert ds.transform(ds.X).dtype == np.float64
    # Fresh arrays a call: a caller editing one cannot change the next.
    ds.X[0, 0] = 99.0
    assert BUILTIN[name]().X[0, 0] != 99.0


def test_transform_shifts_then_scales():
    ds = Dataset(
        "t",
        np.array([[2.0, 10.0], [4.0, 30.0]]),
        np.array([0, 1]),
        ["a", "b"],
        ["0", "1"],
        shift=np.array([1.0, 10.0]),
        scale=np.array([2.0, 10.0]),
    )
    np.testing.assert_array_equal(ds.transform(ds.X), [[0.5, 0.0], [1.5, 2.0]])
    np.testing.assert_array_equal(ds.transform([[1, 10]]), [[0.0, 0.0]])
    assert ds.queries.shape == (0, 2)


# --- generated datasets ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(GENERATED))
@pytest.mark.parametrize("n", [10, 101, 400])
def test_generated_datasets_shape_and_classes(kind, n):
    ds = generate(kind, n, 0.1, seed=0)
    assert ds.X.shape == (n, 2) and ds.labels.shape == (n,)
    assert set(np.unique(ds.labels)) == {0, 1}
    assert ds.n_classes == 2 and ds.two_d
    assert np.all(np.isfinite(ds.X))
    counts = np.bincount(ds.labels)
    assert abs(counts[0] - counts[1]) <= n // 3


@pytest.mark.parametrize("kind", list(GENERATED))
def test_generated_datasets_are_deterministic_per_seed(kind):
    a, b = generate(kind, 200, 0.2, seed=3), generate(kind, 200, 0.2, seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = generate(kind, 200, 0.2, seed=4)
    assert not np.array_equal(a.X, c.X)
    # The global NumPy state plays no part.
    saved = np.random.get_state()
    try:
        np.random.seed(0)
        d = generate(kind, 200, 0.2, seed=3)
        np.random.seed(1)
        np.testing.assert_array_equal(d.X, generate(kind, 200, 0.2, seed=3).X)
    finally:
        np.random.set_state(saved)


@pytest.mark.parametrize("kind", list(GENERATED))
def test_noise_zero_is_allowed_and_noise_moves_points(kind):
    quiet = generate(kind, 100, 0.0, seed=1)
    noisy = generate(kind, 100, 0.5, seed=1)
    assert np.all(np.isfinite(quiet.X))
    assert not np.array_equal(quiet.X, noisy.X)


def test_generated_shapes_follow_their_definitions():
    xor = generate("xor", 500, 0.0, seed=0)
    np.testing.assert_array_equal(xor.labels, (xor.X[:, 0] * xor.X[:, 1] > 0).astype(int))
    assert np.all(np.abs(xor.X) >= 0.3)
    circles = generate("circles", 500, 0.0, seed=0)
    r = np.hypot(circles.X[:, 0], circles.X[:, 1])
    assert np.all(r[circles.labels == 1] <= 2.0) and np.all(r[circles.labels == 0] >= 3.5)
    gaussians = generate("gaussians", 2000, 0.0, seed=0)
    np.testing.assert_allclose(gaussians.X[gaussians.labels == 1].mean(axis=0), [2, 2], atol=0.15)
    np.testing.assert_allclose(gaussians.X[gaussians.labels == 0].mean(axis=0), [-2, -2], atol=0.15)
    spiral = generate("spiral", 500, 0.0, seed=0)
    assert np.all(np.hypot(spiral.X[:, 0], spiral.X[:, 1]) <= 5.0 + 1e-12)


# --- hold-out and standardising --------------------------------------------------------


@pytest.mark.parametrize("fraction,n_val", [(0.2, 40), (0.25, 50), (0.5, 100), (0.013, 3)])
def test_hold_out_moves_the_requested_fraction(fraction, n_val):
    ds = generate("circles", 200, 0.1, seed=0)
    split = hold_out(ds, fraction, seed=7)
    assert len(split.X_val) == len(split.labels_val) == n_val
    assert len(split.X) == len(split.labels) == 200 - n_val
    # Every row lands in exactly one split, with its own label.
    rows = {tuple(x): y for x, y in zip(ds.X, ds.labels)}
    together = np.concatenate([split.X, split.X_val])
    assert {tuple(x) for x in together} == set(rows)
    for x, y in zip(split.X_val, split.labels_val):
        assert rows[tuple(x)] == y
    # The source is untouched.
    assert len(ds.X) == 200 and ds.X_val is None


def test_hold_out_is_deterministic_per_seed():
    ds = generate("xor", 100, 0.1, seed=0)
    a, b, c = hold_out(ds, 0.3, seed=1), hold_out(ds, 0.3, seed=1), hold_out(ds, 0.3, seed=2)
    np.testing.assert_array_equal(a.X_val, b.X_val)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X_val, c.X_val)
    # Rows keep their dataset order within each split.
    index = {tuple(x): i for i, x in enumerate(ds.X)}
    assert np.all(np.diff([index[tuple(x)] for x in a.X]) > 0)
    assert np.all(np.diff([index[tuple(x)] for x in a.X_val]) > 0)


def test_hold_out_edges():
    ds = red_blue()
    assert hold_out(ds, 0.0, seed=0) is ds
    # 0.01 of 15 rows rounds to none: refused rather than training on without the split.
    with pytest.raises(DataError, match=r"val_fraction=0.01 of 15 rows .* use at least 0.067"):
        hold_out(ds, 0.01, seed=0)
    with pytest.raises(DataError, match="val_fraction"):
        hold_out(ds, 1.0, seed=0)
    kept = hold_out(ds, 0.2, seed=0)
    assert len(kept.X_val) == 3 and kept.queries.shape == (1, 2)


def test_standardized_measures_columns_near_1e300_in_their_own_units():
    # The squares of x overflow: a plain std would be inf and the column zeroed.
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) * 1e300
    ds = Dataset(
        "huge",
        np.column_stack([x, [1.0, 2, 3, 4, 5]]),
        np.array([0, 1, 0, 1, 0]),
        ["x", "y"],
        ["0", "1"],
    )
    std = standardized(ds)
    np.testing.assert_allclose(std.scale, [np.sqrt(2) * 1e300, np.sqrt(2)], rtol=1e-12)
    np.testing.assert_allclose(std.transform(ds.X)[:, 0], x / (np.sqrt(2) * 1e300), rtol=1e-12)


def test_standardized_gives_mean_zero_std_one_on_training_rows():
    ds = hold_out(generate("gaussians", 300, 0.3, seed=5), 0.2, seed=0)
    std = standardized(ds)
    Z = std.transform(std.X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(std.shift, ds.X.mean(axis=0), rtol=1e-15)
    # The raw features stay as the user gave them; validation uses training statistics.
    np.testing.assert_array_equal(std.X, ds.X)
    np.testing.assert_array_equal(std.transform(std.X_val), (ds.X_val - std.shift) / std.scale)


def test_standardized_keeps_a_constant_column_finite():
    ds = Dataset(
        "c",
        np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]]),
        np.array([0, 1, 0]),
        ["a", "b"],
        ["0", "1"],
    )
    std = standardized(ds)
    assert std.scale[1] == 1.0
    np.testing.assert_array_equal(std.transform(std.X)[:, 1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(std.transform(std.X)[:, 0].std(), 1.0, rtol=1e-15)
