"""The training loop: epochs x batches -> forward, loss gradient, backward, update, log.

Works on one network or on R stacked replicas (see ``network``): metrics then come back
as ``(R,)`` arrays and each replica has its own divergence epoch.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .activations import ACTIVATIONS
from .losses import LOSSES, OUTPUT_DELTAS
from .network import Network, Params, backward, forward, predict


@dataclass
class Split:
    """Encoded arrays of one split: ``X: (n, d)``, ``Y: (n, k)`` targets as the output
    layer sees them, ``labels: (n,)`` class indices."""

    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray


def encode_targets(labels: np.ndarray, n_outputs: int, dtype=np.float64) -> np.ndarray:
    """Class indices (n,) -> (n, 1) 0/1 column for one output, one-hot (n, k) otherwise."""
    if n_outputs == 1:
        return labels.astype(dtype).reshape(-1, 1)
    return np.eye(n_outputs, dtype=dtype)[labels]


def accuracy(out: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """out: (..., n, k), labels: (n,) -> fraction correct, shape (...)."""
    if out.shape[-1] == 1:
        guess = out[..., 0] >= 0.5
    else:
        guess = out.argmax(axis=-1)
    return np.mean(guess == labels, axis=-1)


def output_delta(net: Network, loss: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The function (out, Y) -> dL/dz of the output layer, (..., n, k)."""
    closed_form = OUTPUT_DELTAS.get((net.output_activation, loss))
    if closed_form is not None:
        return closed_form
    act, grad = ACTIVATIONS[net.output_activation], LOSSES[loss].grad
    if act.derivative is None:
        return lambda out, Y: act.backprop(out, grad(out, Y))
    derivative = act.derivative

    def elementwise(out, Y):
        g = grad(out, Y)
        g *= derivative(out)
        return g
    return elementwise


@dataclass
class History:
    """Metrics at the logged epochs, the final parameters and how the run ended.

    ``columns[name][i]`` belongs to ``epochs[i]``; for R replicas each entry is (R,).
    ``diverged_at`` is the first epoch whose loss was NaN or infinite (per replica: an
    (R,) int array, 0 where the replica never diverged)."""

    epochs: list[int] = field(default_factory=list)
    columns: dict[str, list] = field(default_factory=dict)
    params: Params | None = None
    diverged_at: object = 0
    seconds: float = 0.0

    def append(self, epoch: int, row: dict) -> None:
        self.epochs.append(epoch)
        for name, value in row.items():
            self.columns.setdefault(name, []).append(value)


def _batches(data: Split, batch_size: int | None, rng, replicas: int | None) -> list:
    """One epoch's (X, Y) batches in shuffled order: (B, d) for one network, (R, B, d)
    with one generator a replica for stacked replicas."""
    n = len(data.X)
    if replicas is None:
        order = rng.permutation(n)
    else:
        order = np.stack([r.permutation(n) for r in rng])  # (R, n)
    size = batch_size or n
    return [(data.X[idx], data.Y[idx]) for idx in
            (order[..., i:i + size] for i in range(0, n, size))]


def _fixed_batches(data: Split, batch_size: int | None) -> list:
    """The same (X, Y) batches every epoch, in dataset order, as views (no copies)."""
    n = len(data.X)
    size = batch_size or n
    return [(data.X[i:i + size], data.Y[i:i + size]) for i in range(0, n, size)]


def evaluate(net: Network, params: Params, loss: str, split: Split, prefix: str = "") -> dict:
    out = predict(net, params, split.X)
    return {prefix + "loss": LOSSES[loss].value(out, split.Y),
            prefix + "accuracy": accuracy(out, split.labels)}


def _finite(x) -> np.ndarray | bool:
    return np.isfinite(x) if np.ndim(x) else math.isfinite(x)


def _finite_rows(delta: np.ndarray) -> np.ndarray | bool:
    """Whether the output gradient (..., n, k) is finite, per replica. A NaN or inf in
    the output reaches it, and so does an overflowing error (its square is the loss's
    scale); vdot is the cheapest reduction NumPy has for one network."""
    if delta.ndim == 2:
        return math.isfinite(np.vdot(delta, delta))
    return np.isfinite(np.sum(delta * delta, axis=(-2, -1)))


def train(net: Network, params: Params, optimizer, loss: str, data: Split, epochs: int,
          batch_size: int | None = None, shuffle: bool = False, log_every: int = 1,
          rng=None, validation: Split | None = None,
          on_log: Callable[[int, dict], None] | None = None) -> History:
    """Train ``params`` in place for ``epochs`` passes over ``data``.

    ``batch_size`` None is full batch. ``rng`` shuffles the batches when ``shuffle``: one
    Generator, or a list of R for stacked replicas. Metrics are evaluated on the whole
    training (and validation) set before the first epoch, every ``log_every`` epochs, at
    the last one and at the epoch where the loss first turns NaN or infinite."""
    replicas = params.weights[0].shape[0] if params.weights[0].ndim == 3 else None
    history = History(params=params)
    diverged_at = np.zeros(replicas, dtype=int) if replicas else 0
    delta_of = output_delta(net, loss)
    fixed = None if shuffle else _fixed_batches(data, batch_size)
    start = time.perf_counter()

    def log(epoch: int) -> dict:
        row = evaluate(net, params, loss, data)
        if validation is not None:
            row.update(evaluate(net, params, loss, validation, prefix="val_"))
        row["lr"] = optimizer.lr
        row["seconds"] = time.perf_counter() - start
        history.append(epoch, row)
        if on_log:
            on_log(epoch, row)
        return row

    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        log(0)
        for epoch in range(1, epochs + 1):
            for X, Y in fixed or _batches(data, batch_size, rng, replicas):
                acts = forward(net, params, X)
                delta = delta_of(acts[-1], Y)
                np.multiply(delta, optimizer.delta_scale, out=delta)
                optimizer.step(params, backward(net, params, acts, delta))
            ok = _finite_rows(delta)
            fresh = np.any(~ok & (diverged_at == 0)) if replicas else not ok
            if epoch % log_every == 0 or epoch == epochs or fresh:
                ok = ok & _finite(log(epoch)["loss"])
            if replicas:
                diverged_at[~ok & (diverged_at == 0)] = epoch
                if np.all(diverged_at > 0):
                    break
            elif not ok:
                diverged_at = epoch
                break
    history.diverged_at = diverged_at
    history.seconds = time.perf_counter() - start
    return history
