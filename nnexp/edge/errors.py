"""Hydra's own failures as one line each.

Hydra reports a failure it catches (a config it cannot compose, a launcher that cannot
start) as several lines: the exception's text, its cause, a list of options, a pointer to
``HYDRA_FULL_ERROR``. ``run_and_report`` stands in for Hydra's function of that name while
the ``nnexp`` command runs: the same catch, one line naming what is wrong and what to do,
exit status 2 for a command line that cannot be composed (a user's mistake, like every
other bad value) and 1 for a sweep that could not start. ``HYDRA_FULL_ERROR=1`` still
gives Hydra's full traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

# What to do when a launcher cannot start, by the hydra/launcher option that chose it.
LAUNCHER_HINTS = {
    "slurm": "run the sweep on a SLURM login node (srun and sbatch on PATH), "
    "or drop hydra/launcher for this machine's cores",
    "submitit_slurm": "run the sweep on a SLURM login node (srun and sbatch on PATH)",
    "ray_cluster": "start the cluster (ray start --head) and set RAY_ADDRESS=HOST:6379, "
    "or use hydra/launcher=ray_local for this machine",
    "ray": "check that Ray can start here (ray status), or use hydra/launcher=ray_local",
    "ray_local": "check that Ray can start here (ray status), or use the default launcher",
}
FULL = "HYDRA_FULL_ERROR=1 shows the full traceback"


def first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def os_error_line(error: OSError) -> str:
    """``cannot write PATH: REASON`` for a failed write (a rename names its target)."""
    path = getattr(error, "filename2", None) or error.filename
    reason = error.strerror or first_line(error)
    return f"cannot write {path}: {reason}" if path else f"cannot write: {reason}"


def launcher_choice(argv: list[str]) -> str | None:
    """The hydra/launcher option the command line picks (the last one wins)."""
    chosen = None
    for arg in argv:
        key, _, value = arg.partition("=")
        if key.lstrip("+~") == "hydra/launcher":
            chosen = value
    return chosen


def describe(error: BaseException, argv: list[str]) -> tuple[str, int]:
    """(the one line to print after ``nnexp: error:``, the exit status) for an exception
    Hydra would have reported itself."""
    from hydra.errors import ConfigCompositionException, MissingConfigException

    if isinstance(error, MissingConfigException):
        options = ", ".join(error.options or [])
        group, _, name = str(error.missing_cfg_file or "").rpartition("/")
        if group and name and options:
            return f"{group}={name} does not exist: {group} must be one of {options}", 2
        return first_line(error) + (f": options are {options}" if options else ""), 2
    if isinstance(error, ConfigCompositionException):
        cause = error.__cause__
        detail = f": {first_line(cause)}" if cause is not None and first_line(cause) else ""
        return f"{first_line(error)}{detail}", 2
    if isinstance(error, OSError) and error.filename:
        return os_error_line(error), 1
    multirun = any(a in ("-m", "--multirun") for a in argv)
    launcher = launcher_choice(argv) if multirun else None
    hint = LAUNCHER_HINTS.get(launcher or "", "")
    what = "the sweep" if multirun else "the run"
    where = f" (hydra/launcher={launcher})" if launcher else ""
    line = f"{what}{where} could not start: {type(error).__name__}: {first_line(error)}"
    return line + (f"; {hint}" if hint else f" ({FULL})"), 1


def run_and_report(func: Callable[[], Any]) -> Any:
    """Hydra's ``run_and_report`` with nnexp's one-line report."""
    try:
        return func()
    except Exception as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        line, status = describe(error, sys.argv[1:])
        print(f"nnexp: error: {line}", file=sys.stderr)
        sys.exit(status)


def install() -> None:
    """Make Hydra report through ``run_and_report`` (its entry point looks the function up
    in its module when it calls it)."""
    import hydra._internal.utils as hydra_utils

    hydra_utils.run_and_report = run_and_report


INTERRUPTED = (
    "interrupted: what finished is kept; run the same command again and a sweep "
    "resumes where it stopped (a single run starts afresh)"
)
