"""R networks of one architecture trained at once: the replica axis, and what keeps
each replica's numbers bit for bit those of its own network.

``network`` and ``train`` are written for one network; every array there may carry a
leading replica axis ``R`` (``W: (R, fan_in, fan_out)``, ``X: (R, n, d)`` or shared
``(n, d)``) and this module supplies what that axis needs:

- ``stack`` / ``unstack``: R single networks' parameters <-> one stacked ``Params``, and
  ``replica_histories``: each replica's own ``History`` out of the stacked one;
- ``matmul``: a product for stacked replicas. On a shared input the R first-layer
  products are one GEMM with the replicas side by side, ``(n, d) @ (d, R*h) -> (n, R*h)``,
  instead of R tiny GEMMs whose call overhead would dominate;
- the replica-middle layout: that GEMM's output, memory ``(n, R, h)`` seen as ``(R, n, h)``
  (``replica_middle``). ``SideBySide`` holds the first hidden layer's activation, slope
  and delta in it, and ``lay_side_by_side`` lays the first weight matrix out so, so the
  GEMMs read and write it with no copy. Everything a replica multiplies on its own stays
  replica-first, each replica's matrices contiguous exactly as in its own network: BLAS
  rounds some small products differently when a matrix's leading dimension changes.
  ``relaid`` is the one copy between the layouts;
- per-replica coefficients: ``coefficient``, ``one_minus_power`` and ``per_replica`` give
  the optimisers an ``(R, 1, 1)`` array of values that round as each replica's own
  Python float does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .activations import Activation
    from .network import Params
    from .train import History

# --- parameters ----------------------------------------------------------------------


def stack(params: list[Params]) -> Params:
    """R single networks -> one Params with a leading replica axis."""
    weights = [np.stack(ws) for ws in zip(*(p.weights for p in params))]
    biases = [np.stack(bs) for bs in zip(*(p.biases for p in params))]
    return replace(params[0], weights=weights, biases=biases)


def unstack(params: Params, r: int) -> Params:
    """Replica ``r`` of a stacked Params, as a single network's arrays (copies)."""
    return replace(
        params,
        weights=[w[r].copy() for w in params.weights],
        biases=[b[r].copy() for b in params.biases],
    )


def n_replicas(params: Params) -> int | None:
    """R for stacked parameters, None for one network."""
    W = params.weights[0]
    return W.shape[0] if W.ndim == 3 else None


def lay_side_by_side(params: Params) -> None:
    """For replicas trained on a shared input: lay the first weight matrix out
    replica-middle, in place (same values, new memory), so that the first layer's GEMM
    reads it and its gradient's GEMM writes it with no copy. Its only products are those
    GEMMs, so no replica's bits change; a one-column matrix is left alone (no GEMM)."""
    W = params.weights[0]
    if W.ndim == 3 and W.shape[-1] > 1 and _side_by_side(W) is None:
        R, rows, cols = W.shape
        params.weights[0] = relaid(W, replica_middle(R, rows, cols, W.dtype))


def permutations(rngs: list[Any], n: int) -> np.ndarray:
    """One shuffled order of ``range(n)`` per replica, each from its own generator: (R, n)."""
    return np.stack([r.permutation(n) for r in rngs])


