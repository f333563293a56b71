"""R networks of one architecture trained at once: the replica axis, and what keeps
each replica's numbers bit for bit those of its own network.

``network`` and ``train`` are written for one network; every array there may carry a
leading replica axis ``R`` (``W: (R, fan_in, fan_out)``, ``X: (R, n, d)`` or shared
``(n, d)``) and this module supplies what that axis needs:

- ``stack`` / ``unstack``: R single networks' parameters <-> one stacked ``Params``, and
  ``replica_histories``: each replica's own ``History`` out of the stacked one;
- products: ``np.matmul`` over the replica axis, each replica's matrices contiguous, so
  every replica's product is the very BLAS call its own network makes (same routine,
  shapes and strides) and rounds the same on any BLAS. Cheaper-looking alternatives do
  not: one GEMM over the replicas laid side by side, ``(n, d) @ (d, R*h)``, rounds
  differently from R products of ``(n, d) @ (d, h)`` wherever the kernel picks its code
  path by the matrix's width or stride (OpenBLAS's SkylakeX kernels for a one-row input,
  whose two-column tail and four-column blocks order their fused multiply-adds
  differently; any kernel once the inner dimension is long enough to be blocked);
- per-replica coefficients: ``coefficient``, ``one_minus_power`` and ``per_replica`` give
  the optimisers an ``(R, 1, 1)`` array of values that round as each replica's own
  Python float does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
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
