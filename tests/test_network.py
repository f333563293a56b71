"""Parameters, initialisation, forward and backward: backward's gradients against
central finite differences for every hidden activation x every loss x bias x depth."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

from nnexp.core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nnexp.core.losses import LOSSES
from nnexp.core.network import (
    INITIALIZERS,
    Buffers,
    Network,
    Params,
    backward,
    forward,
    init_params,
    predict,
)
from nnexp.core.stacked import stack, unstack
from nnexp.core.train import encode_targets, output_delta

STEP = 1e-6
N, D = 5, 3
KINK_MARGIN = 1e-4
DEPTHS = {"depth0": (), "depth1": (3,), "depth2": (3, 2)}

# Each loss with the output layers it is naturally used with: (activation, outputs).
NATURAL_OUTPUTS = {
    "sse": [("sigmoid", 1), ("identity", 1), ("softmax", 3)],
    "mse": [("sigmoid", 1), ("identity", 1), ("softmax", 3)],
    "bce": [("sigmoid", 1), ("sigmoid", 2)],
    "cross_entropy": [("softmax", 3)],
}
# A loss added to the table without an entry above is still checked, on a sigmoid output.
OUTPUT_CASES = [
    (loss, act, k) for loss in LOSSES for act, k in NATURAL_OUTPUTS.get(loss, [("sigmoid", 1)])
]


def _targets(rng, n: int, k: int, output_activation: str) -> np.ndarray:
    if output_activation == "softmax":
        return encode_targets(rng.integers(0, k, n), k)
    return rng.integers(0, 2, (n, k)).astype(np.float64)


def _pre_activations(net: Network, params: Params, X: np.ndarray) -> list[np.ndarray]:
    """z of every hidden layer, computed independently of ``forward``."""
    zs, a = [], X
    biases = params.biases or [0.0] * net.n_layers
    for W, b, act in zip(params.weights[:-1], biases, net.activations):
        z = a @ W + b
        zs.append(z)
        a = act.function(z)
    return zs


def _problem(net: Network, seed: int):
    """Data, targets and parameters whose hidden pre-activations keep clear of 0, where
    relu and leaky_relu have kinks, and where every hidden unit is positive for some
    sample, so no relu unit is dead (redrawn until both hold). A mostly dead network's
    gradient is so small that finite differences' round-off would be all it measured."""
    for attempt in range(100):
        rng = np.random.default_rng([seed, attempt])
        X = rng.normal(size=(N, net.n_inputs))
        Y = _targets(rng, N, net.n_outputs, net.output_activation)
        params = init_params(net, "normal", rng, scale=0.5)
        zs = _pre_activations(net, params, X)
        if all(np.all(np.abs(z) > KINK_MARGIN) and np.all(np.any(z > 0, axis=0)) for z in zs):
            return X, Y, params
    raise AssertionError("no kink-free draw")


def _loss_value(net, params, X, Y, loss):
    with np.errstate(over="ignore"):
        return LOSSES[loss].value(forward(net, params, X)[-1], Y)


def _numeric_gradients(net, params, X, Y, loss) -> list[np.ndarray]:
    grads = []
    for p in params.arrays():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + STEP
            plus = _loss_value(net, params, X, Y, loss)
            p[i] = keep - STEP
            minus = _loss_value(net, params, X, Y, loss)
            p[i] = keep
            g[i] = (plus - minus) / (2 * STEP)
        grads.append(g)
    return grads


def _analytic_gradients(net, params, X, Y, loss) -> Params:
    acts = forward(net, params, X)
    delta = output_delta(net, loss)(acts[-1], Y)
    return backward(net, params, acts, delta)


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


@pytest.mark.parametrize("depth", list(DEPTHS))
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize(
    "loss,output_activation,k", OUTPUT_CASES, ids=[f"{l}-{a}{k}" for l, a, k in OUTPUT_CASES]
)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_backward_matches_finite_differences(activation, loss, output_activation, k, bias, depth):
    net = Network(D, DEPTHS[depth], k, activation, output_activation, bias)
    # A fixed seed a case (str hashes change between processes; crc32 does not).
    seed = zlib.crc32(f"{activation}-{loss}-{output_activation}{k}-{bias}-{depth}".encode())
    X, Y, params = _problem(net, seed)
    analytic = _analytic_gradients(net, params, X, Y, loss)
    assert [g.shape for g in analytic.arrays()] == [p.shape for p in params.arrays()]
    assert len(analytic.biases) == (net.n_layers if bias else 0)
    numeric = _numeric_gradients(net, params, X, Y, loss)
    # Over the whole gradient: a nearly dead layer's tiny entries would otherwise be
    # judged on finite differences' own round-off (about 1e-10 with this step).
    flat_a = np.concatenate([g.ravel() for g in analytic.arrays()])
    flat_n = np.concatenate([g.ravel() for g in numeric])
    assert _relative_error(flat_a, flat_n) < 1e-6, (flat_a, flat_n)
    # The gradient is not trivially zero everywhere.
    assert any(np.any(g != 0) for g in analytic.arrays())


