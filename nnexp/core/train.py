"""The training loop: epochs x batches -> forward, loss gradient, backward, update, log.

Written for one network; R stacked replicas (``stacked``) go through the same loop:
their metrics come back as ``(R,)`` arrays and each replica has its own divergence epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .activations import ACTIVATIONS
from .losses import LOSSES, OUTPUT_DELTAS
from .network import Buffers, Network, Params, backward, forward, predict
from .optim import GradientDescent, Optimizer
from .stacked import n_replicas, permutations


@dataclass
class Split:
    """Encoded arrays of one split: ``X: (n, d)``, ``Y: (n, k)`` targets as the output
    layer sees them, ``labels: (n,)`` class indices."""

    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray


def encode_targets(labels: np.ndarray, n_outputs: int, dtype: DTypeLike = np.float64) -> np.ndarray:
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
    hits = guess == labels
    return hits.sum(axis=-1) / hits.shape[-1]  # np.mean's value at half its overhead


def output_delta(net: Network, loss: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The function (out, Y) -> dL/dz of the output layer, (..., n, k)."""
    closed_form = OUTPUT_DELTAS.get((net.output_activation, loss))
    if closed_form is not None:
        return closed_form
    act, grad = ACTIVATIONS[net.output_activation], LOSSES[loss].grad
    if act.derivative is None:
        return lambda out, Y: act.backprop(out, grad(out, Y))
    derivative = act.derivative

    def elementwise(out: np.ndarray, Y: np.ndarray) -> np.ndarray:
        g = grad(out, Y)
        g *= derivative(out)
        return g

    return elementwise


@dataclass
class History:
    """Metrics at the logged epochs, the final parameters and how the run ended.

    ``columns[name][i]`` belongs to ``epochs[i]``; for R replicas each entry is (R,).
    ``diverged_at`` is the first epoch whose loss was NaN or infinite (per replica: an
    (R,) int array, 0 where the replica never diverged). ``best_epoch`` is the logged
    epoch where ``monitor`` was best, ``stopped_at`` the epoch early stopping ended the
    run (0: it did not), both per replica like ``diverged_at``; ``restored``: whether
    the parameters are the best epoch's."""

    epochs: list[int] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    params: Params | None = None
    diverged_at: int | np.ndarray = 0
    seconds: float = 0.0
    monitor: str | None = None
    patience: int | None = None
    best_epoch: int | np.ndarray = 0
    stopped_at: int | np.ndarray = 0
    restored: bool = False

    def append(self, epoch: int, row: dict[str, Any]) -> None:
        self.epochs.append(epoch)
        for name, value in row.items():
            self.columns.setdefault(name, []).append(value)


