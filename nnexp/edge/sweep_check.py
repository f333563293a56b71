"""Check a whole sweep before any job starts (and a single run before its folder is made).

Each swept value is checked on the command line (``config.preflight``), but a
combination that cannot work — ``loss=bce`` with a three-class dataset, a CSV column
one of the swept files lacks, an output activation the loss cannot take — only shows
when its job builds its run. ``check`` builds every job's run without training it: the
sweep's overrides expanded as the basic sweeper expands them, each job's config
composed (one Hydra composition for each distinct set of group choices; plain values
set on a copy, as Hydra's override step sets them), validated, each distinct dataset
loaded once, and the network, parameters and optimiser built. With the batched launcher,
a job that differs from one that built only in per-replica values is validated instead
(``check`` says why that is enough). An option a job sets but never reads
(``config.unread``: optimizer.momentum with gd) is refused only when no job of the sweep
reads it, and not with ``sweep_check=skip``, where such jobs would have nothing to fail
on: they train without it.

``SweepCheck`` is the Hydra callback (``hydra.callbacks.sweep_check`` in
``conf/config.yaml``, listed before the report) that runs it at the start of every
multirun, as the option ``sweep_check`` says:

| ``sweep_check`` | bad jobs found |
| --- | --- |
| ``refuse`` (default) | one line each, the count, and the sweep does not start (exit 1) |
| ``skip`` | listed, and the sweep goes ahead: each bad job records its failure, untrained |
| ``off`` | no check |
| ``only`` | the check alone (``nnexp check`` and ``--check``): list, exit 0 or 1, train nothing |
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import pickle
import sys
from dataclasses import dataclass
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from ..core.data import DataError
from ..run.setup import ConfigError, build, dataset_key, load_dataset
from .compose import shared
from .config import GROUPS, SWEEP_CHECKS, set_options, unread, validate

BATCHED_LAUNCHER = "hydra_plugins.nnexp_batched_launcher.batched_launcher.BatchedLauncher"

log = logging.getLogger("nnexp")


@dataclass
class Job:
    """One job of the sweep: its number (the folder it will write, for the basic
    sweeper), the overrides that set it apart, and why it would fail (None: it builds)."""

    num: int | None  # None: a search's trials, whose numbers the sweeper decides
    overrides: list[str]
    reason: str | None = None

    def line(self) -> str:
        values = " ".join(self.overrides) or "no overrides"
        head = f"job #{self.num} ({values})" if self.num is not None else f"trials with {values}"
        return f"{head}: {self.reason}"


def job_overrides(config) -> tuple[list[list[str]], list[str], bool]:
    """(every job's overrides in launch order, the swept keys, whether the order is the
    sweeper's own so that a job's number names its folder) from a multirun's config.

    The basic sweeper's grid, exactly as it makes it; for other sweepers (Optuna) the
    grid of their choice and range sweeps, intervals left at the config's value (those
    values are checked per job as the search draws them)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep
    from omegaconf import OmegaConf

    sweeper = config.hydra.sweeper
    # Unresolved, as the sweepers read them: ${...} in a value is the job's to resolve.
    params = sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
    lines = [f"{k}={v}" for k, v in params.items()] + list(task)  # type: ignore
    parsed = OverridesParser.create().parse_overrides(lines)
    # A later override of a key replaces an earlier one, as in the sweepers.
    last = {o.get_key_element(): o.is_sweep_override() for o in parsed}
    swept = [key for key, sweeps in last.items() if sweeps]
    if str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
        (jobs,) = BasicSweeper.split_arguments(parsed, None)
        return jobs, swept, True
    # Optuna's sweeper writes a trial's values back as f"{name}={value}".
    choices: dict[str, list[str]] = {}
    for o in parsed:
        key = o.get_key_element()
        if not o.is_sweep_override():
            choices[key] = [f"{key}={o.get_value_element_as_str()}"]
        elif isinstance(o.value(), (ChoiceSweep, RangeSweep)):
            choices[key] = [f"{key}={v}" for v in o.sweep_iterator()]
        else:
            choices.pop(key, None)
    swept = [k for k in swept if k in choices]
    return [list(job) for job in itertools.product(*choices.values())], swept, False


def _one_line(error: BaseException) -> str:
    if isinstance(error, (ConfigError, DataError)):
        text = str(error)
    elif _interpolation(error):
        # OmegaConf's words, without the "full_key: ... object_type=..." it appends
        cause = error.__cause__ if isinstance(error.__cause__, ValueError) else error
        text = f"{error.full_key}: " + str(cause).split("full_key:")[0]  # type: ignore[attr-defined]
    else:
        text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def _interpolation(error: BaseException) -> bool:
    """Whether ``error`` is OmegaConf's for a ${...} value that does not resolve."""
    from omegaconf.errors import InterpolationResolutionError, InterpolationValidationError

    resolving = (InterpolationResolutionError, InterpolationValidationError)
    return isinstance(error, resolving) and bool(getattr(error, "full_key", None))