def test_gradient_check_covers_every_table_entry():
    checked = {(l, a) for l, a, _ in OUTPUT_CASES}
    assert {l for l, _ in checked} == set(LOSSES)
    assert {a for _, a in checked} | set(HIDDEN_ACTIVATIONS) == set(ACTIVATIONS)


# --- the architecture and its parameters -----------------------------------------------


def test_network_sizes_and_activations():
    net = Network(2, (4, 3), 1, "tanh", "sigmoid")
    assert net.sizes == [2, 4, 3, 1]
    assert net.n_layers == 3
    assert net.activations == [ACTIVATIONS["tanh"]] * 2 + [ACTIVATIONS["sigmoid"]]
    assert Network(3, (), 1).activations == [ACTIVATIONS["sigmoid"]]


@pytest.mark.parametrize("init", list(INITIALIZERS))
@pytest.mark.parametrize("bias", [True, False])
def test_init_params_shapes_and_determinism(init, bias):
    net = Network(3, (4, 2), 2, bias=bias)
    p = init_params(net, init, np.random.default_rng(7))
    assert [w.shape for w in p.weights] == [(3, 4), (4, 2), (2, 2)]
    assert [b.shape for b in p.biases] == ([(1, 4), (1, 2), (1, 2)] if bias else [])
    assert all(a.dtype == np.float64 for a in p.arrays())
    again = init_params(net, init, np.random.default_rng(7))
    for a, b in zip(p.arrays(), again.arrays()):
        np.testing.assert_array_equal(a, b)
    other = init_params(net, init, np.random.default_rng(8))
    assert not np.array_equal(p.weights[0], other.weights[0])
    if bias and not INITIALIZERS[init].random_bias:
        assert all(np.all(b == 0) for b in p.biases)


def test_init_draws_every_weight_matrix_then_every_bias():
    # The gender tutorial's order (w1..w6, then b1..b3) maps onto this one.
    net = Network(2, (2,), 1, bias=True)
    p = init_params(net, "normal", np.random.default_rng(0))
    rng = np.random.default_rng(0)
    expected = [
        rng.standard_normal((2, 2)),
        rng.standard_normal((2, 1)),
        rng.standard_normal((1, 2)),
        rng.standard_normal((1, 1)),
    ]
    for a, b in zip(p.arrays(), expected):
        np.testing.assert_array_equal(a, b)


def test_uniform_init_is_the_tutorials_draw():
    net = Network(2, (4,), 1, bias=False)
    p = init_params(net, "uniform", np.random.RandomState(1))
    rs = np.random.RandomState(1)
    np.testing.assert_array_equal(p.weights[0], 2 * rs.random((2, 4)) - 1)
    np.testing.assert_array_equal(p.weights[1], 2 * rs.random((4, 1)) - 1)
    # "Stage 1) Random starting synaptic weights" of the red/blue tutorial.
    np.testing.assert_array_equal(
        p.weights[0].round(8),
        [
            [-0.16595599, 0.44064899, -0.99977125, -0.39533485],
            [-0.70648822, -0.81532281, -0.62747958, -0.30887855],
        ],
    )
    np.testing.assert_array_equal(
        p.weights[1].round(8), [[-0.20646505], [0.07763347], [-0.16161097], [0.370439]]
    )


def test_init_scale_and_ranges():
    net = Network(50, (40,), 30, bias=True)
    rng = np.random.default_rng(9)
    u = init_params(net, "uniform", rng)
    assert all(np.all((a >= -1) & (a < 1)) for a in u.arrays())
    s = init_params(net, "normal", np.random.default_rng(10), scale=0.5)
    full = init_params(net, "normal", np.random.default_rng(10))
    for a, b in zip(s.arrays(), full.arrays()):
        np.testing.assert_array_equal(a, 0.5 * b)
    x = init_params(net, "xavier", rng)
    assert np.abs(x.weights[0]).max() <= np.sqrt(6 / 90)
    h = init_params(Network(2000, (), 100), "he", rng)
    assert h.weights[0].std() == pytest.approx(np.sqrt(2 / 2000), rel=0.02)
    f32 = init_params(net, "normal", rng, dtype=np.float32)
    assert all(a.dtype == np.float32 for a in f32.arrays())


