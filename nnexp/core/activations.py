"""Activation functions: one table, name -> (function, derivative from the output).

Every derivative is written in terms of the activation's *output* ``a`` (as in
scikit-learn's ``_base.py``), so the forward pass's cache is all that backward needs.
Functions and derivatives take NumPy's ``out=``: without it they return a new array and
leave their input alone; with it they write into ``out`` (which may be the input itself)
and return it, so a large batch's passes can reuse their arrays from step to step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LEAKY_SLOPE = 0.01


class _Ones(dict[Any, np.ndarray]):
    """dtype -> 0-d array 1 of that dtype, made on first use. A ufunc converts a Python
    float on every call, a noticeable part of a tiny network's epoch; a dict subscript
    is the cheapest way to fetch the ready-made one."""

    def __missing__(self, dtype: Any) -> np.ndarray:
        one = self[dtype] = np.array(1.0, dtype)
        return one


_ONE = _Ones()


def sigmoid_unguarded(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-z)), the tutorials' formula bit for bit. For z < -709 exp(-z)
    overflows to inf and the result is the correct limit 0; the caller silences that
    overflow with ``np.errstate`` (the forward pass does, once for a whole run)."""
    # ``out`` passed by position: a keyword costs a small array's pass as much again.
    e = np.negative(z, out)
    np.exp(e, e)
    np.add(e, _ONE[z.dtype], e)
    return np.reciprocal(e, e)


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The sigmoid for any z, without overflow warnings."""
    with np.errstate(over="ignore", under="ignore"):
        return sigmoid_unguarded(z, out)


def sigmoid_derivative(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    d = np.subtract(_ONE[a.dtype], a, out)
    return np.multiply(a, d, d)


def tanh_derivative(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    d = np.multiply(a, a, out)
    return np.subtract(_ONE[a.dtype], d, d)


def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(z, 0.0, out=out)


def relu_derivative(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None:
        return (a > 0.0).astype(a.dtype)
    return np.greater(a, 0.0, out=out)  # True/False written as 1.0/0.0


def leaky_relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # max(z, slope * z) is z where z > 0 and slope * z elsewhere, since 0 < slope < 1.
    return np.maximum(z, LEAKY_SLOPE * z, out=out)


def leaky_relu_derivative(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    d = np.full_like(a, LEAKY_SLOPE) if out is None else out
    d.fill(LEAKY_SLOPE)
    np.copyto(d, 1.0, where=a > 0.0)
    return d


def identity(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None:
        return z.copy()
    np.copyto(out, z)
    return out


def identity_derivative(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None:
        return np.ones_like(a)
    out.fill(1.0)
    return out


def softmax(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Row-wise softmax over the last axis; shifting by the row maximum avoids overflow."""
    e = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_backprop(a: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dz from dL/da through softmax's full Jacobian: a * (g - <g, a>) row by row."""
    return a * (grad - np.sum(grad * a, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    # (z, out=None) -> a. Used by the forward pass, which runs under
    # np.errstate(over="ignore").
    function: Callable[..., np.ndarray]
    # (a, out=None) -> elementwise derivative from the output; None where the Jacobian
    # is not diagonal (softmax), which is why such an activation is allowed on the
    # output layer only.
    derivative: Callable[..., np.ndarray] | None
    hidden: bool = True
    jacobian_backprop: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def backprop(self, a: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """dL/dz from the output ``a`` and dL/da."""
        if self.derivative is None:
            assert self.jacobian_backprop is not None  # an activation has one or the other
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