class _Composer:
    """Job configs from a master config: Hydra composes once for each distinct set of
    overrides that choose config files (groups, ``+``, ``~``, ``hydra...``); the plain
    ``key=value`` overrides are then set on a copy, as Hydra's override step sets them."""

    def __init__(self, master: Any) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.master = master
        self.loader = GlobalHydra.instance().config_loader()
        self.load = self.loader.load_sweep_config  # Hydra's composition, exact
        self.parser = OverridesParser.create()
        self.templates: dict[tuple, bytes | BaseException] = {}

    def _chooses_files(self, o) -> bool:
        key = o.key_or_group
        return key in GROUPS or "/" in key or o.is_hydra_override() or o.is_add() or o.is_delete()

    def compose(self, overrides: list[str]):
        """The job's config, derived from the template of its file-choosing overrides."""
        from omegaconf import OmegaConf

        parsed = self.parser.parse_overrides(overrides)
        files = tuple(str(o.input_line) for o in parsed if self._chooses_files(o))
        if files not in self.templates:
            try:
                composed = self.load(self.master, list(files))
                self.templates[files] = pickle.dumps(composed)
            except Exception as error:
                self.templates[files] = error
        template = self.templates[files]
        if isinstance(template, BaseException):
            raise template
        cfg = pickle.loads(template)
        for o in parsed:
            if not self._chooses_files(o):
                OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
        return cfg


def builds(cfg, datasets: dict) -> None:
    """Validate a job's config and build its run (no training); raise what its job would.
    ``datasets`` caches each distinct dataset config's Dataset (or its error), by
    ``dataset_key``."""
    validate(cfg)
    key = dataset_key(cfg)
    if key not in datasets:
        try:
            datasets[key] = load_dataset(cfg.dataset)
        except Exception as error:
            datasets[key] = error
    dataset = datasets[key]
    if isinstance(dataset, BaseException):
        raise dataset
    build(cfg, dataset)


def check(config, refuse_unread: bool = True) -> tuple[list[Job], int]:
    """Build every job of the multirun ``config`` without training it -> (jobs, number of
    distinct datasets loaded); each job's ``reason`` is None when it builds (and, with
    ``refuse_unread``, reads every option it sets that some job of the sweep reads).

    With the batched launcher, jobs that differ from a job that built only in the
    per-replica values of ``REPLICA_OPTIONS`` (the composer's jobs of one template) are
    not built again: their values are validated. Building reads nothing else of theirs
    that validation leaves unchecked (every replica option has its range in
    ``CONSTRAINTS``), so such a job builds exactly when its values pass; a job whose
    values do not pass goes the whole way, and its reason is the one building gives."""
    overrides, swept, numbered = job_overrides(config)
    composer: Any = _Composer(config)
    batched = OmegaConf.select(config, "hydra.launcher._target_") == BATCHED_LAUNCHER
    if batched:
        # The launcher takes the very recipes made here (edge/compose.py): one
        # composition per template for the check, the sweeper's validation and the launch.
        composer = shared(GlobalHydra.instance().config_loader(), config)
    built: set = set()  # the templates one of whose jobs built
    datasets: dict[str, object] = {}  # the dataset config as JSON -> Dataset or its error
    jobs = []
    # Each job that builds: the options it sets and never reads -> their lines.
    unread_by: dict[int, dict[str, str]] = {}
    read: set[str] = set()  # the options some job sets and reads
    # Values such as seed=${hydra:job.num} resolve against the running job's Hydra config,
    # which a launcher sets for each job: set here too, as the basic launcher sets it.
    interpolated = _interpolated(itertools.chain(*overrides))
    with _as_job(config, interpolated) as as_job:
        for num, job in enumerate(overrides):
            as_job(num)
            shown = [line for line in job if line.split("=", 1)[0].lstrip("+~") in swept]
            entry = Job(num if numbered else None, shown)
            jobs.append(entry)
            template = None
            cfg = None
            if batched:
                with contextlib.suppress(Exception):  # then built the whole way, below
                    template = composer.template_key(job) if composer.derived(job) else None
                    if template in built:
                        plain = composer.plain(job)
                        validate(plain)  # (a job that fails here is built, below, for its reason)
                        cfg = plain
            if cfg is None:
                try:
                    cfg = composer.compose(job)
                    builds(cfg, datasets)
                    if template is not None:
                        built.add(template)
                except Exception:
                    # A derived config is only a shortcut: a job is called bad only when the
                    # config Hydra itself composes fails too, and with that config's reason.
                    try:
                        cfg = composer.load(config, list(job))
                        builds(cfg, datasets)
                    except Exception as error:
                        entry.reason = _one_line(error)
                        continue
            if refuse_unread:
                unread_by[num] = unread(cfg)
                read |= set_options(cfg) - unread_by[num].keys()
    # An option a job sets and never reads is a mistake only when no job reads it: a
    # sweep crossing optimizer=gd,momentum with optimizer.momentum=0.5,0.9 is a grid.
    for num, lines in unread_by.items():
        refused = [line for option, line in lines.items() if option not in read]
        if refused:
            jobs[num].reason = refused[0]
    return jobs, len(datasets)


