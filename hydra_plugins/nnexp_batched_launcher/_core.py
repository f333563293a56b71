"""Launch a sweep in two phases.

1. Compose every job's config and group the jobs that can train together (see
   ``nnexp.sweep.batched``), cutting each group into one chunk per process.
2. In parallel processes: train each chunk as one stacked computation, then run each of
   its jobs through Hydra's own ``run_job`` — output folder, ``.hydra/`` files, log
   file, callbacks, ``JobReturn`` — with a task that writes the already trained
   network's run folder. A job that could not join a group (a bad value, an unreadable
   dataset, a finished run to resume) runs nnexp's ordinary task there instead, which
   records or skips it exactly as the basic launcher would.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, run_job, setup_globals
from omegaconf import OmegaConf

from nnexp.core.data import DataError
from nnexp.edge.compose import shared
from nnexp.edge.config import validate
from nnexp.run import figures
from nnexp.run.setup import ConfigError
from nnexp.sweep import batched, resume

from . import _job

log = logging.getLogger(__name__)

# Filled before the writer processes fork, so each inherits them without pickling.
_JOBS: dict = {}  # job number -> its Recipe (nnexp.edge.compose)
_READY: dict = {}  # job number -> plain task config, for the jobs that train in a group
_TRAINED: dict = {}  # job number -> (Setup, History), in the process that trained it
_CONTEXT: list = []  # the Hydra context, the task Hydra handed the launcher, the sweep config
_CACHE: list = []  # the master config's resolver cache (the sweep's ${now:...} folder)
_COMPOSER: list = []  # the sweep's Composer (nnexp.edge.compose), shared with its check
_JOB_LOGGING = [False]  # whether the root logger is a job's (one ran since Hydra's was set)


def _output_dir(sweep_config) -> Path:
    HydraConfig.instance().set_config(sweep_config)  # the subdir may ask ${hydra:...}
    subdir = str(OmegaConf.select(sweep_config, "hydra.sweep.subdir"))
    return Path(str(sweep_config.hydra.sweep.dir)) / subdir


def _write_task(cfg) -> float:
    """The task each job runs: write what its group trained, or train alone."""
    task = _CONTEXT[1]
    return task(cfg, trained=_TRAINED.pop(HydraConfig.get().job.num, None))


def _config(num: int):
    """The job's composed sweep config, as the launcher hands it to ``run_job``."""
    return _JOBS[num].config(_CACHE[0], num)


