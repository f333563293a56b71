"""The training loop: the tutorials' printed numbers through the core, the gender
tutorial's scalar rule epoch by epoch, divergence, logging, validation and determinism."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnexp.core.activations import sigmoid
from nnexp.core.data import boolean_triples, gender, red_blue
from nnexp.core.losses import LOSSES
from nnexp.core.network import Network, backward, forward, init_params, predict
from nnexp.core.optim import OPTIMIZERS
from nnexp.core.stacked import stack, unstack
from nnexp.core.train import History, Split, accuracy, encode_targets, evaluate, output_delta, train

# The loop must never leak a RuntimeWarning (overflow, invalid, divide), even diverging.
pytestmark = pytest.mark.filterwarnings("error")


def _split(dataset, n_outputs: int = 1) -> Split:
    return Split(
        dataset.transform(dataset.X), encode_targets(dataset.labels, n_outputs), dataset.labels
    )


# --- the tutorials ---------------------------------------------------------------------


def test_boolean_triples_tutorial():
    data = boolean_triples()
    net = Network(3, (), 1, "sigmoid", "sigmoid", bias=False)
    params = init_params(net, "uniform", np.random.RandomState(1))
    history = train(
        net, params, OPTIMIZERS["gd"](params, 1.0), "sse", _split(data), 10000, log_every=1000
    )
    assert history.epochs == list(range(0, 10001, 1000))
    assert history.diverged_at == 0
    p = predict(net, params, data.transform(data.queries))
    assert p.shape == (1, 1)
    assert round(float(p[0, 0]), 8) == 0.99993704
    np.testing.assert_array_equal(
        params.weights[0].round(8).ravel(), [9.67299303, -0.20784350, -4.62963669]
    )
    assert history.params is params
    assert history.columns["accuracy"][-1] == 1.0


RED_BLUE_START_W1 = [
    [-0.16595599, 0.44064899, -0.99977125, -0.39533485],
    [-0.70648822, -0.81532281, -0.62747958, -0.30887855],
]
RED_BLUE_START_W2 = [[-0.20646505], [0.07763347], [-0.16161097], [0.370439]]
RED_BLUE_W1 = [
    [-3.97185157, 4.66297249, -5.25188655, 1.39753303],
    [1.35299999, -1.57439556, 1.76665557, -0.71676559],
]
RED_BLUE_W2 = [[-7.20493687], [6.57701463], [-11.30181144], [0.89289527]]


def test_red_blue_tutorial_matches_every_printed_digit():
    data = red_blue()
    net = Network(2, (4,), 1, "sigmoid", "sigmoid", bias=False)
    params = init_params(net, "uniform", np.random.RandomState(1))
    # "Stage 1) Random starting synaptic weights"
    np.testing.assert_array_equal(params.weights[0].round(8), RED_BLUE_START_W1)
    np.testing.assert_array_equal(params.weights[1].round(8), RED_BLUE_START_W2)
    history = train(
        net, params, OPTIMIZERS["gd"](params, 1.0), "sse", _split(data), 100_000, log_every=1000
    )
    assert history.epochs[-1] == 100_000 and len(history.epochs) == 101
    # "Stage 2) New synaptic weights after training"
    np.testing.assert_array_equal(params.weights[0].round(8), RED_BLUE_W1)
    np.testing.assert_array_equal(params.weights[1].round(8), RED_BLUE_W2)
    # "Stage 3) Considering a new situation [ 2 -3]"
    p = predict(net, params, data.transform(data.queries))
    assert round(float(p[0, 0]), 8) == 0.99942671


def _gender_scalar_rule(w, b, data, y_trues, epochs, on_epoch):
    """The gender tutorial's per-sample SGD, neuron by neuron, in plain floats."""
    w1, w2, w3, w4, w5, w6 = w
    b1, b2, b3 = b
    learn_rate = 0.1

    def sig(x):
        return 1 / (1 + math.exp(-x))

    def deriv_sig(x):
        fx = sig(x)
        return fx * (1 - fx)

    for epoch in range(1, epochs + 1):
        for x, y_true in zip(data, y_trues):
            sum_h1 = w1 * x[0] + w2 * x[1] + b1
            h1 = sig(sum_h1)
            sum_h2 = w3 * x[0] + w4 * x[1] + b2
            h2 = sig(sum_h2)
            sum_o1 = w5 * h1 + w6 * h2 + b3
            y_pred = sig(sum_o1)

            d_L_d_ypred = -2 * (y_true - y_pred)
            d_ypred_d_w5 = h1 * deriv_sig(sum_o1)
            d_ypred_d_w6 = h2 * deriv_sig(sum_o1)
            d_ypred_d_b3 = deriv_sig(sum_o1)
            d_ypred_d_h1 = w5 * deriv_sig(sum_o1)
            d_ypred_d_h2 = w6 * deriv_sig(sum_o1)
            d_h1_d_w1 = x[0] * deriv_sig(sum_h1)
            d_h1_d_w2 = x[1] * deriv_sig(sum_h1)
            d_h1_d_b1 = deriv_sig(sum_h1)
            d_h2_d_w3 = x[0] * deriv_sig(sum_h2)
            d_h2_d_w4 = x[1] * deriv_sig(sum_h2)
            d_h2_d_b2 = deriv_sig(sum_h2)

            w1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
            w2 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
            b1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1
            w3 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
            w4 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
            b2 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2
            w5 -= learn_rate * d_L_d_ypred * d_ypred_d_w5
            w6 -= learn_rate * d_L_d_ypred * d_ypred_d_w6
            b3 -= learn_rate * d_L_d_ypred * d_ypred_d_b3
        on_epoch(epoch, (w1, w2, w3, w4, w5, w6), (b1, b2, b3))


