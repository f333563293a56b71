"""What a batched sweep costs besides training and writing run folders (issue 14, part 3),
in CPU, in this process.

1. Per job, Hydra's job machinery: Hydra's ``run_job`` against the batched launcher's own
   (``hydra_plugins/nnexp_batched_launcher/_job.py``) on the same jobs of a red/blue seed
   sweep, with a task that only logs a line, taking turns (best of ``--repeats``): the
   ``.hydra/`` files, the log file, ``HydraConfig``, callbacks and the ``JobReturn``.
2. The sweep's main process before the first unit of work, for ``--jobs`` jobs: nnexp's
   sweep check, the sweeper's ``validate_batch_is_legal`` and the launch's preparation
   (each job's recipe, validation, grouping), best of ``--repeats``.

    python benchmarks/sweep_bookkeeping.py [--jobs 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

SWEEP = ["experiment=red_blue", "epochs=1000"]


def _task(cfg) -> int:
    logging.getLogger("nnexp").info("seed %s", cfg.seed)
    return 0


def per_job(loader, master, jobs: int, repeats: int) -> dict[str, float]:
    """CPU milliseconds a job of Hydra's run_job and of the launcher's, taking turns."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.utils import JobRuntime, run_job
    from hydra.types import HydraContext
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _core, _job

    context = HydraContext(config_loader=loader, callbacks=Callbacks(master))
    JobRuntime.instance().set("name", "nnexp")
    _core.compose_through_cache(loader, master)
    composer, cache = _core._COMPOSER[0], OmegaConf.get_cache(master)
    recipes = [composer.take([f"seed={seed}", *SWEEP]) for seed in range(jobs)]

    configs: list = []

    def hydra() -> None:
        for config in configs:
            run_job(_task, config, "hydra.sweep.dir", "hydra.sweep.subdir", context)

    def launcher() -> None:
        for num, recipe in enumerate(recipes):
            _job.run(recipe, num, cache, _task, context, "hydra.sweep.dir")

    best = {"Hydra's run_job": float("inf"), "the launcher's (_job.run)": float("inf")}
    for _ in range(repeats):
        for name, run in zip(best, (hydra, launcher)):
            # run_job is handed each job's config made beforehand, as the launch made them
            # before (not timed: it changes them, so they are made anew each turn).
            configs[:] = [recipe.config(cache, num) for num, recipe in enumerate(recipes)]
            started = time.process_time()
            run()
            best[name] = min(best[name], (time.process_time() - started) / jobs * 1e3)
    return best


def main_process(loader, make_master, jobs: int, repeats: int) -> float:
    """CPU seconds from the sweep check to the units of work, best of ``repeats``."""
    from hydra_plugins.nnexp_batched_launcher import _core
    from nnexp.edge import sweep_check

    best = float("inf")
    for _ in range(repeats):
        master = make_master([f"seed=range({jobs})"])
        started = time.process_time()
        _core.compose_through_cache(loader, master)
        checked, _ = sweep_check.check(master)
        assert all(job.reason is None for job in checked)
        overrides, _, _ = sweep_check.job_overrides(master)
        for job in overrides:  # the sweeper's validate_batch_is_legal
            loader.load_sweep_config(master_config=master, sweep_overrides=job)
        composer = _core._COMPOSER[0]
        numbered = dict(enumerate(overrides))
        _core._JOBS.update({num: composer.take(job) for num, job in numbered.items()})
        ready = _core._trainable(numbered, Path(str(master.hydra.sweep.dir)))
        units = _core._units(numbered, ready, 128, 2)
        best = min(best, time.process_time() - started)
        assert sum(len(nums) for nums, _ in units) == jobs
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import setup_globals
    from hydra.types import RunMode

    from nnexp.edge.config import CONF_DIR, register

    register()
    folder = Path(tempfile.mkdtemp(prefix="nnexp-bookkeeping-"))
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        setup_globals()
        loader = GlobalHydra.instance().config_loader()

        def make_master(extra: list[str]):
            overrides = [f"hydra.sweep.dir={folder / 'sweep'}", *SWEEP, *extra]
            return loader.load_configuration("config", overrides, run_mode=RunMode.MULTIRUN)

        make_master([])  # imports and first composition out of the way
        seconds = main_process(loader, make_master, args.jobs, args.repeats)
        jobs = min(args.jobs, 50)
        ms = per_job(loader, make_master([]), jobs, args.repeats)
    logging.getLogger().handlers.clear()
    print(f"per job, Hydra's job machinery ({jobs} jobs, best of {args.repeats}, CPU):")
    for name, value in ms.items():
        print(f"  {name:28s} {value:6.2f} ms")
    ratio = ms["Hydra's run_job"] / ms["the launcher's (_job.run)"]
    print(f"  ratio {ratio:.1f}x")
    print(
        f"main process, sweep check to units of work, {args.jobs} jobs "
        f"(best of {args.repeats}, CPU): {seconds:.3f} s"
    )


if __name__ == "__main__":
    main()
