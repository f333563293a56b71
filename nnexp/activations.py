"""Activation functions: one table, name -> (function, derivative from the output).

Every derivative is written in terms of the activation's *output* ``a`` (as in
scikit-learn's ``_base.py``), so the forward pass's cache is all that backward needs.
Functions return new arrays and never overwrite their input.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01


class _Constants:
    """0-d arrays of the hot path's constants, one set a dtype: a ufunc converts a
    Python float on every call (about 0.15 us each, a tenth of a tutorial epoch)."""

    def __init__(self):
        self._by_dtype = {}

    def __call__(self, dtype) -> np.ndarray:
        one = self._by_dtype.get(dtype)
        if one is None:
            one = self._by_dtype[dtype] = np.array(1.0, dtype)
        return one


_one = _Constants()


def sigmoid_unguarded(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), the tutorials' formula bit for bit. For z < -709 exp(-z)
    overflows to inf and the result is the correct limit 0; the caller silences that
    overflow with ``np.errstate`` (the forward pass does, once for a whole run)."""
    e = np.negative(z)
    np.exp(e, out=e)
    np.add(e, _one(z.dtype), out=e)
    return np.reciprocal(e, out=e)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The sigmoid for any z, without overflow warnings."""
    with np.errstate(over="ignore", under="ignore"):
        return sigmoid_unguarded(z)


def sigmoid_derivative(a: np.ndarray) -> np.ndarray:
    d = np.subtract(_one(a.dtype), a)
    return np.multiply(a, d, out=d)


def tanh_derivative(a: np.ndarray) -> np.ndarray:
    d = np.multiply(a, a)
    return np.subtract(_one(a.dtype), d, out=d)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def relu_derivative(a: np.ndarray) -> np.ndarray:
    return (a > 0.0).astype(a.dtype)


def leaky_relu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0.0, z, LEAKY_SLOPE * z)


def leaky_relu_derivative(a: np.ndarray) -> np.ndarray:
    return np.where(a > 0.0, 1.0, LEAKY_SLOPE).astype(a.dtype)


def identity(z: np.ndarray) -> np.ndarray:
    return z.copy()


def identity_derivative(a: np.ndarray) -> np.ndarray:
    return np.ones_like(a)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis; shifting by the row maximum avoids overflow."""
    e = z - z.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_backprop(a: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dz from dL/da through softmax's full Jacobian: a * (g - <g, a>) row by row."""
    return a * (grad - np.sum(grad * a, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    # Used by the forward pass, which runs under np.errstate(over="ignore").
    function: Callable[[np.ndarray], np.ndarray]
    # Elementwise derivative from the output; None where the Jacobian is not diagonal
    # (softmax), which is why such an activation is allowed on the output layer only.
    derivative: Callable[[np.ndarray], np.ndarray] | None
    hidden: bool = True
    jacobian_backprop: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def backprop(self, a: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """dL/dz from the output ``a`` and dL/da."""
        if self.derivative is None:
            return self.jacobian_backprop(a, grad)
        return grad * self.derivative(a)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid_unguarded, sigmoid_derivative),
    "tanh": Activation(np.tanh, tanh_derivative),
    "relu": Activation(relu, relu_derivative),
    "leaky_relu": Activation(leaky_relu, leaky_relu_derivative),
    "identity": Activation(identity, identity_derivative),
    "softmax": Activation(softmax, None, hidden=False, jacobian_backprop=softmax_backprop),
}

HIDDEN_ACTIVATIONS = tuple(name for name, act in ACTIVATIONS.items() if act.hidden)
OUTPUT_ACTIVATIONS = tuple(ACTIVATIONS)