def replica_histories(log_every: int, epochs: int, history: History) -> list[History]:
    """Each replica's rows: the ones its own run would have logged, up to its divergence
    or its early stop.

    The group logs a row wherever any replica diverged, and trains on past a diverged
    replica; both are dropped here. ``seconds`` is the group's wall time. (A dataclass
    ``replace`` keeps this module free of an import of ``train``, which imports it.)"""
    # Every column as one (rows, values per row) array, converted once for all replicas:
    # one value per row for shared columns (seconds), R for per-replica ones (loss, lr).
    tables = {
        name: np.asarray(values, dtype=float).reshape(len(values), -1)
        for name, values in history.columns.items()
    }
    epoch = np.asarray(history.epochs)
    logged = (epoch % log_every == 0) | (epoch == epochs)
    replicas = []
    stopped_at = np.reshape(history.stopped_at, -1)
    best_epoch = np.reshape(history.best_epoch, -1)
    for r, diverged in enumerate(int(d) for d in np.reshape(history.diverged_at, -1)):
        stopped = int(stopped_at[r]) if len(stopped_at) > 1 else int(stopped_at[0])
        rows = logged | (epoch == diverged) if diverged else logged.copy()
        end = diverged or stopped  # where the replica's own run ends
        if end:
            rows &= epoch <= end
        columns = {
            name: table[rows, r if table.shape[1] > 1 else 0].tolist()
            for name, table in tables.items()
        }
        own = replace(
            history,
            epochs=epoch[rows].tolist(),
            columns=columns,
            params=None,
            diverged_at=diverged,
            stopped_at=stopped,
            best_epoch=int(best_epoch[r]) if len(best_epoch) > 1 else int(best_epoch[0]),
            restored=history.restored and not diverged,
        )
        replicas.append(own)
    return replicas


# --- layouts -------------------------------------------------------------------------


def replica_middle(R: int, rows: int, cols: int, dtype: Any = np.float64) -> np.ndarray:
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
    otherwise loop over a transposed copy one float at a time, several times slower."""
    row = np.dtype((np.void, src.shape[-1] * src.itemsize))
    np.copyto(dst.view(row), src.view(row))
    return dst


def replica_first(a: np.ndarray) -> np.ndarray:
    """``a`` (R, rows, cols) as a contiguous array: itself, or a replica-middle one relaid."""
    if a.flags.c_contiguous:
        return a
    return relaid(a, np.empty(a.shape, a.dtype))


# --- products ------------------------------------------------------------------------


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for stacked replicas: ``b`` carries them, ``a`` too or is shared (2-D: the
    input or its transpose). With a shared ``a`` the R products are one GEMM on the
    replicas laid side by side: (n, d) @ (R, d, h) -> (n, R*h) -> (R, n, h);
    a replica-middle ``b`` or ``out`` is used in place, any other is copied. Not for one
    column per replica (h = 1): a single network's product is then a matrix-vector one,
    whose rounding a GEMM would not reproduce."""
    if a.ndim == 2 and b.shape[-1] > 1:
        R, d, h = b.shape
        wide_b = _side_by_side(b)
        if wide_b is None:
            wide_b = b.transpose(1, 0, 2).reshape(d, R * h)  # a copy
        wide_out = None if out is None else _side_by_side(out)
        if wide_out is not None:
            np.dot(a, wide_b, out=wide_out)
            return out  # type: ignore[return-value]  # wide_out is a view of out
        side_by_side = (a @ wide_b).reshape(-1, R, h).transpose(1, 0, 2)  # (R, n, h)
        if out is None:
            # A contiguous (R, n, h) keeps every later elementwise pass on its fast path.
            return np.ascontiguousarray(side_by_side)
        np.copyto(out, side_by_side)
        return out
    return np.matmul(a, b, out=out)


# --- the first layer on a shared input -----------------------------------------------


