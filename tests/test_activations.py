"""The activation table: values, derivatives from the output, softmax's Jacobian, and a
sigmoid that neither overflows nor warns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnexp.core.activations import (
    ACTIVATIONS,
    HIDDEN_ACTIVATIONS,
    LEAKY_SLOPE,
    sigmoid,
    softmax,
    softmax_backprop,
)

ELEMENTWISE = [name for name, act in ACTIVATIONS.items() if act.derivative is not None]
STEP = 1e-6


def _away_from_kinks(rng, shape):
    """Pre-activations at least 0.1 from 0, where relu-like functions are smooth."""
    z = rng.normal(0.0, 2.0, shape)
    return np.where(np.abs(z) < 0.1, np.sign(z) * 0.1 + z, z)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_from_the_output_matches_finite_differences(name):
    act = ACTIVATIONS[name]
    z = _away_from_kinks(np.random.default_rng(0), (6, 4))
    numeric = (act.function(z + STEP) - act.function(z - STEP)) / (2 * STEP)
    analytic = act.derivative(act.function(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backprop_multiplies_by_the_derivative(name):
    act = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    a = act.function(_away_from_kinks(rng, (5, 3)))
    g = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(act.backprop(a, g), g * act.derivative(a))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_functions_return_new_arrays_and_keep_their_input(name):
    act = ACTIVATIONS[name]
    z = np.random.default_rng(2).normal(size=(4, 3))
    before = z.copy()
    a = act.function(z)
    assert a is not z and not np.shares_memory(a, z)
    np.testing.assert_array_equal(z, before)
    if act.derivative is not None:
        a_before = a.copy()
        act.derivative(a)
        np.testing.assert_array_equal(a, a_before)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_out_writes_the_same_values_in_place(name):
    act = ACTIVATIONS[name]
    z = np.random.default_rng(4).normal(size=(4, 3))
    expected = act.function(z)
    into = z.copy()
    assert act.function(into, into) is into  # the forward pass overwrites z with a
    np.testing.assert_array_equal(into, expected)
    if act.derivative is not None:
        buffer = np.full_like(expected, np.nan)
        assert act.derivative(expected, buffer) is buffer
        np.testing.assert_array_equal(buffer, act.derivative(expected))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_functions_keep_a_leading_replica_axis(name):
    act = ACTIVATIONS[name]
    z = np.random.default_rng(3).normal(size=(2, 5, 3))  # (R, n, k)
    stacked = act.function(z)
    assert stacked.shape == z.shape
    for r in range(2):
        np.testing.assert_array_equal(stacked[r], act.function(z[r]))


def test_known_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(ACTIVATIONS["relu"].function(z), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(
        ACTIVATIONS["leaky_relu"].function(z), [[-2.0 * LEAKY_SLOPE, 0.0, 3.0]]
    )
    np.testing.assert_array_equal(ACTIVATIONS["identity"].function(z), z)
    np.testing.assert_array_equal(ACTIVATIONS["tanh"].function(z), np.tanh(z))
    assert ACTIVATIONS["sigmoid"].function(np.array([0.0]))[0] == 0.5
    # The tutorial's nonlin(5).
    assert ACTIVATIONS["sigmoid"].function(np.array([5.0]))[0] == 0.9933071490757153
    np.testing.assert_allclose(softmax(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]], rtol=1e-15)


def test_only_elementwise_activations_are_allowed_in_hidden_layers():
    assert "softmax" not in HIDDEN_ACTIVATIONS
    assert set(HIDDEN_ACTIVATIONS) == set(ELEMENTWISE)
    assert set(HIDDEN_ACTIVATIONS) >= {"sigmoid", "tanh", "relu", "leaky_relu", "identity"}


# --- softmax ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 3), (2, 4, 3)], ids=["single", "replicas"])
def test_softmax_jacobian_backprop_matches_finite_differences(shape):
    rng = np.random.default_rng(4)
    z = rng.normal(size=shape)
    g = rng.normal(size=shape)  # dL/da of L = sum(g * softmax(z))
    act = ACTIVATIONS["softmax"]
    analytic = act.backprop(act.function(z), g)
    numeric = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[i] += STEP
        minus[i] -= STEP
        numeric[i] = (np.sum(g * softmax(plus)) - np.sum(g * softmax(minus))) / (2 * STEP)
    np.testing.assert_array_equal(analytic, softmax_backprop(act.function(z), g))
    assert np.linalg.norm(analytic - numeric) / np.linalg.norm(numeric) < 1e-6


def test_softmax_rows_sum_to_one_without_overflow():
    z = np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0], [-800.0, -800.0, -801.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = softmax(z)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(a[1], 1 / 3, rtol=1e-15)
    np.testing.assert_allclose(
        a[0, :2], [1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))], rtol=1e-14
    )


# --- sigmoid ---------------------------------------------------------------------------

EXTREMES = np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0])


def test_sigmoid_of_extremes_is_finite_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = sigmoid(EXTREMES)
    assert np.all(np.isfinite(a)) and np.all((a >= 0.0) & (a <= 1.0))
    # exp(710) overflows to inf: the correct limit 0, as the tutorials' formula gives it.
    np.testing.assert_array_equal(a, [0.0, 0.0, 0.5, 1.0, 1.0])


def test_sigmoid_of_extremes_is_silent_even_when_numpy_raises_on_every_error():
    # exp(-z) underflows for z >= ~708 (to a subnormal, then to 0): harmless, and
    # sigmoid promises silence for any z, whatever the caller's np.errstate.
    with np.errstate(all="raise"):
        a = sigmoid(EXTREMES)
    assert np.all(np.isfinite(a)) and np.all((a >= 0.0) & (a <= 1.0))


def test_sigmoid_is_the_tutorials_formula_bit_for_bit():
    rng = np.random.default_rng(5)
    z = np.concatenate(
        [
            rng.uniform(-699.999, 699.999, 200_000),
            rng.normal(0, 5, 100_000),
            [-699.999, -1e-300, 0.0, 1e-300, 699.999],
        ]
    )
    np.testing.assert_array_equal(sigmoid(z), 1 / (1 + np.exp(-z)))
    # The table's entry (used inside the forward pass) is the same function.
    np.testing.assert_array_equal(ACTIVATIONS["sigmoid"].function(z), sigmoid(z))


def test_sigmoid_keeps_float32():
    z = np.linspace(-5, 5, 11, dtype=np.float32)
    a = sigmoid(z)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z.astype(np.float64))), rtol=1e-6)
    assert ACTIVATIONS["sigmoid"].derivative(a).dtype == np.float32
