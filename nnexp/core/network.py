"""A fully connected network as plain arrays.

Convention: rows are samples and a layer computes ``z = a @ W + b``, so a weight matrix
is ``(fan_in, fan_out)`` and a bias is ``(1, fan_out)``. Every array may carry a leading
replica axis ``R`` (``W: (R, fan_in, fan_out)``, ``X: (R, n, d)`` or shared ``(n, d)``):
the same code trains one network or R copies at once.

Replicas trained on a shared input compute their first layer as one GEMM with the
replicas side by side, ``(n, d) @ (d, R*h) -> (n, R*h)``: memory laid out ``(n, R, h)``,
a "replica-middle" ``(R, n, h)`` view (``replica_middle``), where the activation and,
on the way back, the delta are computed too. Everything a replica multiplies on its own
stays replica-first, each replica's matrices contiguous exactly as in its own network:
BLAS rounds some small products differently when a matrix's leading dimension changes,
and the batched launcher promises each replica its own run's numbers bit for bit. The
one copy between the layouts (``relaid``) moves a row of h floats as one item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

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

    def copy(self) -> Params:
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


def replica_middle(R: int, rows: int, cols: int, dtype=np.float64) -> np.ndarray:
    """An empty ``(R, rows, cols)`` array whose memory is ``(rows, R, cols)``: each
    replica's block side by side (see the module's docstring)."""
    return np.empty((rows, R, cols), dtype).transpose(1, 0, 2)


def _side_by_side(a: np.ndarray) -> np.ndarray | None:
    """A replica-middle ``(R, rows, cols)`` array -> the ``(rows, R*cols)`` view of its
    memory; None for any other layout, where no such view exists."""
    R, rows, cols = a.shape
    wide = a.transpose(1, 0, 2)
    return wide.reshape(rows, R * cols) if wide.flags.c_contiguous else None


def relaid(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Copy ``src`` into ``dst`` of the same shape and another layout (replica-middle and
    replica-first), each row of a replica's matrix moved as one item: NumPy would
    otherwise loop over a transposed copy a float at a time (3.2 us instead of 5.8 for
    100 replicas of 15 x 4)."""
    row = np.dtype((np.void, src.shape[-1] * src.itemsize))
    np.copyto(dst.view(row), src.view(row))
    return dst


def stack(params: list[Params]) -> Params:
    """R single networks -> one Params with a leading replica axis."""
    weights = [np.stack(ws) for ws in zip(*(p.weights for p in params))]
    biases = [np.stack(bs) for bs in zip(*(p.biases for p in params))]
    return Params(weights, biases)


def lay_side_by_side(params: Params) -> None:
    """For replicas trained on a shared input: lay the first weight matrix out
    replica-middle, in place (same values, new memory), so that the first layer's GEMM
    reads it and its gradient's GEMM writes it with no copy. Its only products are those
    GEMMs, so no replica's bits change; a one-column matrix is left alone (no GEMM)."""
    W = params.weights[0]
    if W.ndim == 3 and W.shape[-1] > 1 and _side_by_side(W) is None:
        params.weights[0] = relaid(W, replica_middle(*W.shape, W.dtype))


def unstack(params: Params, r: int) -> Params:
    """Replica ``r`` of a stacked Params, as a single network's arrays (copies)."""
    return Params([w[r].copy() for w in params.weights], [b[r].copy() for b in params.biases])


# zip() partner for a network without biases or a pass without buffers: one None a
# layer, enough for any depth.
_NONES = (None,) * 1024


def _matmul_for(a: np.ndarray):
    # np.dot is the cheapest product for plain matrices (about 0.3 us less a call than
    # matmul on tiny ones); stacked replicas need matmul's broadcasting.
    return np.dot if a.ndim == 2 else _stacked_matmul


