"""The batched launcher against Hydra's basic launcher on a seed sweep of a preset.

End to end: ``python -m nnexp -m experiment=red_blue seed=range(N)`` with each launcher,
as subprocesses, every run folder written (tables, plots, reports); the launchers take
turns, ``--repeats`` sweeps each, and each keeps its best, so a busy machine slows both
alike. Then training alone, in this process: one network at a time against all N
stacked, per replica-epoch (best of three each, interleaved).

    python benchmarks/batched_sweep.py [--jobs 100] [--epochs 100000] [--experiment red_blue]
                                       [--repeats 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir

from nnexp.core.optim import OPTIMIZERS
from nnexp.core.stacked import stack
from nnexp.core.train import train
from nnexp.edge.config import CONF_DIR, register
from nnexp.run.setup import build, default_log_every


def sweep_seconds(launcher: str, args, folder: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "nnexp",
        "-m",
        f"experiment={args.experiment}",
        f"seed=range({args.jobs})",
        f"epochs={args.epochs}",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={folder / launcher}",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=folder)
    seconds = time.perf_counter() - start
    finished = len(list((folder / launcher).glob("*/summary.json")))
    assert finished == args.jobs, f"{launcher}: {finished} of {args.jobs} run folders"
    return seconds


def configs(args, epochs: int, *extra: str) -> list:
    """The sweep's N job configs, with fewer epochs (``epochs``) but logged as often as
    the sweep's jobs are; ``extra``: more overrides for every job."""
    every = f"log_every={default_log_every(args.epochs)}"
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return [
            compose(
                "config",
                overrides=[
                    f"experiment={args.experiment}",
                    f"seed={s}",
                    f"epochs={epochs}",
                    every,
                    *extra,
                ],
            )
            for s in range(args.jobs)
        ]


def training_throughput(cfgs: list, repeats: int = 3) -> tuple[float, float]:
    """Microseconds per replica-epoch: the first config's network alone, and every
    config's stacked; each the best of ``repeats`` runs, the two interleaved so both see
    the same machine. Both train with the loss the setup resolved (``loss=auto`` too)."""
    first, epochs = cfgs[0], cfgs[0].epochs

    def alone() -> float:
        one = build(first)
        start = time.perf_counter()
        one.train()
        return (time.perf_counter() - start) / epochs * 1e6

    def stacked() -> float:
        setups = [build(cfg) for cfg in cfgs]
        params = stack([s.params for s in setups])
        lr = np.array([cfg.lr for cfg in cfgs]).reshape(-1, 1, 1)
        optimizer = OPTIMIZERS[first.optimizer.name](params, lr)
        one = setups[0]
        start = time.perf_counter()
        train(
            one.net,
            params,
            optimizer,
            one.loss,
            one.data,
            rng=[s.rng for s in setups],
            validation=one.validation,
            **one.train_kwargs,
        )
        return (time.perf_counter() - start) / epochs / len(cfgs) * 1e6

    times = [(alone(), stacked()) for _ in range(repeats)]
    return min(t[0] for t in times), min(t[1] for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=100_000)
    parser.add_argument("--experiment", default="red_blue")
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="sweeps with each launcher, taking turns; the best counts",
    )
    args = parser.parse_args()
    times: dict[str, list[float]] = {"batched": [], "basic": []}
    for _ in range(args.repeats):
        for launcher, seconds in times.items():
            with tempfile.TemporaryDirectory() as tmp:
                seconds.append(sweep_seconds(launcher, args, Path(tmp)))
    batched, basic = min(times["batched"]), min(times["basic"])
    alone, stacked = training_throughput(configs(args, min(args.epochs, 20_000)))
    print(
        f"{args.experiment}, seed=range({args.jobs}), {args.epochs} epochs a job; sweeps "
        f"(s): batched {', '.join(f'{t:.1f}' for t in times['batched'])}, basic "
        f"{', '.join(f'{t:.1f}' for t in times['basic'])}"
    )
    print("| measure | basic | batched | ratio |")
    print("| --- | --- | --- | --- |")
    print(
        f"| sweep wall time, every run folder written | {basic:.1f} s | {batched:.1f} s "
        f"| {basic / batched:.1f}x |"
    )
    print(
        f"| training, us per replica-epoch | {alone:.2f} | {stacked:.3f} | {alone / stacked:.1f}x |"
    )


if __name__ == "__main__":
    main()
