"""Update rules: hand-worked steps, weight decay on weights only, and per-replica
coefficients that make R stacked replicas train exactly like R separate networks."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core.network import Network, Params, init_params
from nnexp.core.optim import OPTIMIZERS, Adam, GradientDescent, Momentum, coefficients
from nnexp.core.stacked import stack, unstack
from nnexp.core.train import Split, _folded_lr, encode_targets, train


def _scalar_params(w: float, b: float) -> Params:
    return Params([np.array([[w]])], [np.array([[b]])])


def _grads(gw: float, gb: float) -> Params:
    return _scalar_params(gw, gb)


# --- one hand-worked step --------------------------------------------------------------


def test_gd_step_on_a_one_layer_network_by_hand():
    # z = x . w + b, identity output, mse over 3 samples: dL/dw_j = 2/3 sum_i (z_i - y_i) x_ij.
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-2.0, 0.0]])
    y = np.array([1.0, 0.0, 2.0])
    w, b, lr = [0.3, -0.2], 0.1, 0.05
    err = [X[i, 0] * w[0] + X[i, 1] * w[1] + b - y[i] for i in range(3)]
    gw = [2 / 3 * sum(err[i] * X[i, j] for i in range(3)) for j in range(2)]
    gb = 2 / 3 * sum(err)
    expected_w = [w[j] - lr * gw[j] for j in range(2)]
    expected_b = b - lr * gb

    net = Network(2, (), 1, "identity", "identity", bias=True)
    params = Params([np.array([[w[0]], [w[1]]])], [np.array([[b]])])
    train(
        net,
        params,
        OPTIMIZERS["gd"](params, lr),
        "mse",
        Split(X, y.reshape(-1, 1), np.zeros(3, int)),
        epochs=1,
    )
    np.testing.assert_allclose(params.weights[0].ravel(), expected_w, rtol=1e-14)
    np.testing.assert_allclose(params.biases[0].ravel(), [expected_b], rtol=1e-14)


def test_gd_applies_lr_and_weight_decay():
    p = _scalar_params(1.0, 1.0)
    GradientDescent(p, 0.5).step(p, _grads(0.2, -0.4))
    assert p.weights[0][0, 0] == 1.0 - 0.5 * 0.2 and p.biases[0][0, 0] == 1.0 + 0.5 * 0.4
    p = _scalar_params(1.0, 1.0)
    GradientDescent(p, 0.5, weight_decay=0.1).step(p, _grads(0.2, -0.4))
    assert p.weights[0][0, 0] == pytest.approx(1.0 - 0.5 * (0.2 + 0.1 * 1.0), rel=1e-15)
    assert p.biases[0][0, 0] == pytest.approx(1.0 + 0.5 * 0.4, rel=1e-15)


def test_train_folds_lr_into_the_delta_only_for_plain_gradient_descent():
    p = _scalar_params(1.0, 1.0)
    assert _folded_lr(GradientDescent(p, 0.5)) == 0.5
    # A unit step has nothing to scale; decay and the other rules need the raw gradient.
    assert _folded_lr(GradientDescent(p, 1.0)) is None
    assert _folded_lr(GradientDescent(p, 0.5, weight_decay=0.1)) is None
    for name in ("momentum", "adam"):
        assert _folded_lr(OPTIMIZERS[name](p, 0.5)) is None


def test_each_rule_takes_only_its_own_coefficients():
    p = _scalar_params(1.0, 1.0)
    assert coefficients(GradientDescent) == ("lr", "weight_decay")
    assert coefficients(Momentum) == ("lr", "weight_decay", "momentum")
    assert coefficients(Adam) == ("lr", "weight_decay", "beta1", "beta2", "eps")
    with pytest.raises(TypeError, match="momentum"):
        GradientDescent(p, 0.5, momentum=0.9)
    with pytest.raises(TypeError, match="beta1"):
        Momentum(p, 0.5, beta1=0.9)


def test_momentum_two_steps_by_hand():
    lr, mu = 0.1, 0.9
    p = _scalar_params(1.0, -1.0)
    opt = Momentum(p, lr, momentum=mu)
    opt.step(p, _grads(0.5, 2.0))
    # v1 = g1; p1 = p0 - lr v1
    assert p.weights[0][0, 0] == pytest.approx(1.0 - lr * 0.5, rel=1e-15)
    assert p.biases[0][0, 0] == pytest.approx(-1.0 - lr * 2.0, rel=1e-15)
    opt.step(p, _grads(-1.0, 1.0))
    # v2 = mu v1 + g2; p2 = p1 - lr v2
    assert p.weights[0][0, 0] == pytest.approx(1.0 - lr * 0.5 - lr * (mu * 0.5 - 1.0), rel=1e-15)
    assert p.biases[0][0, 0] == pytest.approx(-1.0 - lr * 2.0 - lr * (mu * 2.0 + 1.0), rel=1e-15)


def test_adam_two_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p = _scalar_params(0.5, 0.0)
    opt = Adam(p, lr, beta1=b1, beta2=b2, eps=eps)
    w, m, v = 0.5, 0.0, 0.0
    for t, g in enumerate([0.3, -0.1], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)) ** 0.5 + eps)
        opt.step(p, _grads(g, 0.0))
        assert p.weights[0][0, 0] == pytest.approx(w, rel=1e-14)
        assert opt.t == t
    # The first step moves by almost exactly lr, whatever the gradient's size.
    q = _scalar_params(0.0, 0.0)
    Adam(q, lr).step(q, _grads(1e-3, -50.0))
    assert q.weights[0][0, 0] == pytest.approx(-lr, rel=1e-5)
    assert q.biases[0][0, 0] == pytest.approx(lr, rel=1e-9)


def test_adam_minimises_a_quadratic():
    # f(w) = (w - 3)^2 from w = 0.
    p = _scalar_params(0.0, 0.0)
    opt = Adam(p, 0.1)
    for _ in range(2000):
        w = p.weights[0][0, 0]
        opt.step(p, _grads(2 * (w - 3.0), 0.0))
    assert p.weights[0][0, 0] == pytest.approx(3.0, abs=1e-3)


# --- weight decay ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_weight_decay_shrinks_weights_and_leaves_biases(name):
    lr, wd = 0.1, 0.5
    p = Params([np.array([[2.0, -4.0]])], [np.array([[3.0, -1.0]])])
    opt = OPTIMIZERS[name](p, lr, weight_decay=wd)
    zero = Params([np.zeros((1, 2))], [np.zeros((1, 2))])
    opt.step(p, zero)
    np.testing.assert_array_equal(p.biases[0], [[3.0, -1.0]])
    if name == "adam":
        # Adam normalises the decay gradient: a first step of lr against the weight's sign.
        np.testing.assert_allclose(p.weights[0], [[2.0 - lr, -4.0 + lr]], rtol=1e-6)
    else:
        np.testing.assert_allclose(
            p.weights[0], [[2.0 * (1 - lr * wd), -4.0 * (1 - lr * wd)]], rtol=1e-15
        )


def test_weight_decay_inside_train_matches_the_hand_rule():
    rng = np.random.default_rng(0)
    net = Network(3, (), 1, "sigmoid", "sigmoid", bias=True)
    X, labels = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    data = Split(X, encode_targets(labels, 1), labels)
    plain = init_params(net, "normal", np.random.default_rng(1))
    decayed = plain.copy()
    start = plain.copy()
    train(net, plain, GradientDescent(plain, 0.3), "bce", data, 1)
    train(net, decayed, GradientDescent(decayed, 0.3, weight_decay=0.2), "bce", data, 1)
    # Same data gradient, so the difference is exactly the decay term lr * wd * W0.
    np.testing.assert_allclose(
        decayed.weights[0], plain.weights[0] - 0.3 * 0.2 * start.weights[0], rtol=1e-13
    )
    np.testing.assert_allclose(decayed.biases[0], plain.biases[0], rtol=1e-13)


# --- per-replica coefficients ----------------------------------------------------------

LRS = [0.05, 0.5, 2.0]
SEEDS = [3, 4, 5]
NET = Network(2, (4,), 1, "tanh", "sigmoid", bias=True)


def _data() -> Split:
    rng = np.random.default_rng(100)
    X = rng.normal(size=(7, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    return Split(X, encode_targets(labels, 1), labels)


def _assert_replicas_equal_singles(stacked: Params, singles: list[Params]) -> None:
    # Bit for bit: stacking changes where each replica's numbers live, never how they
    # are rounded (the batched launcher promises 1e-12; in fact it keeps every bit).
    for r, single in enumerate(singles):
        for a, b in zip(unstack(stacked, r).arrays(), single.arrays()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_stacked_replicas_with_their_own_lr_train_like_single_networks(name, weight_decay):
    lr = 0.01 * np.array(LRS) if name == "adam" else np.array(LRS)
    data = _data()
    stacked = stack([init_params(NET, "normal", np.random.default_rng(s)) for s in SEEDS])
    opt = OPTIMIZERS[name](stacked, lr.reshape(-1, 1, 1), weight_decay=weight_decay)
    history = train(NET, stacked, opt, "bce", data, 60, log_every=20)
    assert np.shape(history.columns["loss"][-1]) == (3,)
    singles = []
    for s, rate in zip(SEEDS, lr):
        p = init_params(NET, "normal", np.random.default_rng(s))
        single_history = train(
            NET,
            p,
            OPTIMIZERS[name](p, float(rate), weight_decay=weight_decay),
            "bce",
            data,
            60,
            log_every=20,
        )
        singles.append(p)
        r = len(singles) - 1
        np.testing.assert_allclose(
            [row[r] for row in history.columns["loss"]], single_history.columns["loss"], rtol=1e-12
        )
    _assert_replicas_equal_singles(stacked, singles)
    # The replicas really differ.
    assert not np.allclose(stacked.weights[0][0], stacked.weights[0][1])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_stacked_shuffled_mini_batches_train_like_single_networks(name):
    lr = 0.01 * np.array(LRS) if name == "adam" else np.array(LRS)
    data = _data()
    # Each replica's generator draws its parameters first, then shuffles its batches.
    rngs = [np.random.default_rng(s) for s in SEEDS]
    stacked = stack([init_params(NET, "normal", r) for r in rngs])
    opt = OPTIMIZERS[name](stacked, lr.reshape(-1, 1, 1))
    train(NET, stacked, opt, "bce", data, 40, batch_size=2, shuffle=True, rng=rngs)
    singles = []
    for s, rate in zip(SEEDS, lr):
        rng = np.random.default_rng(s)
        p = init_params(NET, "normal", rng)
        train(
            NET,
            p,
            OPTIMIZERS[name](p, float(rate)),
            "bce",
            data,
            40,
            batch_size=2,
            shuffle=True,
            rng=rng,
        )
        singles.append(p)
    _assert_replicas_equal_singles(stacked, singles)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "name,coefficients",
    [
        ("momentum", {"momentum": [0.0, 0.5, 0.9]}),
        (
            "adam",
            {"beta1": [0.8, 0.9, 0.95], "beta2": [0.99, 0.999, 0.9999], "eps": [1e-8, 1e-7, 1e-6]},
        ),
        ("gd", {"weight_decay": [0.01, 0.05, 0.1]}),
    ],
    ids=["momentum", "adam", "weight_decay"],
)
def test_per_replica_coefficients_give_each_replica_its_own_bits(name, coefficients, dtype):
    # Each replica's own run holds its coefficients as Python floats; the stacked run
    # must round and derive them (1 - beta, beta ** t) exactly as that run does.
    data = _data()
    data = Split(data.X.astype(dtype), data.Y.astype(dtype), data.labels)
    stacked = stack(
        [init_params(NET, "normal", np.random.default_rng(s), dtype=dtype) for s in SEEDS]
    )
    per_replica = {k: np.array(v).reshape(-1, 1, 1) for k, v in coefficients.items()}
    train(NET, stacked, OPTIMIZERS[name](stacked, 0.05, **per_replica), "bce", data, 60)
    singles = []
    for r, s in enumerate(SEEDS):
        p = init_params(NET, "normal", np.random.default_rng(s), dtype=dtype)
        own = {k: float(v[r]) for k, v in coefficients.items()}
        train(NET, p, OPTIMIZERS[name](p, 0.05, **own), "bce", data, 60)
        singles.append(p)
    _assert_replicas_equal_singles(stacked, singles)


def test_momentum_zero_is_plain_gradient_descent():
    data = _data()
    a = init_params(NET, "normal", np.random.default_rng(0))
    b = a.copy()
    train(NET, a, Momentum(a, 0.3, momentum=0.0), "bce", data, 25)
    train(NET, b, GradientDescent(b, 0.3), "bce", data, 25)
    for x, y in zip(a.arrays(), b.arrays()):
        np.testing.assert_allclose(x, y, rtol=1e-12)
