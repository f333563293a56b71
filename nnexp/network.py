"""A fully connected network as plain arrays.

Convention: rows are samples and a layer computes ``z = a @ W + b``, so a weight matrix
is ``(fan_in, fan_out)`` and a bias is ``(1, fan_out)``. Every array may carry a leading
replica axis ``R`` (``W: (R, fan_in, fan_out)``, ``X: (R, n, d)`` or shared ``(n, d)``):
the same code trains one network or R copies at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from .activations import ACTIVATIONS


def _uniform(rng, shape, fan_in, fan_out):
    # 2 * U[0, 1) - 1: the tutorials' initialisation, drawn exactly as they draw it.
    return 2.0 * rng.random(shape) - 1.0


def _normal(rng, shape, fan_in, fan_out):
    return rng.standard_normal(shape)


def _xavier(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return limit * (2.0 * rng.random(shape) - 1.0)


def _he(rng, shape, fan_in, fan_out):
    return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)


@dataclass(frozen=True)
class Initializer:
    draw: Callable
    # Schemes that scale by fan-in/fan-out start biases at zero; the plain ones draw
    # biases from the same distribution, as the gender tutorial does.
    random_bias: bool


INITIALIZERS: dict[str, Initializer] = {
    "uniform": Initializer(_uniform, random_bias=True),
    "normal": Initializer(_normal, random_bias=True),
    "xavier": Initializer(_xavier, random_bias=False),
    "he": Initializer(_he, random_bias=False),
}


@dataclass(frozen=True)
class Network:
    """The architecture: everything needed to rebuild the parameters' shapes."""

    n_inputs: int
    hidden: tuple[int, ...]
    n_outputs: int
    activation: str = "sigmoid"
    output_activation: str = "sigmoid"
    bias: bool = True

    @property
    def sizes(self) -> list[int]:
        return [self.n_inputs, *self.hidden, self.n_outputs]

    @property
    def n_layers(self) -> int:
        return len(self.hidden) + 1

    @cached_property
    def activations(self) -> list:
        """One activation per layer: hidden layers, then the output layer."""
        hidden = ACTIVATIONS[self.activation]
        return [hidden] * len(self.hidden) + [ACTIVATIONS[self.output_activation]]


@dataclass
class Params:
    """Weights ``W[l]: (..., fan_in, fan_out)`` and biases ``b[l]: (..., 1, fan_out)``
    (an empty list when the network has no bias)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def arrays(self) -> list[np.ndarray]:
        return [*self.weights, *self.biases]

    def copy(self) -> "Params":
        return Params([w.copy() for w in self.weights], [b.copy() for b in self.biases])


def init_params(net: Network, init: str, rng, scale: float = 1.0, dtype=np.float64) -> Params:
    """Draw every weight matrix layer by layer, then every bias, from ``rng`` (a NumPy
    ``Generator`` or, for the tutorial presets, a legacy ``RandomState``)."""
    scheme = INITIALIZERS[init]
    pairs = list(zip(net.sizes[:-1], net.sizes[1:]))
    weights = [scale * scheme.draw(rng, (i, o), i, o) for i, o in pairs]
    biases = []
    if net.bias:
        for i, o in pairs:
            b = scheme.draw(rng, (1, o), i, o) if scheme.random_bias else np.zeros((1, o))
            biases.append(scale * b)
    return Params([w.astype(dtype) for w in weights], [b.astype(dtype) for b in biases])


def stack(params: list[Params]) -> Params:
    """R single networks -> one Params with a leading replica axis."""
    weights = [np.stack(ws) for ws in zip(*(p.weights for p in params))]
    biases = [np.stack(bs) for bs in zip(*(p.biases for p in params))]
    return Params(weights, biases)


def unstack(params: Params, r: int) -> Params:
    """Replica ``r`` of a stacked Params, as a single network's arrays (copies)."""
    return Params([w[r].copy() for w in params.weights], [b[r].copy() for b in params.biases])


# zip() partner for a network without biases: one None a layer, enough for any depth.
_NO_BIAS = (None,) * 1024


def _matmul_for(a: np.ndarray):
    # np.dot is the cheapest product for plain matrices (about 0.3 us less a call than
    # matmul on tiny ones); stacked replicas need matmul's broadcasting.
    return np.dot if a.ndim == 2 else _stacked_matmul


def _stacked_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b where at least one side carries replicas. When one side is shared (2-D), the
    R products are one GEMM on the replicas laid side by side, instead of R tiny GEMMs
    whose call overhead would dominate: (n, d) @ (R, d, h) -> (n, R*h) -> (R, n, h)."""
    if a.ndim == 2:
        R, d, h = b.shape
        wide = a @ b.transpose(1, 0, 2).reshape(d, R * h)  # (n, R*h)
        # A contiguous (R, n, h) keeps every later elementwise pass on its fast path.
        return np.ascontiguousarray(wide.reshape(-1, R, h).transpose(1, 0, 2))  # (R, n, h)
    if b.ndim == 2:
        R, n, d = a.shape
        tall = a.reshape(R * n, d) @ b if a.flags.c_contiguous else a @ b  # (R*n, h)
        return tall.reshape(R, n, -1)
    return np.matmul(a, b)


def forward(net: Network, params: Params, X: np.ndarray) -> list[np.ndarray]:
    """X: (..., n, d) -> [X, a_1, ..., a_L], a_l: (..., n, sizes[l]).

    Run it under ``np.errstate(over="ignore")``: a saturated sigmoid overflows exp to
    inf on its way to the correct 0 (``predict`` and ``train`` do this for you)."""
    mm = _matmul_for(params.weights[0])
    acts = [X]
    a = X
    for W, b, act in zip(params.weights, params.biases or _NO_BIAS, net.activations):
        z = mm(a, W)  # (..., n, fan_out)
        if b is not None:
            z += b  # broadcast (..., 1, fan_out)
        a = act.function(z)
        acts.append(a)
    return acts


def predict(net: Network, params: Params, X: np.ndarray) -> np.ndarray:
    """X: (..., n, d) -> output layer (..., n, k)."""
    with np.errstate(over="ignore", under="ignore"):
        return forward(net, params, X)[-1]


def backward(net: Network, params: Params, acts: list[np.ndarray], delta: np.ndarray) -> Params:
    """Gradients of the loss, given ``delta = dL/dz`` of the output layer (..., n, k).

    Returns a Params of gradients with the parameters' shapes."""
    mm = _matmul_for(params.weights[0])
    derivative = net.activations[0].derivative
    weights = params.weights
    last = len(weights) - 1
    grads_w = [None] * (last + 1)
    grads_b = [None] * (last + 1) if params.biases else []
    for l in range(last, -1, -1):
        grads_w[l] = mm(acts[l].mT, delta)  # (..., fan_in, fan_out)
        if grads_b:
            grads_b[l] = delta.sum(axis=-2, keepdims=True)  # (..., 1, fan_out)
        if l:
            delta = mm(delta, weights[l].mT) * derivative(acts[l])  # (..., n, fan_in)
    return Params(grads_w, grads_b)