def _as_tutorial(params):
    """Engine arrays -> (w1..w6), (b1..b3): h1 = w1 x0 + w2 x1 + b1, and so on."""
    W0, W1 = params.weights
    b0, b1 = params.biases
    return (
        (W0[0, 0], W0[1, 0], W0[0, 1], W0[1, 1], W1[0, 0], W1[1, 0]),
        (b0[0, 0], b0[0, 1], b1[0, 0]),
    )


def test_gender_tutorial_matches_the_scalar_rule_after_every_epoch():
    data = gender()
    split = _split(data)
    net = Network(2, (2,), 1, "sigmoid", "sigmoid", bias=True)
    params = init_params(net, "normal", np.random.default_rng(0))
    w0, b0 = _as_tutorial(params)

    engine = {}
    train(
        net,
        params,
        OPTIMIZERS["gd"](params, 0.1),
        "mse",
        split,
        1000,
        batch_size=1,
        shuffle=False,
        log_every=1,
        on_log=lambda epoch, row: engine.__setitem__(epoch, _as_tutorial(params)),
    )
    assert sorted(engine) == list(range(1001))

    compared = []

    def compare(epoch, w, b):
        ew, eb = engine[epoch]
        np.testing.assert_allclose(ew, w, rtol=0, atol=1e-12, err_msg=f"epoch {epoch}")
        np.testing.assert_allclose(eb, b, rtol=0, atol=1e-12, err_msg=f"epoch {epoch}")
        compared.append(epoch)

    _gender_scalar_rule(w0, b0, split.X.tolist(), data.labels.tolist(), 1000, compare)
    assert compared == list(range(1, 1001))

    emily, frank = predict(net, params, data.transform(data.queries))[:, 0]
    assert emily > 0.9 and frank < 0.1
    np.testing.assert_array_equal(data.transform(data.queries), [[-7.0, -3.0], [20.0, 2.0]])


# --- divergence ------------------------------------------------------------------------


