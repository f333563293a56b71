"""The launcher class Hydra instantiates. Jobs whose task is nnexp's are batched (the work
is in ``_core``, imported only then); any other task runs job by job through Hydra's own
``run_job``, exactly as Hydra's basic launcher runs it. Importing this module loads only
Hydra and OmegaConf: nothing here changes Hydra's global state."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


def is_nnexp_task(task_function: object) -> bool:
    """Whether Hydra handed over nnexp's own task (``nnexp.edge.task.task``, the function
    ``nnexp.edge.main`` decorates). Compared by identity: an app built on nnexp wraps it
    in a task of its own, which must run as written. If nnexp's task module was never
    imported, the task cannot be nnexp's, and nothing is imported to find that out."""
    module = sys.modules.get("nnexp.edge.task")
    return module is not None and task_function is getattr(module, "task", None)


class BatchedLauncher(Launcher):
    def __init__(self, max_replicas: int = 128, n_jobs: int = 0) -> None:
        self.max_replicas = max_replicas
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context
        if is_nnexp_task(task_function):
            from . import _core

            _core.compose_through_cache(hydra_context.config_loader, config)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        if not job_overrides:
            return []
        if is_nnexp_task(self.task_function):
            from . import _core

            return _core.launch(self, job_overrides, initial_job_idx)
        return self.launch_each(job_overrides, initial_job_idx)

    def launch_each(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> list[JobReturn]:
        """Run each job with the task Hydra gave, one after another in this process."""
        assert self.config is not None and self.hydra_context is not None
        assert self.task_function is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"Launching {len(job_overrides)} jobs one by one (not nnexp's task)")
        runs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            sweep_config = self.hydra_context.config_loader.load_sweep_config(
                self.config, list(overrides)
            )
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = idx
                sweep_config.hydra.job.num = idx
            runs.append(
                run_job(
                    hydra_context=self.hydra_context,
                    task_function=self.task_function,
                    config=sweep_config,
                    job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir",
                )
            )
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return runs