def test_params_copy_is_deep():
    p = init_params(Network(2, (3,), 1), "normal", np.random.default_rng(0))
    c = p.copy()
    c.weights[0][0, 0] += 1.0
    c.biases[0][0, 0] += 1.0
    assert p.weights[0][0, 0] != c.weights[0][0, 0]
    assert p.biases[0][0, 0] != c.biases[0][0, 0]
    assert len(p.arrays()) == 4


def test_stack_and_unstack_round_trip():
    net = Network(3, (4,), 2, bias=True)
    singles = [init_params(net, "normal", np.random.default_rng(s)) for s in range(3)]
    stacked = stack(singles)
    assert [w.shape for w in stacked.weights] == [(3, 3, 4), (3, 4, 2)]
    assert [b.shape for b in stacked.biases] == [(3, 1, 4), (3, 1, 2)]
    for r, single in enumerate(singles):
        back = unstack(stacked, r)
        for a, b in zip(back.arrays(), single.arrays()):
            np.testing.assert_array_equal(a, b)
    assert (
        stack(
            [init_params(Network(2, (), 1, bias=False), "normal", np.random.default_rng(0))] * 2
        ).biases
        == []
    )


# --- forward and backward --------------------------------------------------------------


def test_forward_by_hand():
    net = Network(2, (2,), 1, "relu", "identity", bias=True)
    p = Params(
        [np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([[3.0], [-2.0]])],
        [np.array([[0.5, -4.0]]), np.array([[0.25]])],
    )
    X = np.array([[1.0, 1.0], [-1.0, 2.0]])
    acts = forward(net, p, X)
    assert acts[0] is X
    # z1 = X @ W0 + b0 = [[3.5, -4.5], [3.5, -2]] -> relu -> [[3.5, 0], [3.5, 0]].
    np.testing.assert_array_equal(acts[1], [[3.5, 0.0], [3.5, 0.0]])
    np.testing.assert_array_equal(acts[2], [[10.75], [10.75]])
    np.testing.assert_array_equal(predict(net, p, X), acts[2])