def _stacked_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for stacked replicas: ``b`` carries them, ``a`` too or is shared (2-D: the
    input or its transpose). With a shared ``a`` the R products are one GEMM on the
    replicas laid side by side, instead of R tiny GEMMs whose call overhead would
    dominate: (n, d) @ (R, d, h) -> (n, R*h) -> (R, n, h);
    a replica-middle ``b`` or ``out`` is used in place, any other is copied. Not for one
    column a replica (h = 1): a single network's product is then a matrix-vector one,
    whose rounding a GEMM would not reproduce."""
    if a.ndim == 2 and b.shape[-1] > 1:
        R, d, h = b.shape
        wide_b = _side_by_side(b)
        if wide_b is None:
            wide_b = b.transpose(1, 0, 2).reshape(d, R * h)  # a copy
        wide_out = None if out is None else _side_by_side(out)
        if wide_out is not None:
            np.dot(a, wide_b, out=wide_out)
            return out
        side_by_side = (a @ wide_b).reshape(-1, R, h).transpose(1, 0, 2)  # (R, n, h)
        if out is None:
            # A contiguous (R, n, h) keeps every later elementwise pass on its fast path.
            return np.ascontiguousarray(side_by_side)
        np.copyto(out, side_by_side)
        return out
    return np.matmul(a, b, out=out)


@dataclass
class Buffers:
    """Arrays that ``forward`` and ``backward`` write into instead of allocating, for
    one batch shape. A large batch's layer is a large array (100 000 rows of 128 floats
    are 100 MB) and a fresh one every step costs page faults as well as the arithmetic;
    these are made once and reused every step.

    ``acts[l]``: ``(..., n, sizes[l + 1])``, one a layer; ``deltas[l]`` and
    ``derivatives[l]`` the same for the hidden layers only; ``grads``: the parameters'
    shapes; ``ones``: ``(1, n)``, see ``_row_sums``. ``wide``: replicas on a shared
    input, the first hidden layer's arrays replica-middle (see the module's docstring);
    None otherwise."""

    acts: list[np.ndarray]
    deltas: list[np.ndarray]
    derivatives: list[np.ndarray]
    grads: Params
    ones: np.ndarray
    wide: SideBySide | None = None

    @classmethod
    def like(cls, net: Network, params: Params, X: np.ndarray) -> Buffers:
        """Buffers for batches shaped like ``X: (..., n, d)``, with ``params``' replicas."""
        W = params.weights[0]
        rows = (*W.shape[:-2], X.shape[-2])  # (..., n)
        dtype = np.result_type(X, W)
        layers = [np.empty((*rows, size), dtype) for size in net.sizes[1:]]
        hidden = layers[:-1]
        wide = None
        if W.ndim == 3 and X.ndim == 2 and hidden and W.shape[-1] > 1:
            R, n, h = hidden[0].shape
            wide = SideBySide(*(np.empty((n, R, h), dtype) for _ in range(3)))
        return cls(
            acts=layers,
            deltas=[np.empty_like(a) for a in hidden],
            derivatives=[np.empty_like(a) for a in hidden],
            grads=Params(
                [np.empty_like(w) for w in params.weights],
                [np.empty_like(b) for b in params.biases],
            ),
            ones=np.ones((1, X.shape[-2]), dtype),
            wide=wide,
        )


@dataclass
class SideBySide:
    """The first hidden layer of replicas on a shared input, as replica-middle memory
    ``(n, R, h)`` (``.transpose(1, 0, 2)`` is the ``(R, n, h)`` view): its activation
    (the GEMM lands there, a copy goes replica-first into ``acts[0]``), the activation's
    slope, and the delta its weights' gradient GEMM reads. Elementwise passes run on the
    memory itself, contiguous, where NumPy skips its general iterator."""

    act: np.ndarray
    slope: np.ndarray
    delta: np.ndarray


def _row_sums(delta: np.ndarray, ones: np.ndarray | None, out: np.ndarray | None) -> np.ndarray:
    """delta (..., n, k) summed over its n rows -> (..., 1, k), as ``ones (1, n) @ delta``:
    BLAS reads the rows 3 to 8 times as fast as np.sum(axis=-2) (whose every call also
    costs about 1 us more), and matmul's stack of products gives each replica the same
    bits as its own network's product would."""
    if ones is None:
        ones = np.ones((1, delta.shape[-2]), delta.dtype)
    if delta.ndim == 3 and not delta.flags.c_contiguous:  # replica-middle: see the module
        delta = relaid(delta, np.empty(delta.shape, delta.dtype))
    return (np.dot if delta.ndim == 2 else np.matmul)(ones, delta, out=out)