@contextlib.contextmanager
def _as_job(config, needed: bool):
    """Inside: a function that makes Hydra's config (``HydraConfig``) that of ``config``'s
    job ``num`` (None: its single run), as Hydra does before running a job, so that
    values such as ${hydra:job.num} resolve; a no-op unless ``needed``. After: Hydra's
    config as it was (the batched launcher resolves each job's values against it, and
    the last checked job's would give every job that job's seed)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict, read_write

    instance = HydraConfig.instance()
    previous = instance.cfg
    copy = OmegaConf.create(config) if needed else None  # set_config makes hydra read-only

    def as_job(num: int | None = None) -> None:
        if copy is None:
            return
        if num is not None:
            with read_write(copy.hydra), open_dict(copy.hydra):
                copy.hydra.job.num = num
                copy.hydra.job.id = str(num)
        instance.set_config(copy)

    try:
        yield as_job
    finally:
        instance.cfg = previous


def _interpolated(lines) -> bool:
    """Whether any override line holds a ${...} value (written escaped, $\\{, in a sweep's)."""
    return any("$" in line for line in lines)


def report(jobs: list[Job], n_datasets: int, mode: str) -> list[str]:
    """The lines the check prints: every bad job, the count and what happens next."""
    bad = [j for j in jobs if j.reason]
    loaded = f"{n_datasets} dataset{'s' if n_datasets != 1 else ''} loaded"
    if not bad:
        return [
            f"sweep check: all {len(jobs)} jobs build ({loaded}); nothing was trained"
            if mode == "only"
            else f"sweep check: all {len(jobs)} jobs build ({loaded})"
        ]
    lines = [f"sweep check: {len(bad)} of {len(jobs)} jobs would fail ({loaded}):"]
    lines += [f"  {j.line()}" for j in bad]
    if mode == "refuse":
        lines.append(
            "sweep check: the sweep was not started; fix the jobs above, or add "
            "sweep_check=skip to run the valid ones (each bad job then records its "
            "failure untrained)"
        )
    elif mode == "skip":
        lines.append(
            f"sweep check: going ahead with the {len(jobs) - len(bad)} valid jobs "
            "(sweep_check=skip); the bad ones record their failure without training"
        )
    else:
        lines.append("sweep check: nothing was trained")
    return lines


class RunCheck(Callback):
    """Before a single run's folder is made: its config validated and its run built (no
    training), as the sweep check builds a job, so a config that cannot run gets one line
    and exit status 1 with nothing written. The dataset loaded is handed to the run
    (``task.CHECKED``). Anything else that goes wrong here is left to the run, which
    records it as its failure."""

    def on_run_start(self, config, **kwargs) -> None:
        from .task import CHECKED

        datasets: dict[str, object] = {}
        task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        try:
            with _as_job(config, _interpolated(task)) as as_job:
                as_job()
                builds(config, datasets)
            for line in unread(config).values():
                raise ConfigError(line)
        except Exception as error:
            if not isinstance(error, (ConfigError, DataError)) and not _interpolation(error):
                return
            print(f"nnexp: error: {_one_line(error)}", file=sys.stderr)
            raise SystemExit(1) from None  # the status the run's own failure had
        ((key, dataset),) = datasets.items()  # the one dataset builds loaded, by its key
        CHECKED[key] = dataset  # type: ignore[assignment]


class SweepCheck(Callback):
    """At the start of a multirun, check every job as ``sweep_check`` says (module doc)."""

    def on_multirun_start(self, config, **kwargs) -> None:
        mode = str(config.get("sweep_check", "refuse"))
        if mode == "off":
            return
        if mode not in SWEEP_CHECKS:
            print(
                f"nnexp: error: sweep_check={mode!r} is not allowed: sweep_check must be "
                f"one of {', '.join(SWEEP_CHECKS)}",
                file=sys.stderr,
            )
            raise SystemExit(2)
        try:
            jobs, n_datasets = check(config, refuse_unread=mode != "skip")
        except Exception as error:
            # The check is a safety net: a problem in it never stops a sweep that the
            # sweeper itself can run (each job still records its own failure).
            log.warning("sweep check could not run (%s); the sweep goes ahead", _one_line(error))
            if mode == "only":
                print(
                    f"nnexp: error: the sweep check could not run: {_one_line(error)}",
                    file=sys.stderr,
                )
                raise SystemExit(2) from None
            return
        lines = report(jobs, n_datasets, mode)
        bad = any(j.reason for j in jobs)
        if not bad and mode != "only":
            log.info("%s", lines[0])
            return
        stream = sys.stderr if bad and mode != "only" else sys.stdout
        for line in lines:
            print(line, file=stream, flush=True)
        if mode == "only":
            # Nothing else happens: no sweep folder, no job (a callback may end the
            # process; only a job must never exit).
            raise SystemExit(1 if bad else 0)
        if bad and mode == "refuse":
            raise SystemExit(1)
