"""The Hydra task: config -> run folder, and what a failure means.

``task(cfg)`` is what ``@hydra.main`` (``edge/main.py``) and the batched launcher call. It
decides what a failure means: in a single run a non-zero exit, in a sweep a ``failed``
summary and a normal return, so one bad job never takes the others down (Hydra skips its
multirun-end callback otherwise). Importing this module has no effect on Hydra's state.
"""

from __future__ import annotations

import logging
import shlex
import sys
import time
import traceback
from pathlib import Path

from ..core.data import DataError, Dataset
from ..core.train import History
from ..run.execute import record_failure, run
from ..run.setup import ConfigError, Setup, dataset_key
from ..sweep import resume
from .config import validate
from .errors import os_error_line

log = logging.getLogger("nnexp")

# Datasets a single run's check (edge/sweep_check.py RunCheck) loaded before Hydra made
# the run's folder, by ``dataset_key``: the run trains on them instead of loading again.
CHECKED: dict[str, Dataset] = {}


def command_line() -> str:
    """The command that reproduces this run."""
    from hydra.core.hydra_config import HydraConfig

    overrides = list(HydraConfig.get().overrides.task)
    return " ".join(["python -m nnexp", *map(shlex.quote, overrides)])


def _record(out_dir: Path, cfg, error: BaseException, command: str) -> dict:
    """``record_failure``, or, when even the failure cannot be written, the same record
    kept in memory (the job is then unfinished on disk, and a resumed sweep redoes it)."""
    try:
        return record_failure(out_dir, cfg, error, command)
    except OSError as second:
        log.error("could not record the failure either: %s", os_error_line(second))
        return {"status": "failed", "error": str(error), "objective": None, "command": command}


def _log(multirun: bool, message: str) -> None:
    """Log an error: in a sweep as usual; in a single run to the run's log file only, as
    the run prints its error as one ``nnexp: error:`` line, and the console's copy of the
    log record showed it twice (with a traceback for an unexpected error)."""
    if multirun:
        log.error("%s", message)
        return
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, "%s", (message,), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def task(cfg, trained: tuple[Setup, History] | None = None) -> float:
    """The body of the Hydra app. Returns the objective for sweepers (inf when failed
    or diverged, so a minimising search steers away). ``trained``: see ``run``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    command = command_line()
    started = time.perf_counter()
    if hc.mode == RunMode.MULTIRUN:  # resume: a job a killed or earlier sweep finished is kept
        done = resume.finished(out_dir, cfg)
        if done is not None:
            log.info(
                "%s",
                resume.progress_line(
                    hc.job.num, resume.expected_jobs(hc.sweep.dir), done, 0.0, skipped=True
                ),
            )
            return float("inf") if done.get("objective") is None else done["objective"]
    try:
        if hc.mode == RunMode.MULTIRUN:
            resume.clear(out_dir)
        if trained is None:  # a trained network's config was validated before it trained
            validate(cfg)
        dataset = CHECKED.pop(dataset_key(cfg), None) if trained is None and CHECKED else None
        summary = run(cfg, out_dir, command, trained, dataset)
    except (ConfigError, DataError) as error:
        summary = _record(out_dir, cfg, error, command)
        _log(hc.mode == RunMode.MULTIRUN, str(error))
        if hc.mode != RunMode.MULTIRUN:
            print(f"nnexp: error: {error}", file=sys.stderr)
    except OSError as error:
        # The folder cannot be written (full disk, read-only, a file in the way): the
        # machine's trouble, not the code's, so one line and no traceback.
        line = os_error_line(error)
        summary = _record(out_dir, cfg, OSError(line), command)
        _log(hc.mode == RunMode.MULTIRUN, f"failed: {line}")
        if hc.mode != RunMode.MULTIRUN:
            print(f"nnexp: error: {line}", file=sys.stderr)
    except Exception as error:
        summary = _record(out_dir, cfg, error, command)
        _log(hc.mode == RunMode.MULTIRUN, f"failed: {summary['error']}\n{traceback.format_exc()}")
        if hc.mode != RunMode.MULTIRUN:
            print(
                f"nnexp: error: {summary['error']} (traceback in {out_dir}/{hc.job.name}.log)",
                file=sys.stderr,
            )
    if hc.mode == RunMode.MULTIRUN:
        log.info(
            "%s",
            resume.progress_line(
                hc.job.num,
                resume.expected_jobs(hc.sweep.dir),
                summary,
                time.perf_counter() - started,
            ),
        )
    if summary["status"] == "failed" and hc.mode != RunMode.MULTIRUN:
        # SystemExit is not an Exception, so Hydra lets it end the process with this code.
        raise SystemExit(1)
    objective = summary.get("objective")
    return float("inf") if objective is None else objective