def forward(
    net: Network, params: Params, X: np.ndarray, buffers: Buffers | None = None
) -> list[np.ndarray]:
    """X: (..., n, d) -> [X, a_1, ..., a_L], a_l: (..., n, sizes[l]).

    With ``buffers`` the activations are written into ``buffers.acts`` (and stay valid
    until the next pass that uses them). Run it under ``np.errstate(over="ignore")``: a
    saturated sigmoid overflows exp to inf on its way to the correct 0 (``predict`` and
    ``train`` do this for you)."""
    mm = _matmul_for(params.weights[0])
    outs = buffers.acts if buffers else _NONES
    wide = buffers.wide if buffers else None
    acts = [X]
    a = X
    for W, b, act, out in zip(params.weights, params.biases or _NONES, net.activations, outs):
        if wide is not None and a is X:
            a = _side_by_side_layer(X, W, b, act, wide, out)
        else:
            z = mm(a, W, out)  # (..., n, fan_out)
            if b is not None:
                z += b  # broadcast (..., 1, fan_out)
            a = act.function(z, z)  # z is not needed once activated: overwrite it
        acts.append(a)
    return acts


def _side_by_side_layer(X, W, b, act, wide: SideBySide, out: np.ndarray) -> np.ndarray:
    """The first layer of replicas on a shared input: the GEMM lands in ``wide.act``,
    which is activated there, where its (n, R, h) memory is contiguous (NumPy's fast
    path for elementwise passes), then copied replica-first into ``out``."""
    z = wide.act
    _stacked_matmul(X, W, z.transpose(1, 0, 2))
    if b is not None:
        z += b.transpose(1, 0, 2)  # (1, R, h)
    act.function(z, z)
    return relaid(z.transpose(1, 0, 2), out)


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
    in place, when ``buffers`` are given. ``acts`` must come from ``forward`` with the
    same buffers (replicas on a shared input read their first layer's activation from
    ``buffers.wide``)."""
    mm = _matmul_for(params.weights[0])
    derivative = net.activations[0].derivative
    weights = params.weights
    last = len(weights) - 1
    wide = buffers.wide if buffers else None
    if buffers:
        grads_w, grads_b = buffers.grads.weights, buffers.grads.biases
        deltas, derivatives, ones = buffers.deltas, buffers.derivatives, buffers.ones
    else:
        grads_w = [None] * (last + 1)
        grads_b = [None] * (last + 1) if params.biases else []
        deltas = derivatives = _NONES
        ones = None
    for l in range(last, -1, -1):
        grads_w[l] = mm(acts[l].mT, delta, grads_w[l])  # (..., fan_in, fan_out)
        if grads_b:
            grads_b[l] = _row_sums(delta, ones, grads_b[l])  # (..., 1, fan_out)
        if l == 1 and wide is not None:
            # Into the first layer of replicas on a shared input: replica-middle, from
            # the activation the forward pass left there, for its gradient's GEMM.
            slope = derivative(wide.act, wide.slope)  # (n, R, h)
            if delta.shape[-1] == 1:
                # One output a replica: delta @ W.mT is an outer product, one
                # multiplication an element. Broadcast along the replicas (contiguous
                # copies of both sides, R innermost) it gives matmul's bits in about 6 us
                # instead of 9 for matmul's generic loop a replica (100 of 15 x 4).
                along = np.ascontiguousarray(delta[..., 0].T)[:, None, :]  # (n, 1, R)
                weights_along = np.ascontiguousarray(weights[l][..., 0].T)  # (h, R)
                np.multiply(along, weights_along, out=wide.delta.transpose(0, 2, 1))
            else:
                mm(delta, weights[l].mT, wide.delta.transpose(1, 0, 2))
            wide.delta *= slope
            delta = wide.delta.transpose(1, 0, 2)  # (R, n, h)
        elif l:
            slope = derivative(acts[l], derivatives[l - 1])  # (..., n, fan_in)
            delta = mm(delta, weights[l].mT, deltas[l - 1])  # (..., n, fan_in)
            delta *= slope
    return Params(grads_w, grads_b) if buffers is None else buffers.grads