def _batches(
    data: Split, batch_size: int | None, rng: Any, replicas: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch's (X, Y) batches in shuffled order: (B, d) for one network, (R, B, d)
    with one generator per replica for stacked replicas."""
    n = len(data.X)
    order = rng.permutation(n) if replicas is None else permutations(rng, n)
    size = batch_size or n
    return [
        (data.X[idx], data.Y[idx]) for idx in (order[..., i : i + size] for i in range(0, n, size))
    ]


def _fixed_batches(data: Split, batch_size: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same (X, Y) batches every epoch, in dataset order, as views (no copies)."""
    n = len(data.X)
    size = batch_size or n
    return [(data.X[i : i + size], data.Y[i : i + size]) for i in range(0, n, size)]


def evaluate(
    net: Network,
    params: Params,
    loss: str,
    split: Split,
    prefix: str = "",
    buffers: Buffers | None = None,
) -> dict[str, Any]:
    """Loss and accuracy on the whole split; ``buffers`` (shaped like ``split.X``) spare a
    large split its fresh arrays."""
    out = predict(net, params, split.X, buffers)
    return {
        prefix + "loss": LOSSES[loss].value(out, split.Y),
        prefix + "accuracy": accuracy(out, split.labels),
    }


def _folded_lr(optimizer: Optimizer) -> np.ndarray | None:
    """The lr to fold into the output layer's delta, or None. Plain gradient descent
    steps by lr times a gradient that is linear in that one (n, k) array, so scaling it
    spares scaling every parameter's gradient; the step then subtracts the gradients as
    they come (``_subtract``). Not for a unit step (nothing to scale), weight decay, or
    a rule that needs the raw gradient."""
    if type(optimizer) is GradientDescent and not optimizer.decays and not optimizer.unit_step:
        return optimizer.lr
    return None


def _is_unit_step(optimizer: Optimizer) -> bool:
    """Plain gradient descent with lr 1: the step subtracts the gradients as they are."""
    return type(optimizer) is GradientDescent and optimizer.unit_step


def _subtract(params: Params, grads: Params) -> None:
    for p, g in zip(params.arrays(), grads.arrays()):
        p -= g


def _all_finite(loss: float | np.ndarray) -> bool:
    """Whether a loss (a float, or (R,) for replicas) is finite everywhere: asked at every
    logged epoch, so a single network's float is checked without NumPy's overhead."""
    return math.isfinite(loss) if np.ndim(loss) == 0 else bool(np.isfinite(loss).all())


class _Checkpoint:
    """Parameters, optimiser state and shuffling generators as they were, so a stretch of
    epochs can be run again exactly (training is deterministic given all three)."""

    def __init__(self, params: Params, optimizer: Optimizer, rng: Any):
        self.params = [p.copy() for p in params.arrays()]
        self.optimizer = {
            k: [a.copy() for a in v] if isinstance(v, list) else v
            for k, v in vars(optimizer).items()
        }
        self.rngs = [] if rng is None else list(rng) if isinstance(rng, list) else [rng]
        self.rng_states = [_rng_state(r) for r in self.rngs]

    def restore(self, params: Params, optimizer: Optimizer) -> None:
        for p, saved in zip(params.arrays(), self.params):
            p[...] = saved
        vars(optimizer).update(self.optimizer)
        for r, state in zip(self.rngs, self.rng_states):
            _set_rng_state(r, state)


def _rng_state(rng: Any) -> Any:
    return rng.get_state() if isinstance(rng, np.random.RandomState) else rng.bit_generator.state


def _set_rng_state(rng: Any, state: Any) -> None:
    if isinstance(rng, np.random.RandomState):
        rng.set_state(state)
    else:
        rng.bit_generator.state = state


def train(
    net: Network,
    params: Params,
    optimizer: Optimizer,
    loss: str,
    data: Split,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = False,
    log_every: int = 1,
    rng: Any = None,
    validation: Split | None = None,
    on_log: Callable[[int, dict[str, Any]], None] | None = None,
    patience: int | None = None,
    monitor: str = "val_loss",
    restore_best: bool = False,
    threads: int | None = None,
) -> History:
    """Train ``params`` in place for ``epochs`` passes over ``data``.

    ``batch_size`` None is full batch. ``rng`` shuffles the batches when ``shuffle``: one
    Generator, or a list of R for stacked replicas. Metrics are evaluated on the whole
    training (and validation) set before the first epoch, every ``log_every`` epochs, at
    the last one, and at the first epoch after which the training loss is NaN or
    infinite, where a single network stops (replicas stop one by one).

    ``monitor`` (a metric of the rows) is watched at the logged epochs when ``patience``
    or ``restore_best`` is set: ``patience`` ends a network's training once that many
    epochs pass without the metric improving; ``restore_best`` gives back the parameters
    of its best logged epoch. A replica that diverges or stops keeps the parameters it
    had then while the others train on, so each ends as its own run would.

    ``threads``: how many threads a large batch's elementwise passes are split over
    (``rows``; None: the cores this process may use, at most 4). Results are the same
    bits for any number."""
    replicas = n_replicas(params)
    watch = patience is not None or restore_best
    history = History(params=params, monitor=monitor if watch else None, patience=patience)
    diverged_at = np.zeros(replicas or 1, dtype=int)
    stopped_at = np.zeros(replicas or 1, dtype=int)
    best_epoch = np.zeros(replicas or 1, dtype=int)
    best = np.full(replicas or 1, np.inf)
    sign = 1.0 if monitor.endswith("loss") else -1.0  # losses fall, accuracies rise
    best_params = [p.copy() for p in params.arrays()] if watch else []
    # Each replica's parameters when it diverged or stopped (single networks just stop).
    ended = [p.copy() for p in params.arrays()] if replicas else []
    delta_of = output_delta(net, loss)
    made: dict[tuple, Buffers] = {}

    def with_buffers(batches: list) -> list:
        """(X, Y) batches -> (X, Y, buffers): one set of buffers per batch shape, made at
        its first batch and reused by every later one."""
        return [
            (
                X,
                Y,
                made.get(X.shape)
                or made.setdefault(X.shape, Buffers.like(net, params, X, threads)),
            )
            for X, Y in batches
        ]

    fixed = None if shuffle else with_buffers(_fixed_batches(data, batch_size))
    start = time.perf_counter()

    lr = _folded_lr(optimizer)
    plain = lr is not None or _is_unit_step(optimizer)
    step = _subtract if plain else optimizer.step

    def run_epochs(first: int, last: int) -> None:
        if fixed is not None and len(fixed) == 1 and plain:
            # Full batch and a plain step: the same arrays every epoch, each gradient
            # subtracted from its parameter; the loop is just the maths.
            ((X, Y, buffers),) = fixed
            pairs = list(zip(params.arrays(), buffers.grads.arrays()))
            for _ in range(first, last + 1):
                acts = forward(net, params, X, buffers)
                delta = delta_of(acts[-1], Y)
                if lr is not None:
                    delta *= lr
                backward(net, params, acts, delta, buffers)  # into buffers.grads
                for p, g in pairs:
                    p -= g
            return
        for _ in range(first, last + 1):
            for X, Y, buffers in fixed or with_buffers(_batches(data, batch_size, rng, replicas)):
                acts = forward(net, params, X, buffers)
                delta = delta_of(acts[-1], Y)
                if lr is not None:
                    delta *= lr
                step(params, backward(net, params, acts, delta, buffers))

    def measure() -> dict:
        # Full-batch training has buffers shaped like the whole set: reuse them.
        row = evaluate(net, params, loss, data, buffers=made.get(data.X.shape))
        if validation is not None:
            row.update(evaluate(net, params, loss, validation, prefix="val_"))
        row["lr"] = optimizer.lr
        row["seconds"] = time.perf_counter() - start
        return row

    def newly_diverged(row: dict) -> np.ndarray:
        """(R,) bool: replicas whose loss is non-finite in ``row`` for the first time."""
        return ~np.isfinite(np.reshape(row["loss"], -1)) & (diverged_at == 0)

    def diverges(row: dict) -> bool:
        return not _all_finite(row["loss"]) and bool(newly_diverged(row).any())

    def keep(store: list, which: np.ndarray) -> None:
        """Copy the parameters of the replicas ``which`` (R,) bool (of the network)."""
        for saved, p in zip(store, params.arrays()):
            if replicas is None:
                saved[...] = p
            else:
                saved[which] = p[which]

    def log(epoch: int, row: dict) -> None:
        """Record the row; mark replicas whose loss first turned non-finite here."""
        history.append(epoch, row)
        if on_log:
            on_log(epoch, row)
        if not _all_finite(row["loss"]):
            fresh = newly_diverged(row)
            diverged_at[fresh] = epoch
            if replicas:
                keep(ended, fresh)

    def progress(epoch: int, row: dict) -> None:
        """At a regular logged epoch: note each running replica's best, stop the stale."""
        if not watch:
            return
        running = (diverged_at == 0) & (stopped_at == 0)
        value = sign * np.reshape(np.asarray(row[monitor], dtype=float), -1)
        with np.errstate(invalid="ignore"):
            better = running & (value < best)  # NaN never improves
        if better.any():
            best[better] = value[better]
            best_epoch[better] = epoch
            keep(best_params, better)
        if patience is not None:
            stale = running & ~better & (epoch - best_epoch >= patience)
            if stale.any():
                stopped_at[stale] = epoch
                if replicas:
                    keep(ended, stale)

    def finished() -> bool:
        return bool(((diverged_at > 0) | (stopped_at > 0)).all())

    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        row = measure()
        log(0, row)
        progress(0, row)
        done = 0
        while done < epochs and not finished():
            # Train up to the next logged epoch without looking at the loss, the cheap
            # common case; only a stretch that ends non-finite is replayed epoch by
            # epoch from its checkpoint, to find the exact epoch it diverged.
            stop = min((done // log_every + 1) * log_every, epochs)
            checkpoint = _Checkpoint(params, optimizer, rng if shuffle else None)
            run_epochs(done + 1, stop)
            row = measure()
            if diverges(row):
                checkpoint.restore(params, optimizer)
                for epoch in range(done + 1, stop):
                    run_epochs(epoch, epoch)
                    row = measure()
                    if diverges(row):
                        log(epoch, row)
                        if not replicas:
                            break
                else:
                    run_epochs(stop, stop)
                    row = measure()
                    log(stop, row)
                    progress(stop, row)
                if not replicas and diverged_at[0]:
                    break
            else:
                log(stop, row)
                progress(stop, row)
            done = stop
    # Diverged and stopped replicas get back what they had then; restore_best gives the
    # best epoch's parameters to every network that did not diverge.
    restore = (diverged_at == 0) if restore_best else np.zeros_like(diverged_at, dtype=bool)
    if replicas:
        back = ((diverged_at > 0) | (stopped_at > 0)) & ~restore
        for p, end, good in zip(params.arrays(), ended, best_params or ended):
            p[back] = end[back]
            p[restore] = good[restore]
    elif restore[0]:
        for p, good in zip(params.arrays(), best_params):
            p[...] = good
    history.best_epoch = best_epoch if replicas else int(best_epoch[0])
    history.stopped_at = stopped_at if replicas else int(stopped_at[0])
    history.restored = bool(restore.any())
    history.diverged_at = diverged_at if replicas else int(diverged_at[0])
    history.seconds = time.perf_counter() - start
    return history
