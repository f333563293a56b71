"""Where a job stands in its sweep: already finished (so a resumed sweep skips it), its
number out of how many, and the one progress line it logs.

A run folder is *finished* when its ``summary.json`` — written last and atomically, so
it exists only once everything else is in place — says ``ok`` or ``diverged`` and was
written for the same config. Running a sweep again with the same ``hydra.sweep.dir``
skips those jobs and returns their recorded objective.

Everything else is redone:

- no ``summary.json``: the job was killed before it finished (Ctrl-C, SIGKILL, a dead
  joblib worker), whatever half of its files it left;
- ``failed``: failures are retried, because they are often about the surroundings (a
  missing CSV file, a bug fixed since, memory) and a config that is simply wrong fails
  again within milliseconds;
- an unreadable ``summary.json`` (not UTF-8, not JSON, not an object, truncated, an
  objective that is no number): whatever wrote it, it is no verdict; a warning says so;
- a summary written for a different config: the same folder number now holds another
  setting (the sweep's overrides changed), so the old result does not answer this job.

Before a job is redone its stale ``summary.json`` and any temporary files of an
interrupted write are removed, so a second interruption can never leave an old verdict
beside new files.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from ..run.artifacts import FINISHED, SUMMARY, read_summary, summary_problem

# Options that change how a run is shown, not what it computes: a different value
# does not make a finished run stale.
log = logging.getLogger("nnexp")

COSMETIC = ("progress", "sweep_check", "snapshots", "max_memory_gb")
SWEEP_CONFIG = "multirun.yaml"  # the sweep's composed config, saved at its start


def _comparable(config) -> dict | None:
    """A config as the plain dict summary.json records, less the cosmetic options;
    None when it cannot be resolved (such a job is run, and records its own error)."""
    if hasattr(config, "_content"):  # an OmegaConf DictConfig
        from omegaconf import OmegaConf

        try:
            config = OmegaConf.to_container(config, resolve=True)
        except Exception:
            return None
    if not isinstance(config, dict):
        return None
    return {k: v for k, v in config.items() if k not in COSMETIC}


def finished(run_dir: Path, config=None, warn: bool = True) -> dict | None:
    """The summary of a finished run in ``run_dir`` (status ok or diverged and, when
    ``config`` (a DictConfig or plain dict) is given, trained with that config); None
    when the job must be run. ``warn``: say in one line when summary.json is unreadable."""
    summary = read_summary(run_dir)
    if summary is None:
        problem = summary_problem(run_dir)
        if problem is not None and warn:
            log.warning("%s/%s is %s: the job is run again", run_dir, SUMMARY, problem)
        return None
    if summary.get("status") not in FINISHED or not _objective_ok(summary.get("objective")):
        return None
    if config is not None:
        wanted = _comparable(config)
        if wanted is None or _comparable(summary.get("config")) != wanted:
            return None
    return summary


def _objective_ok(value) -> bool:
    """A recorded objective a resumed sweep can hand back: null or a finite number."""
    if value is None:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def clear(run_dir: Path) -> None:
    """Remove what an earlier, unfinished or failed attempt left that could be mistaken
    for a result: its summary.json and the temporary files of interrupted writes."""
    run_dir = Path(run_dir)
    (run_dir / SUMMARY).unlink(missing_ok=True)
    for tmp in run_dir.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


_expected: dict = {}  # sweep folder -> job count: every job asks, the answer is fixed


def expected_jobs(sweep_dir: str | Path, config=None) -> int | None:
    """How many jobs the sweep in ``sweep_dir`` launches (asked once per process per sweep
    folder; an unknown count is asked again, its file may appear later). ``config``: the
    sweep's config, which its saved ``multirun.yaml`` holds, when the caller has it."""
    key = str(sweep_dir)
    if _expected.get(key) is None:
        _expected[key] = _count_jobs(sweep_dir, config)
    return _expected[key]


def _count_jobs(sweep_dir: str | Path, config=None) -> int | None:
    """How many jobs the sweep in ``sweep_dir`` launches, from its saved config (or
    ``config``, the same one in memory): the Optuna sweeper's ``n_trials``, or the size
    of the basic sweeper's grid. None when it cannot be known (no saved config, another
    sweeper)."""
    try:
        from omegaconf import OmegaConf

        saved = OmegaConf.load(Path(sweep_dir) / SWEEP_CONFIG) if config is None else config
        sweeper = saved.hydra.sweeper
        if "n_trials" in sweeper:
            return int(sweeper.n_trials)
        if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
            return None
        params = sweeper.get("params") or {}
        overrides = [f"{k}={v}" for k, v in params.items()] + list(saved.hydra.overrides.task)
        return grid_size(overrides)
    except Exception:  # a missing, partial or foreign file: the count is only cosmetic
        return None


def grid_size(overrides: list[str]) -> int:
    """Number of jobs the basic sweeper makes of these command-line overrides."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return sum(len(batch) for batch in BasicSweeper.split_arguments(parsed, None))


def _objective(summary: dict) -> str:
    value = summary.get("objective")
    return "none" if value is None else f"{value:.6g}"


def progress_line(
    job_num: int, total: int | None, summary: dict, seconds: float, skipped: bool = False
) -> str:
    """``job 3 of 6 (#2): ok, objective 0.0123, 0.84 s`` — n counts from 1, ``#`` is
    Hydra's job number, which names the job's folder."""
    where = f"job {job_num + 1}" + (f" of {total}" if total else "") + f" (#{job_num})"
    if skipped:
        return (
            f"{where}: already finished ({summary['status']}, objective "
            f"{_objective(summary)}); skipped"
        )
    return f"{where}: {summary['status']}, objective {_objective(summary)}, {seconds:.2f} s"
