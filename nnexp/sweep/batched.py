"""Training many jobs of a sweep as one stacked computation.

Jobs whose configs differ only in values that can vary per replica (``REPLICA_OPTIONS``)
share a dataset, an architecture and a schedule, so their parameters stack along a
leading replica axis and ``train`` runs them together: NumPy's per-call overhead is paid
once for the whole group instead of once per job. Each replica is built exactly as its own
job would build it (same config, same generator, same draws), and its slice of the
result is handed back as that job's own (Setup, History).
"""

from __future__ import annotations

import json
from dataclasses import replace

from ..core.optim import OPTIMIZERS, coefficients
from ..core.stacked import per_replica, replica_histories, stack, unstack
from ..core.train import History, train
from ..run import learning
from ..run.setup import (
    DEFAULT_MAX_MEMORY_GB,
    GIB,
    ConfigError,
    Setup,
    build,
    coefficient_option,
    load_dataset,
    memory_estimate,
    select,
)

# Options that may differ between the replicas of one group. Everything else (dataset,
# architecture, activation, loss, batching, epochs, dtype, logging) defines the group.
REPLICA_OPTIONS = (
    "seed",
    "rng",
    "lr",
    "progress",
    "model.init_scale",
    "optimizer.momentum",
    "optimizer.beta1",
    "optimizer.beta2",
    "optimizer.eps",
    "optimizer.weight_decay",
)


def group_key(plain: dict) -> str:
    """The part of a (plain, resolved) job config that must be equal within a group."""
    shared = json.loads(json.dumps(plain))
    shared.pop("hydra", None)
    for dotted in REPLICA_OPTIONS:
        parent, _, leaf = dotted.rpartition(".")
        (select(shared, parent) if parent else shared).pop(leaf)
    # Weight decay switches the update to its general form, whose rounding differs from
    # the decay-free one; keeping the two apart keeps every replica equal to its own run.
    shared["decays"] = select(plain, "optimizer.weight_decay") > 0
    return json.dumps(shared, sort_keys=True)


def groups(plain_configs: dict[int, dict], max_replicas: int) -> list[list[int]]:
    """Job numbers grouped by ``group_key``, each group cut to at most ``max_replicas``,
    in the order the jobs came."""
    by_key: dict[str, list[int]] = {}
    for num, plain in plain_configs.items():
        by_key.setdefault(group_key(plain), []).append(num)
    return [
        nums[i : i + max_replicas]
        for nums in by_key.values()
        for i in range(0, len(nums), max_replicas)
    ]


def train_group(cfgs: list) -> list[tuple[Setup, History]]:
    """Train the jobs ``cfgs`` (validated configs of one group) together; return each
    job's (Setup, History) as if it had trained alone."""
    first = cfgs[0]
    dataset = load_dataset(first.dataset)
    need = (
        len(cfgs) * memory_estimate(first, len(dataset.X), dataset.n_features, dataset.n_classes)[0]
    )
    limit = float(first.get("max_memory_gb", None) or DEFAULT_MAX_MEMORY_GB)
    if need > limit * GIB:
        # Stacked, the replicas' arrays are alive at once; each job alone may still fit
        # (the launcher then trains them one by one).
        raise ConfigError(
            f"{len(cfgs)} replicas together would need about {need / GIB:.3g} GiB, more "
            f"than max_memory_gb={limit:g}"
        )
    setups = [build(cfg, dataset) for cfg in cfgs]
    params = stack([s.params for s in setups])
    rule = OPTIMIZERS[first.optimizer.name]
    optimizer = rule(
        params,
        **{
            name: per_replica([float(select(cfg, coefficient_option(name))) for cfg in cfgs])
            for name in coefficients(rule)
        },
    )
    shared = setups[0]
    # Snapshots of the stacked parameters, each replica's own taken apart afterwards.
    snap = learning.recorder(
        shared.dataset, params, first.epochs, shared.train_kwargs["log_every"], first.snapshots
    )
    history = train(
        shared.net,
        params,
        optimizer,
        shared.loss,
        shared.data,
        rng=[s.rng for s in setups],
        validation=shared.validation,
        on_log=snap,
        **shared.train_kwargs,
    )
    histories = replica_histories(shared.train_kwargs["log_every"], first.epochs, history)
    return [
        (
            replace(
                setup,
                params=unstack(params, r),
                # A replica that diverged or stopped early takes no snapshots after it.
                snapshots=[(e, p) for e, p in snap.replica(r) if e <= own.epochs[-1]]
                if snap
                else [],
            ),
            own,
        )
        for r, (setup, own) in enumerate(zip(setups, histories))
    ]
