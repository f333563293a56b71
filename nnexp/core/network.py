"""A fully connected network as plain arrays: the architecture, its parameters, and the
forward and backward passes.

Convention: rows are samples and a layer computes ``z = a @ W + b``, so a weight matrix
is ``(fan_in, fan_out)`` and a bias is ``(1, fan_out)``. Every array may carry a leading
replica axis ``R`` (``W: (R, fan_in, fan_out)``, ``X: (R, n, d)`` or shared ``(n, d)``):
the same code trains one network or R copies at once (``stacked`` holds what that axis
needs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .activations import ACTIVATIONS, Activation
from .rows import RowSplit

# A NumPy Generator, or the legacy RandomState the tutorial presets draw from.
Rng = np.random.Generator | np.random.RandomState


def _uniform(rng: Rng, shape: tuple[int, int], fan_in: int, fan_out: int) -> np.ndarray:
    # 2 * U[0, 1) - 1: the tutorials' initialisation, drawn exactly as they draw it.
    return 2.0 * rng.random(shape) - 1.0


def _normal(rng: Rng, shape: tuple[int, int], fan_in: int, fan_out: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _xavier(rng: Rng, shape: tuple[int, int], fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return limit * (2.0 * rng.random(shape) - 1.0)


def _he(rng: Rng, shape: tuple[int, int], fan_in: int, fan_out: int) -> np.ndarray:
    return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)


@dataclass(frozen=True)
class Initializer:
    draw: Callable[[Rng, tuple[int, int], int, int], np.ndarray]
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
    def activations(self) -> list[Activation]:
        """One activation per layer: hidden layers, then the output layer."""
        hidden = ACTIVATIONS[self.activation]
        return [hidden] * len(self.hidden) + [ACTIVATIONS[self.output_activation]]

    @cached_property
    def hidden_derivative(self) -> Callable[..., np.ndarray]:
        """The hidden layers' activation's derivative, from its output."""
        derivative = ACTIVATIONS[self.activation].derivative
        if derivative is None:
            raise ValueError(f"{self.activation} is for the output layer only")
        return derivative


@dataclass
class Params:
    """Weights ``W[l]: (..., fan_in, fan_out)`` and biases ``b[l]: (..., 1, fan_out)``
    (an empty list when the network has no bias)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def arrays(self) -> list[np.ndarray]:
        return [*self.weights, *self.biases]

    def copy(self) -> Params:
        return Params([w.copy() for w in self.weights], [b.copy() for b in self.biases])


def init_params(
    net: Network, init: str, rng: Rng, scale: float = 1.0, dtype: DTypeLike = np.float64
) -> Params:
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


# zip() partner for a network without biases or a pass without buffers: one None per
# layer, enough for any depth.
_NONES: tuple[None, ...] = (None,) * 1024


def _matmul_for(a: np.ndarray) -> Callable[..., np.ndarray]:
    # np.dot is the cheapest product for plain matrices; stacked replicas need matmul's
    # loop over the replicas, one BLAS call each, as their own networks make it (see
    # ``stacked``).
    return np.dot if a.ndim == 2 else np.matmul


@dataclass
class Buffers:
    """Arrays that ``forward`` and ``backward`` write into instead of allocating, for
    one batch shape. A large batch's layer is a large array (100 000 rows of 128 floats
    are 100 MB) and a fresh one every step costs page faults as well as the arithmetic;
    these are made once and reused every step.

    ``acts[l]``: ``(..., n, sizes[l + 1])``, one per layer; ``deltas[l]`` and
    ``derivatives[l]`` the same for the hidden layers only; ``grads``: the parameters'
    shapes; ``ones``: ``(1, n)``, see ``_row_sums``. ``splits[l]``: how layer ``l``'s
    elementwise passes are split over threads (``rows.RowSplit``), None for a layer too
    small to gain from it."""

    acts: list[np.ndarray]
    deltas: list[np.ndarray]
    derivatives: list[np.ndarray]
    grads: Params
    ones: np.ndarray
    splits: list[RowSplit | None]
    product: Callable[..., np.ndarray]  # ``_matmul_for`` the parameters, looked up once

    @classmethod
    def like(
        cls, net: Network, params: Params, X: np.ndarray, threads: int | None = None
    ) -> Buffers:
        """Buffers for batches shaped like ``X: (..., n, d)``, with ``params``' replicas;
        large layers' elementwise passes run on ``threads`` threads (None: the cores
        this process may use, at most 4). The results do not depend on ``threads``."""
        W = params.weights[0]
        rows = (*W.shape[:-2], X.shape[-2])  # (..., n)
        dtype = np.result_type(X, W)
        layers = [np.empty((*rows, size), dtype) for size in net.sizes[1:]]
        hidden = layers[:-1]
        return cls(
            acts=layers,
            deltas=[np.empty_like(a) for a in hidden],
            derivatives=[np.empty_like(a) for a in hidden],
            grads=Params(
                [np.empty_like(w) for w in params.weights],
                [np.empty_like(b) for b in params.biases],
            ),
            ones=np.ones((1, X.shape[-2]), dtype),
            splits=[RowSplit.for_shape(a.shape, threads) for a in layers],
            product=_matmul_for(W),
        )