def test_forward_and_backward_leave_their_inputs_alone():
    net = Network(3, (4,), 2, "tanh", "softmax", bias=True)
    rng = np.random.default_rng(3)
    p = init_params(net, "normal", rng)
    X = rng.normal(size=(5, 3))
    Y = encode_targets(rng.integers(0, 2, 5), 2)
    before = [a.copy() for a in [X, *p.arrays()]]
    acts = forward(net, p, X)
    acts_before = [a.copy() for a in acts]
    delta = output_delta(net, "cross_entropy")(acts[-1], Y)
    delta_before = delta.copy()
    backward(net, p, acts, delta)
    for a, b in zip([X, *p.arrays()], before):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(acts, acts_before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(delta, delta_before)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("replicas", [None, 3], ids=["single", "stacked"])
@pytest.mark.parametrize("shared_X", [True, False], ids=["shared_X", "replica_X"])
def test_buffers_give_the_same_bits_as_fresh_arrays(activation, replicas, shared_X):
    # Buffers only change where results are written, never what they are: the tutorials'
    # digits and the batched launcher's equality with single runs depend on it.
    net = Network(3, (4, 5), 2, activation, "softmax", bias=True)
    rng = np.random.default_rng(5)
    singles = [init_params(net, "normal", np.random.default_rng(s)) for s in range(replicas or 1)]
    p = stack(singles) if replicas else singles[0]
    X = rng.normal(size=(6, 3) if shared_X or not replicas else (replicas, 6, 3))
    Y = encode_targets(rng.integers(0, 2, 6), 2)
    delta_of = output_delta(net, "cross_entropy")
    fresh_acts = forward(net, p, X)
    fresh = backward(net, p, fresh_acts, delta_of(fresh_acts[-1], Y))
    buffers = Buffers.like(net, p, X)
    for _ in range(2):  # the second pass reuses the arrays the first one wrote
        acts = forward(net, p, X, buffers)
        grads = backward(net, p, acts, delta_of(acts[-1], Y), buffers)
        for a, b in zip(acts, fresh_acts):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(grads.arrays(), fresh.arrays()):
            np.testing.assert_array_equal(a, b)
    assert grads is buffers.grads
    assert all(a is b for a, b in zip(acts[1:], buffers.acts))


def test_buffers_shapes():
    net = Network(2, (4, 3), 1, "tanh", "sigmoid", bias=True)
    p = stack([init_params(net, "normal", np.random.default_rng(s)) for s in range(2)])
    b = Buffers.like(net, p, np.zeros((7, 2), np.float32))
    assert [a.shape for a in b.acts] == [(2, 7, 4), (2, 7, 3), (2, 7, 1)]
    assert [a.shape for a in b.deltas] == [(2, 7, 4), (2, 7, 3)] == [a.shape for a in b.derivatives]
    assert [g.shape for g in b.grads.arrays()] == [a.shape for a in p.arrays()]


@pytest.mark.parametrize("bias", [True, False])
def test_stacked_replicas_compute_each_single_networks_pass(bias):
    net = Network(3, (4, 3), 2, "tanh", "softmax", bias=bias)
    rng = np.random.default_rng(11)
    singles = [init_params(net, "normal", np.random.default_rng(s)) for s in range(3)]
    stacked = stack(singles)
    X = rng.normal(size=(6, 3))
    Y = encode_targets(rng.integers(0, 2, 6), 2)
    delta_of = output_delta(net, "cross_entropy")
    acts = forward(net, stacked, X)  # X shared by the replicas
    assert acts[-1].shape == (3, 6, 2)
    grads = backward(net, stacked, acts, delta_of(acts[-1], Y))
    for r, single in enumerate(singles):
        single_acts = forward(net, single, X)
        np.testing.assert_allclose(acts[-1][r], single_acts[-1], rtol=1e-12, atol=1e-15)
        single_grads = backward(net, single, single_acts, delta_of(single_acts[-1], Y))
        for g, s in zip(grads.arrays(), single_grads.arrays()):
            np.testing.assert_allclose(g[r], s, rtol=1e-12, atol=1e-15)
    # Per-replica inputs (R, n, d), as shuffled mini-batches give them.
    Xr = rng.normal(size=(3, 6, 3))
    out = predict(net, stacked, Xr)
    for r, single in enumerate(singles):
        np.testing.assert_allclose(out[r], predict(net, single, Xr[r]), rtol=1e-12)


@pytest.mark.parametrize("hidden", [(1,), (4,), (7,), (3, 2)], ids=str)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_stacked_training_on_a_shared_input_gives_each_replica_its_own_bits(hidden, k, bias):
    # The batched launcher's promise: a replica trained with 16 others on the same full
    # batch ends with exactly the parameters it would have trained to alone. The
    # side-by-side first layer must not change a bit (see network's docstring).
    from nnexp.core.optim import GradientDescent
    from nnexp.core.train import Split, train

    out_act, loss = ("sigmoid", "bce") if k == 1 else ("softmax", "cross_entropy")
    net = Network(2, hidden, k, "tanh", out_act, bias)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(15, 2))
    labels = rng.integers(0, max(k, 2), 15)
    data = Split(X, encode_targets(labels, k), labels)
    singles = [init_params(net, "normal", np.random.default_rng(s)) for s in range(17)]
    stacked = stack([p.copy() for p in singles])
    train(net, stacked, GradientDescent(stacked, 0.5), loss, data, epochs=25, log_every=5)
    for r, single in enumerate(singles):
        train(net, single, GradientDescent(single, 0.5), loss, data, epochs=25, log_every=5)
        for a, b in zip(unstack(stacked, r).arrays(), single.arrays()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("output_activation,k", [("sigmoid", 1), ("softmax", 3)])
def test_predict_with_huge_weights_is_silent(output_activation, k):
    net = Network(2, (3,), k, "sigmoid", output_activation, bias=True)
    p = init_params(net, "normal", np.random.default_rng(0), scale=1e6)
    X = np.array([[1.0, -1.0], [-3.0, 2.0], [5.0, 5.0], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = predict(net, p, X)
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    assert np.any((out == 0) | (out == 1))  # really saturated


def test_predict_with_huge_weights_is_silent_even_when_numpy_raises_on_every_error():
    net = Network(2, (3,), 1, "sigmoid", "sigmoid", bias=True)
    p = init_params(net, "normal", np.random.default_rng(0), scale=1e6)
    X = np.array([[1.0, -1.0], [-3.0, 2.0], [5.0, 5.0]])
    with np.errstate(all="raise"):
        out = predict(net, p, X)
    assert np.all(np.isfinite(out))


def test_float32_parameters_keep_float32():
    net = Network(3, (4,), 1, "sigmoid", "sigmoid", bias=True)
    p = init_params(net, "normal", np.random.default_rng(0), dtype=np.float32)
    X = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    acts = forward(net, p, X)
    assert all(a.dtype == np.float32 for a in acts)
    grads = backward(net, p, acts, output_delta(net, "sse")(acts[-1], np.ones((5, 1), np.float32)))
    assert all(g.dtype == np.float32 for g in grads.arrays())
