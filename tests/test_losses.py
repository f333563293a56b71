"""The loss table: values by hand, gradients against finite differences, closed-form
output deltas against the chain rule, and no inf for saturated probabilities."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnexp.core.activations import ACTIVATIONS, softmax
from nnexp.core.losses import LOSSES, OUTPUT_DELTAS, PROB_EPS

STEP = 1e-6
# Losses on probabilities take outputs strictly inside (0, 1); the others take any.
PROBABILITY_LOSSES = {"bce", "cross_entropy"}


def _outputs_and_targets(loss: str, rng, shape=(5, 3)):
    k = shape[-1]
    labels = rng.integers(0, k, shape[:-1])
    if loss == "cross_entropy":
        return softmax(rng.normal(size=shape)), np.eye(k)[labels]
    Y = rng.integers(0, 2, shape).astype(float)
    return rng.uniform(0.05, 0.95, shape), Y


@pytest.mark.parametrize("loss", list(LOSSES))
def test_gradient_matches_finite_differences(loss):
    out, Y = _outputs_and_targets(loss, np.random.default_rng(0))
    value, grad = LOSSES[loss].value, LOSSES[loss].grad
    numeric = np.zeros_like(out)
    for i in np.ndindex(out.shape):
        plus, minus = out.copy(), out.copy()
        plus[i] += STEP
        minus[i] -= STEP
        numeric[i] = (value(plus, Y) - value(minus, Y)) / (2 * STEP)
    analytic = grad(out, Y)
    assert analytic.shape == out.shape
    assert np.linalg.norm(analytic - numeric) / np.linalg.norm(numeric) < 1e-6


@pytest.mark.parametrize("loss", list(LOSSES))
def test_replicas_reduce_to_one_value_each(loss):
    out, Y = _outputs_and_targets(loss, np.random.default_rng(1), shape=(3, 5, 2))
    fn = LOSSES[loss]
    values = fn.value(out, Y)
    assert values.shape == (3,)
    for r in range(3):
        assert values[r] == pytest.approx(fn.value(out[r], Y[r]), rel=1e-15)
        np.testing.assert_array_equal(fn.grad(out, Y)[r], fn.grad(out[r], Y[r]))
    assert np.ndim(fn.value(out[0], Y[0])) == 0


def test_values_by_hand():
    y = np.array([[1.0], [0.0], [0.0], [1.0]])
    zero = np.zeros((4, 1))
    # The gender tutorial's example: always predicting 0 costs an MSE of 0.5.
    assert LOSSES["mse"].value(zero, y) == 0.5
    assert LOSSES["sse"].value(zero, y) == 1.0  # half the sum of squares
    out = np.array([[0.8], [0.1], [0.3], [0.6]])
    expected = -np.mean(np.log([0.8, 0.9, 0.7, 0.6]))
    assert LOSSES["bce"].value(out, y) == pytest.approx(expected, rel=1e-14)
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    onehot = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert LOSSES["cross_entropy"].value(probs, onehot) == pytest.approx(
        -(np.log(0.7) + np.log(0.1)) / 2, rel=1e-14
    )
    # mse averages over every output, sse halves the sum.
    out2, y2 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))
    assert LOSSES["mse"].value(out2, y2) == 30.0 / 4
    assert LOSSES["sse"].value(out2, y2) == 15.0
    np.testing.assert_array_equal(LOSSES["mse"].grad(out2, y2), out2 * 2 / 4)
    np.testing.assert_array_equal(LOSSES["sse"].grad(out2, y2), out2)


@pytest.mark.parametrize("loss", sorted(PROBABILITY_LOSSES))
def test_saturated_probabilities_cost_a_finite_loss(loss):
    # Outputs exactly 0 and 1, right and wrong.
    if loss == "bce":
        out = np.array([[0.0], [1.0], [0.0], [1.0]])
        Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    else:
        out = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        Y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = LOSSES[loss].value(out, Y)
        grad = LOSSES[loss].grad(out, Y)
    assert np.isfinite(value) and value > 0
    assert np.all(np.isfinite(grad))
    # Perfect saturated predictions cost (almost) nothing.
    assert LOSSES[loss].value(Y, Y) < 1e-12
    # A confident wrong answer costs about -log(PROB_EPS) a wrong row.
    wrong_rows = 2
    n = len(Y)
    assert value == pytest.approx(-np.log(PROB_EPS) * wrong_rows / n, rel=1e-3)


def _closed_form_inputs(activation: str, loss: str, rng):
    k = 1 if activation == "sigmoid" else 3
    z = rng.normal(size=(5, k))
    labels = rng.integers(0, max(k, 2), 5)
    Y = labels.astype(float).reshape(-1, 1) if k == 1 else np.eye(k)[labels]
    return ACTIVATIONS[activation].function(z), Y


@pytest.mark.parametrize("pair", list(OUTPUT_DELTAS), ids="-".join)
def test_closed_form_output_delta_is_the_chain_rule(pair):
    activation, loss = pair
    out, Y = _closed_form_inputs(activation, loss, np.random.default_rng(2))
    chain = ACTIVATIONS[activation].backprop(out, LOSSES[loss].grad(out, Y))
    np.testing.assert_allclose(OUTPUT_DELTAS[pair](out, Y), chain, rtol=1e-12, atol=1e-15)


def test_closed_form_bce_delta_averages_over_every_output():
    rng = np.random.default_rng(3)
    out = ACTIVATIONS["sigmoid"].function(rng.normal(size=(4, 2)))
    Y = rng.integers(0, 2, (4, 2)).astype(float)
    chain = ACTIVATIONS["sigmoid"].backprop(out, LOSSES["bce"].grad(out, Y))
    np.testing.assert_allclose(OUTPUT_DELTAS[("sigmoid", "bce")](out, Y), chain, rtol=1e-12)