def _row_sums(delta: np.ndarray, ones: np.ndarray | None, out: np.ndarray | None) -> np.ndarray:
    """delta (..., n, k) summed over its n rows -> (..., 1, k), as ``ones (1, n) @ delta``:
    BLAS reads the rows several times as fast as np.sum(axis=-2) does, and matmul's stack
    of products gives each replica the same bits as its own network's product would."""
    if ones is None:
        ones = np.ones((1, delta.shape[-2]), delta.dtype)
    return (np.dot if delta.ndim == 2 else np.matmul)(ones, delta, out=out)


def forward(
    net: Network, params: Params, X: np.ndarray, buffers: Buffers | None = None
) -> list[np.ndarray]:
    """X: (..., n, d) -> [X, a_1, ..., a_L], a_l: (..., n, sizes[l]).

    With ``buffers`` the activations are written into ``buffers.acts`` (and stay valid
    until the next pass that uses them). Run it under ``np.errstate(over="ignore")``: a
    saturated sigmoid overflows exp to inf on its way to the correct 0 (``predict`` and
    ``train`` do this for you)."""
    mm = buffers.product if buffers else _matmul_for(params.weights[0])
    outs: Sequence[Any] = buffers.acts if buffers else _NONES  # Any: an array or None
    splits = buffers.splits if buffers else _NONES
    acts = [X]
    a = X
    layers = zip(params.weights, params.biases or _NONES, net.activations, outs, splits)
    for W, b, act, out, split in layers:
        z = mm(a, W, out)  # (..., n, fan_out)
        if split is not None:  # a large layer: bias and activation by blocks of rows
            a = split.activate(z, b, act.function)
        else:
            if b is not None:
                z += b  # broadcast (..., 1, fan_out)
            a = act.function(z, z)  # z is not needed once activated: overwrite it
        acts.append(a)
    return acts


def predict(
    net: Network, params: Params, X: np.ndarray, buffers: Buffers | None = None
) -> np.ndarray:
    """X: (..., n, d) -> output layer (..., n, k) (in ``buffers``, when given)."""
    with np.errstate(over="ignore", under="ignore"):
        return forward(net, params, X, buffers)[-1]


def backward(
    net: Network,
    params: Params,
    acts: list[np.ndarray],
    delta: np.ndarray,
    buffers: Buffers | None = None,
) -> Params:
    """Gradients of the loss, given ``delta = dL/dz`` of the output layer (..., n, k).

    Returns a Params of gradients with the parameters' shapes: ``buffers.grads``, written
    in place, when ``buffers`` are given."""
    mm = buffers.product if buffers else _matmul_for(params.weights[0])
    derivative = net.hidden_derivative
    weights = params.weights
    last = len(weights) - 1
    # Any: arrays with buffers, None (fresh arrays) without.
    grads_w: list[Any]
    grads_b: list[Any]
    deltas: Sequence[Any]
    derivatives: Sequence[Any]
    splits: Sequence[RowSplit | None]
    if buffers:
        grads_w, grads_b = buffers.grads.weights, buffers.grads.biases
        deltas, derivatives, ones = buffers.deltas, buffers.derivatives, buffers.ones
        splits = buffers.splits
    else:
        grads_w = [None] * (last + 1)
        grads_b = [None] * (last + 1) if params.biases else []
        deltas = derivatives = splits = _NONES
        ones = None
    for l in range(last, -1, -1):
        grads_w[l] = mm(acts[l].mT, delta, grads_w[l])  # (..., fan_in, fan_out)
        if grads_b:
            grads_b[l] = _row_sums(delta, ones, grads_b[l])  # (..., 1, fan_out)
        if l:
            split = splits[l - 1]
            if split is None:
                slope = derivative(acts[l], derivatives[l - 1])  # (..., n, fan_in)
                delta = mm(delta, weights[l].mT, deltas[l - 1])  # (..., n, fan_in)
                delta *= slope
            else:  # a large layer: slope and product by blocks of rows
                delta = mm(delta, weights[l].mT, deltas[l - 1])
                delta = split.times_slope(delta, acts[l], derivative, derivatives[l - 1])
    return Params(grads_w, grads_b) if buffers is None else buffers.grads
