"""Launch a sweep in two phases.

1. Compose every job's config, group the jobs that can train together (see
   ``nnexp.batched``) and train each group as one stacked computation.
2. Run every job through Hydra's own ``run_job`` — output folder, ``.hydra/`` files,
   log file, callbacks, ``JobReturn`` — with a task that writes the already trained
   network's run folder, in parallel processes. A job that could not join a group (a
   bad value, an unreadable dataset, a finished run to resume) runs nnexp's ordinary
   task there instead, which records or skips it exactly as the basic launcher would.
"""
from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, run_job, setup_globals
from omegaconf import OmegaConf, open_dict

from nnexp import batched
from nnexp.app import task
from nnexp.artifacts import FINISHED, read_summary
from nnexp.config import ConfigError, validate
from nnexp.data import DataError

log = logging.getLogger(__name__)

# Filled before the writer processes fork, so each inherits them without pickling.
_JOBS: dict = {}
_TRAINED: dict = {}
_CONTEXT: list = []


def _output_dir(sweep_config) -> Path:
    HydraConfig.instance().set_config(sweep_config)
    subdir = str(OmegaConf.select(sweep_config, "hydra.sweep.subdir"))
    return Path(str(sweep_config.hydra.sweep.dir)) / subdir


def _task_config(sweep_config):
    cfg = copy.deepcopy(sweep_config)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def _write_task(cfg) -> float:
    """The task each job runs in phase 2: write what phase 1 trained, or train alone."""
    return task(cfg, trained=_TRAINED.pop(HydraConfig.get().job.num, None))


def _run(num: int) -> JobReturn:
    sweep_config = _JOBS[num]
    HydraConfig.instance().set_config(sweep_config)
    return run_job(hydra_context=_CONTEXT[0], task_function=_write_task, config=sweep_config,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


def _trainable(jobs: dict) -> dict:
    """Job number -> task config, for the jobs phase 1 should train."""
    ready = {}
    for num, sweep_config in jobs.items():
        summary = read_summary(_output_dir(sweep_config))
        if summary is not None and summary.get("status") in FINISHED:
            continue
        cfg = _task_config(sweep_config)
        try:
            validate(cfg)
        except ConfigError:
            continue
        ready[num] = cfg
    return ready


def launch(launcher, job_overrides: Sequence[Sequence[str]],
           initial_job_idx: int) -> Sequence[JobReturn]:
    setup_globals()
    config = launcher.config
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    if not isinstance(launcher.max_replicas, int) or launcher.max_replicas < 1:
        raise ValueError(f"hydra.launcher.max_replicas={launcher.max_replicas!r} is not "
                         "allowed: it must be an integer >= 1")
    Path(str(config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    _JOBS.clear()
    _TRAINED.clear()
    _CONTEXT[:] = [launcher.hydra_context]
    for i, overrides in enumerate(job_overrides):
        num = initial_job_idx + i
        sweep_config = launcher.hydra_context.config_loader.load_sweep_config(
            config, list(overrides))
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = num
            sweep_config.hydra.job.num = num
        _JOBS[num] = sweep_config

    ready = _trainable(_JOBS)
    plain = {num: OmegaConf.to_container(cfg, resolve=True) for num, cfg in ready.items()}
    for group in batched.groups(plain, launcher.max_replicas):
        started = time.perf_counter()
        try:
            results = batched.train_group([ready[num] for num in group])
        except (ConfigError, DataError) as error:
            log.warning("jobs %s train alone: %s", group, error)
            continue
        _TRAINED.update(zip(group, results))
        log.info("trained jobs %s together: %d replicas in %.2f s", _span(group), len(group),
                 time.perf_counter() - started)

    workers = launcher.n_jobs or os.cpu_count() or 1
    nums = list(_JOBS)
    log.info("writing %d run folders with %d processes", len(nums), min(workers, len(nums)))
    if workers == 1 or len(nums) == 1:
        return [_run(num) for num in nums]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_run, nums, chunksize=max(1, len(nums) // (4 * workers))))


def _span(nums: list[int]) -> str:
    return f"#{nums[0]}" if len(nums) == 1 else f"#{nums[0]}..#{nums[-1]}"