def _run(num: int) -> JobReturn:
    """The job through Hydra's job machinery: ``_job.run``, or Hydra's ``run_job`` where
    that one would not leave the same (``_job.fits``)."""
    recipe, hydra_context, cache = _JOBS[num], _CONTEXT[0], _CACHE[0]
    _JOB_LOGGING[0] = True  # the job sets its own logging up
    if _job.fits(hydra_context, recipe, cache):
        return _job.run(recipe, num, cache, _write_task, hydra_context, "hydra.sweep.dir")
    return run_job(
        hydra_context=hydra_context,
        task_function=_write_task,
        config=recipe.config(cache, num),
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def _not_in_a_job_file(level: int, message: str, *args) -> None:
    """Logged as the launcher's other lines are, on the terminal in Hydra's own format,
    and not to a file. After a job ran in this process the root logger is that job's:
    its file handler writes to the job's nnexp.log, where a line about a group of other
    jobs does not belong (which job's log it landed in was the processes' scheduling's
    choice, so the same sweep left different logs), and its console shows the job's
    format, the logger's module name in place of Hydra's tag. Hydra's basic launcher
    sets its own logging up again after each job; this does so before such a line."""
    if _JOB_LOGGING[0]:
        _hydra_logging()
    log.log(level, message, *args)


def _hydra_logging() -> None:
    """Hydra's logging set-up of the sweep's own lines (``hydra.hydra_logging``)."""
    config = _CONTEXT[2]
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    _JOB_LOGGING[0] = False


def _work(unit: tuple[list[int], bool]) -> list[JobReturn]:
    """One unit of work: train a chunk of a group together (when ``together``), then run
    each of its jobs through Hydra, which writes the run folders."""
    nums, together = unit
    if together:
        started = time.perf_counter()
        try:
            # Each job's task config, made from its template's (a tenth of what making a
            # config of the plain values grouping read costs).
            cfgs = [_job.task_config(_JOBS[num], _CACHE[0]) for num in nums]
            _TRAINED.update(zip(nums, batched.train_group(cfgs)))
            _not_in_a_job_file(
                logging.INFO,
                "trained %s: %s in %.2f s",
                _jobs_named(nums),
                "1 replica" if len(nums) == 1 else f"{len(nums)} replicas together",
                time.perf_counter() - started,
            )
        except Exception as error:
            # A bad value, an unreadable dataset or anything else: no job is lost with its
            # group. Each trains alone, and one that fails again records its own error in
            # its own folder, as with any launcher.
            known = isinstance(error, (ConfigError, DataError))
            _not_in_a_job_file(
                logging.WARNING,
                "%s train%s alone: %s",
                _jobs_named(nums),
                "s" if len(nums) == 1 else "",
                error if known else f"{type(error).__name__}: {error}",
            )
    return [_run(num) for num in nums]


def _trainable(jobs: dict, sweep_dir: Path) -> dict:
    """Job number -> plain task config, for the jobs that should train in a group: not
    the ones a bad value will fail, nor the ones an earlier attempt finished (looked
    for only when the sweep folder holds any finished run at all). ``jobs``: job number
    -> its overrides."""
    resuming = any(sweep_dir.glob(f"**/{resume.SUMMARY}"))
    composer = _COMPOSER[0]
    ready = {}
    for num, overrides in jobs.items():
        try:
            cfg = composer.plain(overrides)
            validate(cfg)
        except Exception:
            continue  # its own task records the failure, as with any launcher
        if resuming and resume.finished(_output_dir(_config(num)), cfg, warn=False) is not None:
            continue  # its own task will log it as skipped
        ready[num] = cfg
    return ready


def _units(jobs: dict, ready: dict, max_replicas: int, workers: int) -> list:
    """Units of work for the processes: each group cut into chunks of at most
    ``max_replicas``, the largest chunks halved until every process has one (a single
    seed sweep still trains on every core), and every other job alone."""
    chunks = batched.groups(ready, max_replicas)
    while len(chunks) < workers and max(map(len, chunks), default=0) > 1:
        largest = max(chunks, key=len)
        half = -(-len(largest) // 2)
        i = chunks.index(largest)
        chunks[i : i + 1] = [largest[:half], largest[half:]]
    return [(chunk, True) for chunk in chunks] + [
        ([num], False) for num in jobs if num not in ready
    ]


def launch(
    launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> Sequence[JobReturn]:
    setup_globals()
    config = launcher.config
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    for name in ("max_replicas", "n_jobs"):
        value, low = getattr(launcher, name), 1 if name == "max_replicas" else 0
        if not isinstance(value, int) or value < low:
            raise ValueError(
                f"hydra.launcher.{name}={value!r} is not allowed: it must be an integer >= {low}"
            )
    if not job_overrides:
        return []
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    _JOBS.clear()
    _TRAINED.clear()
    _job.forget()
    _CONTEXT[:] = [launcher.hydra_context, launcher.task_function, config]
    composer = _COMPOSER[0]
    # Hydra copies the master config's resolved values (the sweep's ${now:...} folder)
    # into a job's config as it composes it; nnexp's check composes before the sweeper
    # resolves its folder, so every job gets the master's values as it launches.
    _CACHE[:] = [OmegaConf.get_cache(config)]
    overrides_of = {initial_job_idx + i: list(o) for i, o in enumerate(job_overrides)}
    for num, overrides in overrides_of.items():
        _JOBS[num] = composer.take(overrides)
    log.info(
        "composed %s (%s)",
        _count(len(_JOBS), "job config"),
        "each by Hydra"
        if composer.composed >= len(_JOBS)
        else f"{composer.composed} by Hydra, the rest derived from them",
    )

    _READY.clear()
    _READY.update(_trainable(overrides_of, sweep_dir))
    workers = min(launcher.n_jobs or _cores(), len(_JOBS))
    units = _units(_JOBS, _READY, launcher.max_replicas, workers)
    log.info(
        "%s in %s on %s",
        _count(len(_JOBS), "job"),
        _count(len(units), "unit of work", "units of work"),
        _count(workers, "process", "processes"),
    )
    with _sigterm_as_interrupt():
        if workers == 1:
            done = [_work(unit) for unit in units]
            if _JOB_LOGGING[0]:  # the lines after the jobs' are the sweep's again
                _hydra_logging()
        else:
            done = _in_processes(units, workers)
    by_num = {num: ret for (nums, _), rets in zip(units, done) for num, ret in zip(nums, rets)}
    return [by_num[num] for num in _JOBS]


def _in_processes(units: list, workers: int) -> list:
    """Run the units in ``workers`` forked processes, each training its chunks and
    writing their folders: both phases in parallel. Workers end with this process: when
    it is killed outright (``_end_with_parent``) or interrupted (Ctrl-C, SIGTERM: the
    workers are killed and the interruption goes on up, so the sweep stops as the basic
    launcher's does and a resume redoes the unfinished jobs)."""
    # Every writer plots, and so does the sweep's report at the end, in this process:
    # import Matplotlib and load its fonts once here, and each fork inherits them.
    figures.warm_up()
    # Everything alive now lives as long as the sweep: out of the collector's reach, a
    # worker's full collections no longer walk the ~10^5 objects it inherits (and the
    # pages of memory they sit on stay shared with this process instead of being copied
    # on the first walk). Python's documented way to fork workers (gc.freeze).
    gc.freeze()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_end_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        # The workers are forked as the units are submitted. A Ctrl-C in that instant
        # would reach a worker before it ignores SIGINT (``_end_with_parent``) and break
        # the pool: hold the two signals while forking (each worker unblocks them once its
        # handlers are set); here they are delivered once submission is done.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            results = pool.map(_work, units)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        done = list(results)
    except BaseException:
        # ProcessPoolExecutor has no public way to stop its workers before Python 3.14
        # (terminate_workers); its own table of them is the only handle.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        # Wait for the pool's manager thread, which sees the workers die and closes its
        # wake-up pipe: left running, it could close that pipe while Python's exit handler
        # for the pool writes to it, which prints a traceback after the one-line message
        # (the two race: Python 3.11's concurrent.futures takes no lock there).
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return done


def _end_with_parent(parent: int) -> None:
    """In each worker, first: die with the sweep's main process. On Linux the kernel
    sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG), whatever kills it
    (kill -9 included); a parent gone before that call is caught by its pid. Ctrl-C,
    which a terminal sends to every process of the sweep, is left to the main process,
    which stops the workers itself (``_in_processes``); SIGTERM takes its default action
    (the handler inherited from the main process would not)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl: see the docstring
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_STOPS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM to the sweep's main process (a scheduler's stop) is handled as Ctrl-C is:
    a KeyboardInterrupt, which stops the workers and ends the sweep in one line."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals to whoever runs us
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def compose_through_cache(loader, master) -> None:
    """Put the sweep's ``Composer`` (``nnexp.edge.compose``) in front of Hydra's config
    loader.

    Hydra's sweepers compose every job once, only to check that it can be composed
    (``Sweeper.validate_batch_is_legal``), before handing the same overrides to the
    launcher, which must compose them again: two compositions per job, each costing more
    than a small job's training, and nnexp's sweep check has composed each job once
    already. All go through the one config loader of the Hydra context, so the
    sweeper's compositions are answered by the composer the check used (its configs,
    or derived configs made and kept now), and ``launch`` takes those very configs
    instead of composing again. Compositions against any other master config pass
    straight through."""
    composer = shared(loader, master)
    _COMPOSER[:] = [composer]
    original = composer.load

    def load_sweep_config(master_config, sweep_overrides):
        if master_config is not master:
            return original(master_config, sweep_overrides)
        return composer.validate(list(sweep_overrides))

    loader.load_sweep_config = load_sweep_config


def _cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than
    the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 job``, ``2 jobs``; ``many`` where the plural is not ``one`` + s."""
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def _jobs_named(nums: list[int]) -> str:
    """``job #4``, ``jobs #0..#49``, ``jobs #0, #3, #6``, ``jobs #0..#2, #7``: each run
    of consecutive numbers as a range, so a group of every third job is not read as all
    the jobs between its first and its last."""
    runs: list[list[int]] = []
    for num in nums:
        if runs and num == runs[-1][-1] + 1:
            runs[-1].append(num)
        else:
            runs.append([num])
    named = ", ".join(f"#{run[0]}" if len(run) == 1 else f"#{run[0]}..#{run[-1]}" for run in runs)
    return f"job {named}" if len(nums) == 1 else f"jobs {named}"