@dataclass
class SideBySide:
    """The first hidden layer of replicas on a shared input, as replica-middle memory
    ``(n, R, h)`` (``.transpose(1, 0, 2)`` is the ``(R, n, h)`` view): its activation
    (the GEMM lands there, a copy goes replica-first into the forward pass's output),
    the activation's slope, and the delta its weights' gradient GEMM reads. Elementwise
    passes run on the memory itself, contiguous, where NumPy skips its general iterator."""

    act: np.ndarray
    slope: np.ndarray
    delta: np.ndarray

    @classmethod
    def like(cls, W: np.ndarray, X: np.ndarray, hidden: list[np.ndarray]) -> SideBySide | None:
        """Arrays for a first weight matrix ``W`` and batches shaped like ``X``, given the
        hidden layers' activation buffers; None unless replicas (3-D ``W``) share a 2-D
        input, have a hidden layer and more than one unit in it."""
        if W.ndim != 3 or X.ndim != 2 or not hidden or W.shape[-1] <= 1:
            return None
        R, n, h = hidden[0].shape
        return cls(*(np.empty((n, R, h), hidden[0].dtype) for _ in range(3)))

    def forward(
        self,
        X: np.ndarray,
        W: np.ndarray,
        b: np.ndarray | None,
        act: Activation,
        out: np.ndarray,
    ) -> np.ndarray:
        """The first layer: the GEMM lands in ``act``, activated there, where its
        (n, R, h) memory is contiguous (NumPy's fast path for elementwise passes), then
        copied replica-first into ``out`` (R, n, h), which is returned."""
        z = self.act
        matmul(X, W, z.transpose(1, 0, 2))
        if b is not None:
            z += b.transpose(1, 0, 2)  # (1, R, h)
        act.function(z, z)
        return relaid(z.transpose(1, 0, 2), out)

    def backward(self, delta: np.ndarray, W: np.ndarray, derivative: Any) -> np.ndarray:
        """The second layer's ``delta`` (R, n, k) and weights ``W`` (R, h, k) -> the first
        hidden layer's delta (R, n, h), replica-middle, from the activation ``forward``
        left here, ready for its weights' gradient GEMM."""
        slope = derivative(self.act, self.slope)  # (n, R, h)
        if delta.shape[-1] == 1:
            # One output per replica: delta @ W.mT is an outer product, one multiplication
            # per element. Broadcast along the replicas (contiguous copies of both sides,
            # R innermost) it gives matmul's bits faster than matmul's generic loop over
            # the replicas.
            along = np.ascontiguousarray(delta[..., 0].T)[:, None, :]  # (n, 1, R)
            weights_along = np.ascontiguousarray(W[..., 0].T)  # (h, R)
            np.multiply(along, weights_along, out=self.delta.transpose(0, 2, 1))
        else:
            matmul(delta, W.mT, self.delta.transpose(1, 0, 2))
        self.delta *= slope
        return self.delta.transpose(1, 0, 2)  # (R, n, h)


# --- per-replica coefficients --------------------------------------------------------
# A replica must get the bits its own network gets, whose coefficients are Python floats:
# NumPy rounds such a float to the parameters' dtype in each operation, and anything
# derived from it (1 - beta, beta ** t) is computed in Python first. So an array of
# per-replica coefficients is rounded to the parameters' dtype once, after deriving what
# the update needs from its float64 values, and beta ** t is Python's power for each
# replica (NumPy's array power rounds differently for about one t in ten).


def per_replica(values: list[float]) -> float | np.ndarray:
    """One float when every replica has it (the optimiser then computes exactly as each
    replica's own run does), else the values as an (R, 1, 1) array."""
    if all(v == values[0] for v in values):
        return values[0]
    return np.array(values).reshape(-1, 1, 1)


def coefficient(value: Any, dtype: Any) -> float | np.ndarray:
    """A float stays a Python float; per-replica values become an array of ``dtype``."""
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value, dtype=np.float64).astype(dtype)


def one_minus(value: Any, dtype: Any) -> float | np.ndarray:
    """1 - value, computed in float64 before a per-replica array is rounded to ``dtype``."""
    return coefficient(1.0 - np.asarray(value, dtype=np.float64), dtype)


def one_minus_power(beta: Any, t: int, dtype: Any) -> float | np.ndarray:
    """1 - beta ** t, with Python's float power for each replica's beta."""
    if np.ndim(beta) == 0:
        return 1.0 - float(beta) ** t
    values = np.asarray(beta, dtype=np.float64)
    powers = [1.0 - b**t for b in values.ravel().tolist()]
    return np.array(powers).reshape(values.shape).astype(dtype)