def _random_split(seed: int, rows: int, features: int, classes: int) -> Split:
    """Normal points with random labels, targets encoded for one output (two classes)
    or one-hot (more)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    labels = rng.integers(0, classes, rows)
    return Split(X, encode_targets(labels, 1 if classes == 2 else classes), labels)


def _regression_problem():
    return _random_split(0, rows=8, features=2, classes=2)


DIVERGING = Network(2, (3,), 1, "tanh", "identity", bias=True)


def _diverging_run(lr, log_every, epochs=500):
    params = init_params(DIVERGING, "normal", np.random.default_rng(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = train(
            DIVERGING,
            params,
            OPTIMIZERS["gd"](params, lr),
            "mse",
            _regression_problem(),
            epochs,
            log_every=log_every,
        )
    return history, params


def test_divergence_stops_a_single_network_at_the_epoch_it_happened():
    history, _ = _diverging_run(1e6, log_every=1)
    d = history.diverged_at
    assert isinstance(d, int) and 0 < d < 500
    assert history.epochs == list(range(d + 1))
    losses = history.columns["loss"]
    assert not np.isfinite(losses[-1])
    assert all(np.isfinite(losses[:-1]))


@pytest.mark.parametrize("log_every", [7, 50, 1000])
def test_divergence_epoch_does_not_depend_on_log_every(log_every):
    reference, ref_params = _diverging_run(1e6, log_every=1)
    history, params = _diverging_run(1e6, log_every=log_every)
    d = reference.diverged_at
    assert history.diverged_at == d
    assert history.epochs[-1] == d
    assert history.epochs == [e for e in range(0, d, log_every)] + [d]
    # The stretch was replayed to the exact epoch: same parameters as the reference.
    for a, b in zip(params.arrays(), ref_params.arrays()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shuffle", [False, True], ids=["ordered", "shuffled"])
@pytest.mark.parametrize("name", ["gd", "momentum"])
def test_divergence_replay_restores_optimizer_state_and_shuffling(name, shuffle):
    # Finding the exact epoch replays a stretch from a checkpoint: the velocity and the
    # shuffling generator must be rewound with the parameters.
    runs = []
    for log_every in (1, 9):
        rng = np.random.default_rng(1)
        params = init_params(DIVERGING, "normal", rng)
        history = train(
            DIVERGING,
            params,
            OPTIMIZERS[name](params, 1e6),
            "mse",
            _regression_problem(),
            500,
            batch_size=3 if shuffle else None,
            shuffle=shuffle,
            rng=rng,
            log_every=log_every,
        )
        runs.append((history, params, rng.random()))
    (dense, dense_params, dense_next), (sparse, sparse_params, sparse_next) = runs
    assert 1 < dense.diverged_at == sparse.diverged_at == sparse.epochs[-1]
    for a, b in zip(dense_params.arrays(), sparse_params.arrays()):
        np.testing.assert_array_equal(a, b)
    assert dense_next == sparse_next  # the generators stopped at the same draw


def test_divergence_with_relu_hidden_layers():
    data = _regression_problem()
    net = Network(2, (4, 4), 1, "relu", "identity", bias=True)
    params = init_params(net, "he", np.random.default_rng(2))
    history = train(net, params, OPTIMIZERS["gd"](params, 1e6), "mse", data, 300, log_every=10)
    assert 0 < history.diverged_at < 300 and history.epochs[-1] == history.diverged_at
    assert not np.isfinite(history.columns["loss"][-1])


def test_a_stable_run_never_diverges():
    history, params = _diverging_run(0.01, log_every=100, epochs=300)
    assert history.diverged_at == 0
    assert history.epochs == [0, 100, 200, 300]
    assert all(np.all(np.isfinite(p)) for p in params.arrays())


def test_one_diverging_replica_stops_alone():
    data = _regression_problem()
    lrs = np.array([0.01, 1e6, 0.05])
    stacked = stack([init_params(DIVERGING, "normal", np.random.default_rng(s)) for s in (1, 2, 3)])
    history = train(
        DIVERGING,
        stacked,
        OPTIMIZERS["gd"](stacked, lrs.reshape(-1, 1, 1)),
        "mse",
        data,
        400,
        log_every=50,
    )
    single_d = []
    for r, (s, lr) in enumerate(zip((1, 2, 3), lrs)):
        p = init_params(DIVERGING, "normal", np.random.default_rng(s))
        h = train(DIVERGING, p, OPTIMIZERS["gd"](p, float(lr)), "mse", data, 400, log_every=50)
        single_d.append(h.diverged_at)
        if h.diverged_at == 0:
            for a, b in zip(unstack(stacked, r).arrays(), p.arrays()):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert single_d[0] == 0 and single_d[1] > 0 and single_d[2] == 0
    np.testing.assert_array_equal(history.diverged_at, single_d)
    assert history.diverged_at.shape == (3,)
    # The others train to the end; the diverging replica's epoch is logged on the way.
    assert history.epochs[-1] == 400
    assert single_d[1] in history.epochs
    final = history.columns["loss"][-1]
    assert np.isfinite(final[0]) and np.isfinite(final[2]) and not np.isfinite(final[1])


def test_one_diverging_replica_among_shuffled_replicas():
    data = _regression_problem()
    seeds, lrs = (1, 2, 3), np.array([0.02, 1e6, 0.05])
    rngs = [np.random.default_rng(s) for s in seeds]
    stacked = stack([init_params(DIVERGING, "normal", r) for r in rngs])
    history = train(
        DIVERGING,
        stacked,
        OPTIMIZERS["momentum"](stacked, lrs.reshape(-1, 1, 1)),
        "mse",
        data,
        120,
        batch_size=3,
        shuffle=True,
        rng=rngs,
        log_every=25,
    )
    assert history.epochs[-1] == 120
    for r, (s, lr) in enumerate(zip(seeds, lrs)):
        rng = np.random.default_rng(s)
        p = init_params(DIVERGING, "normal", rng)
        h = train(
            DIVERGING,
            p,
            OPTIMIZERS["momentum"](p, float(lr)),
            "mse",
            data,
            120,
            batch_size=3,
            shuffle=True,
            rng=rng,
            log_every=25,
        )
        assert history.diverged_at[r] == h.diverged_at
        if h.diverged_at == 0:
            for a, b in zip(unstack(stacked, r).arrays(), p.arrays()):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert history.diverged_at[1] > 0 and history.diverged_at[0] == history.diverged_at[2] == 0


def test_all_replicas_diverging_stops_the_run():
    data = _regression_problem()
    stacked = stack([init_params(DIVERGING, "normal", np.random.default_rng(s)) for s in (1, 2)])
    history = train(
        DIVERGING, stacked, OPTIMIZERS["gd"](stacked, 1e6), "mse", data, 5000, log_every=100
    )
    assert np.all(history.diverged_at > 0)
    assert history.epochs[-1] < 5000


# --- logging ---------------------------------------------------------------------------


def _small_run(epochs, log_every, **kwargs):
    data = _split(red_blue())
    net = Network(2, (3,), 1, "tanh", "sigmoid", bias=True)
    params = init_params(net, "normal", np.random.default_rng(0))
    calls = []
    history = train(
        net,
        params,
        OPTIMIZERS["gd"](params, 0.5),
        "bce",
        data,
        epochs,
        log_every=log_every,
        on_log=lambda e, row: calls.append((e, row)),
        **kwargs,
    )
    return history, params, calls


@pytest.mark.parametrize(
    "epochs,log_every,expected",
    [
        (25, 10, [0, 10, 20, 25]),
        (20, 10, [0, 10, 20]),
        (5, 1, [0, 1, 2, 3, 4, 5]),
        (3, 100, [0, 3]),
        (0, 1, [0]),
    ],
)
def test_log_every_rows_and_the_last_epoch(epochs, log_every, expected):
    history, _, calls = _small_run(epochs, log_every)
    assert history.epochs == expected
    assert [e for e, _ in calls] == expected
    for name, column in history.columns.items():
        assert len(column) == len(expected), name
    assert set(history.columns) == {"loss", "accuracy", "lr", "seconds"}
    assert history.columns["lr"][-1] == 0.5
    assert history.seconds >= history.columns["seconds"][-1] >= 0


def test_logged_rows_do_not_depend_on_log_every():
    dense, dense_params, _ = _small_run(21, 1)
    sparse, sparse_params, _ = _small_run(21, 7)
    for i, epoch in enumerate(sparse.epochs):
        assert sparse.columns["loss"][i] == dense.columns["loss"][epoch]
        assert sparse.columns["accuracy"][i] == dense.columns["accuracy"][epoch]
    for a, b in zip(dense_params.arrays(), sparse_params.arrays()):
        np.testing.assert_array_equal(a, b)


def test_logged_loss_is_the_loss_of_the_parameters_at_that_epoch():
    data = _split(red_blue())
    net = Network(2, (3,), 1, "tanh", "sigmoid", bias=True)
    params = init_params(net, "normal", np.random.default_rng(0))
    start = params.copy()
    seen = {}
    train(
        net,
        params,
        OPTIMIZERS["gd"](params, 0.5),
        "bce",
        data,
        4,
        on_log=lambda e, row: seen.__setitem__(e, (row, params.copy())),
    )
    row0, p0 = seen[0]
    assert row0["loss"] == LOSSES["bce"].value(predict(net, start, data.X), data.Y)
    for _epoch, (row, p) in seen.items():
        out = predict(net, p, data.X)
        assert row["loss"] == LOSSES["bce"].value(out, data.Y)
        assert row["accuracy"] == accuracy(out, data.labels)


def test_validation_metrics():
    ds = red_blue()
    rng = np.random.default_rng(5)
    Xv = rng.uniform(-3, 3, size=(6, 2))
    labels_v = (Xv[:, 0] > 0).astype(int)
    val = Split(Xv, encode_targets(labels_v, 1), labels_v)
    history, params, calls = _small_run(30, 10, validation=val)
    net = Network(2, (3,), 1, "tanh", "sigmoid", bias=True)
    assert set(history.columns) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert len(history.columns["val_loss"]) == len(history.epochs) == 4
    out = predict(net, params, Xv)
    assert history.columns["val_loss"][-1] == LOSSES["bce"].value(out, val.Y)
    assert history.columns["val_accuracy"][-1] == accuracy(out, labels_v)
    assert calls[-1][1]["val_loss"] == history.columns["val_loss"][-1]
    # Validation never trains: the parameters equal a run without it.
    _, plain, _ = _small_run(30, 10)
    for a, b in zip(params.arrays(), plain.arrays()):
        np.testing.assert_array_equal(a, b)
    assert ds.n_classes == 2


# --- batches and shuffling -------------------------------------------------------------


def _batch_problem():
    return _random_split(8, rows=7, features=3, classes=3)


BATCH_NET = Network(3, (4,), 3, "relu", "softmax", bias=True)


def _manual_epochs(params, data, lr, epochs, batch_size, rng=None):
    """The loop written out: batches in dataset order, or in rng.permutation order."""
    delta_of = output_delta(BATCH_NET, "cross_entropy")
    n = len(data.X)
    for _ in range(epochs):
        order = np.arange(n) if rng is None else rng.permutation(n)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            acts = forward(BATCH_NET, params, data.X[idx])
            grads = backward(BATCH_NET, params, acts, delta_of(acts[-1], data.Y[idx]))
            for p, g in zip(params.arrays(), grads.arrays()):
                p -= lr * g


@pytest.mark.parametrize("shuffle", [False, True])
def test_mini_batches_follow_the_written_out_loop(shuffle):
    data = _batch_problem()
    params = init_params(BATCH_NET, "normal", np.random.default_rng(0))
    manual = params.copy()
    train(
        BATCH_NET,
        params,
        OPTIMIZERS["gd"](params, 0.2),
        "cross_entropy",
        data,
        15,
        batch_size=3,
        shuffle=shuffle,
        rng=np.random.default_rng(42) if shuffle else None,
    )
    _manual_epochs(manual, data, 0.2, 15, 3, np.random.default_rng(42) if shuffle else None)
    for a, b in zip(params.arrays(), manual.arrays()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _shuffled_run(seed, name="momentum"):
    data = _batch_problem()
    rng = np.random.default_rng(seed)
    params = init_params(BATCH_NET, "he", rng)
    history = train(
        BATCH_NET,
        params,
        OPTIMIZERS[name](params, 0.05),
        "cross_entropy",
        data,
        30,
        batch_size=2,
        shuffle=True,
        rng=rng,
        log_every=5,
    )
    return history, params


def test_shuffled_mini_batch_runs_reproduce_with_the_same_seed():
    h1, p1 = _shuffled_run(11)
    h2, p2 = _shuffled_run(11)
    for a, b in zip(p1.arrays(), p2.arrays()):
        np.testing.assert_array_equal(a, b)
    assert h1.epochs == h2.epochs
    assert h1.columns["loss"] == h2.columns["loss"]
    h3, p3 = _shuffled_run(12)
    assert not np.array_equal(p1.weights[0], p3.weights[0])


def test_shuffling_changes_the_order_but_batch_size_none_is_full_batch():
    data = _batch_problem()
    full = init_params(BATCH_NET, "normal", np.random.default_rng(0))
    by_n = full.copy()
    shuffled = full.copy()
    train(BATCH_NET, full, OPTIMIZERS["gd"](full, 0.2), "cross_entropy", data, 10)
    train(
        BATCH_NET,
        by_n,
        OPTIMIZERS["gd"](by_n, 0.2),
        "cross_entropy",
        data,
        10,
        batch_size=len(data.X),
    )
    train(
        BATCH_NET,
        shuffled,
        OPTIMIZERS["gd"](shuffled, 0.2),
        "cross_entropy",
        data,
        10,
        batch_size=3,
        shuffle=True,
        rng=np.random.default_rng(1),
    )
    for a, b in zip(full.arrays(), by_n.arrays()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(full.weights[0], shuffled.weights[0])


# --- helpers ---------------------------------------------------------------------------


def test_encode_targets_and_accuracy():
    labels = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(
        encode_targets(labels, 3), [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]
    )
    np.testing.assert_array_equal(encode_targets(np.array([1, 0]), 1), [[1.0], [0.0]])
    assert encode_targets(np.array([1, 0]), 1, dtype=np.float32).dtype == np.float32
    out = np.array([[0.6], [0.5], [0.49], [0.1]])
    assert accuracy(out, np.array([1, 1, 1, 0])) == 0.75  # 0.5 counts as class 1
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert accuracy(probs, np.array([0, 1])) == 0.5
    stacked = np.stack([out, 1 - out])  # (R, n, 1)
    np.testing.assert_array_equal(accuracy(stacked, np.array([1, 1, 1, 0])), [0.75, 0.5])


def test_evaluate_prefixes_its_keys():
    data = _split(boolean_triples())
    net = Network(3, (), 1, "sigmoid", "sigmoid", bias=False)
    params = init_params(net, "uniform", np.random.RandomState(1))
    row = evaluate(net, params, "sse", data, prefix="val_")
    assert set(row) == {"val_loss", "val_accuracy"}
    out = sigmoid(data.X @ params.weights[0])
    assert row["val_loss"] == pytest.approx(0.5 * np.sum((out - data.Y) ** 2), rel=1e-15)


def test_history_append_keeps_columns_aligned():
    h = History()
    h.append(0, {"loss": 1.0})
    h.append(5, {"loss": 0.5})
    assert h.epochs == [0, 5] and h.columns == {"loss": [1.0, 0.5]}


# --- early stopping and the best weights ------------------------------------------------


def _overfitting_problem(seed: int = 0):
    """A wide network on 40 noisy points with a held-out half: validation loss bottoms
    out and climbs while the training loss keeps falling."""
    from nnexp.core.data import generate, hold_out, standardized

    data = standardized(hold_out(generate("spiral", 80, 0.6, seed=3), 0.5, seed=0))
    net = Network(2, (32,), 1, "tanh", "sigmoid")

    def fresh():
        params = init_params(net, "xavier", np.random.default_rng(seed))
        opt = OPTIMIZERS["adam"](params, 0.05)
        return params, opt

    tr = Split(data.transform(data.X), encode_targets(data.labels, 1), data.labels)
    va = Split(data.transform(data.X_val), encode_targets(data.labels_val, 1), data.labels_val)
    return net, fresh, tr, va


def test_early_stopping_stops_patience_epochs_after_the_best_and_restores_it():
    net, fresh, tr, va = _overfitting_problem()
    params, opt = fresh()
    h = train(
        net,
        params,
        opt,
        "bce",
        tr,
        2000,
        log_every=5,
        validation=va,
        patience=50,
        restore_best=True,
    )
    val = np.array(h.columns["val_loss"])
    assert h.stopped_at and h.stopped_at < 2000 and h.epochs[-1] == h.stopped_at
    assert h.stopped_at - h.best_epoch == 50
    assert val[h.epochs.index(h.best_epoch)] == val.min() and h.restored
    # The restored weights are exactly those of a run trained for best_epoch epochs.
    _assert_weights_of_a_run_of(net, fresh, tr, h.best_epoch, params)


def test_without_restore_best_the_stop_epochs_weights_are_kept():
    net, fresh, tr, va = _overfitting_problem()
    params, opt = fresh()
    h = train(net, params, opt, "bce", tr, 2000, log_every=5, validation=va, patience=50)
    assert h.stopped_at and not h.restored
    _assert_weights_of_a_run_of(net, fresh, tr, h.stopped_at, params)


def _assert_weights_of_a_run_of(net, fresh, tr, epochs: int, params) -> None:
    """``params`` are bit for bit those of a fresh run trained ``epochs`` epochs alone."""
    again, opt = fresh()
    train(net, again, opt, "bce", tr, epochs, log_every=5)
    for a, b in zip(params.arrays(), again.arrays()):
        np.testing.assert_array_equal(a, b)


def test_replicas_stop_and_restore_each_as_its_own_run():
    net, fresh, tr, va = _overfitting_problem()
    singles, params_list = [], []
    lrs = [0.05, 0.01, 0.2]
    for lr in lrs:
        p = init_params(net, "xavier", np.random.default_rng(0))
        params_list.append([a.copy() for a in p.arrays()])
        h = train(
            net,
            p,
            OPTIMIZERS["adam"](p, lr),
            "bce",
            tr,
            600,
            log_every=5,
            validation=va,
            patience=40,
            restore_best=True,
        )
        singles.append((p, h))
    stacked_params = stack([init_params(net, "xavier", np.random.default_rng(0)) for _ in lrs])
    opt = OPTIMIZERS["adam"](stacked_params, np.array(lrs).reshape(-1, 1, 1))
    h = train(
        net,
        stacked_params,
        opt,
        "bce",
        tr,
        600,
        log_every=5,
        validation=va,
        patience=40,
        restore_best=True,
    )
    assert list(h.stopped_at) == [s.stopped_at for _, s in singles]
    assert list(h.best_epoch) == [s.best_epoch for _, s in singles]
    assert len(set(h.stopped_at)) > 1
    for r, (p, _) in enumerate(singles):
        for a, b in zip(unstack(stacked_params, r).arrays(), p.arrays()):
            np.testing.assert_array_equal(a, b)
