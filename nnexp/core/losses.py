"""Losses: one table, name -> (value, gradient with respect to the network's output).

Shapes: ``out`` and ``y`` are ``(..., n, k)``; a leading replica axis is allowed. Values
are reduced over the last two axes, so they have the leading shape (a float for one
network, ``(R,)`` for R replicas). Targets are 0/1 columns for one output and one-hot
rows for softmax outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from .activations import sigmoid_derivative

# Probabilities are kept this far from 0 and 1 before a log, so a saturated output
# costs a large finite loss instead of inf.
PROB_EPS = 1e-15
_AXES = (-2, -1)


def prob_eps(dtype: DTypeLike) -> float:
    """PROB_EPS, or the dtype's machine epsilon where that is larger: in float32
    ``1 - 1e-15`` rounds to 1 and log(1 - p) would be -inf."""
    return max(PROB_EPS, float(np.finfo(dtype).eps))


def _rows(out: np.ndarray) -> int:
    return out.shape[-2]


def half_sse(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    err = out - y
    return 0.5 * np.sum(err * err, axis=_AXES)


def half_sse_grad(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return out - y


def mse(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    err = out - y
    return np.mean(err * err, axis=_AXES)


def mse_grad(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (out - y) * (2.0 / (out.shape[-2] * out.shape[-1]))


def bce(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    eps = prob_eps(out.dtype)
    p = np.clip(out, eps, 1.0 - eps)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p), axis=_AXES)


def bce_grad(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    eps = prob_eps(out.dtype)
    p = np.clip(out, eps, 1.0 - eps)
    return (p - y) / (p * (1.0 - p)) / (out.shape[-2] * out.shape[-1])


def cross_entropy(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.maximum(out, prob_eps(out.dtype))
    return -np.sum(y * np.log(p), axis=_AXES) / _rows(out)


def cross_entropy_grad(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -y / np.maximum(out, prob_eps(out.dtype)) / _rows(out)


@dataclass(frozen=True)
class Loss:
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]


LOSSES: dict[str, Loss] = {
    "sse": Loss(half_sse, half_sse_grad),
    "mse": Loss(mse, mse_grad),
    "bce": Loss(bce, bce_grad),
    "cross_entropy": Loss(cross_entropy, cross_entropy_grad),
}


def _canonical_delta(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    # dL/dz for sigmoid + binary cross-entropy and softmax + cross-entropy: the
    # activation's derivative cancels the loss's denominator, leaving (p - y) / count.
    return (out - y) / out.shape[-2]


def _canonical_bce_delta(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (out - y) / (out.shape[-2] * out.shape[-1])


def _sigmoid_sse_delta(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    # The chain rule's own operations, (out - y) * (out * (1 - out)), so the same bits,
    # in one call instead of three: the tutorials' output layer, run every epoch.
    g = out - y
    g *= sigmoid_derivative(out)
    return g


# (output activation, loss) pairs whose gradient with respect to the pre-activation is
# taken in closed form: stable where the chain rule would divide by ~0, and cheaper.
OUTPUT_DELTAS: dict[tuple[str, str], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ("sigmoid", "bce"): _canonical_bce_delta,
    ("softmax", "cross_entropy"): _canonical_delta,
    ("sigmoid", "sse"): _sigmoid_sse_delta,
}
