"""Hydra callbacks: a finished multirun becomes its sweep report.

Registered in ``conf/config.yaml`` under ``hydra.callbacks``, so it runs whichever
sweeper and launcher ran the jobs. Hydra hands ``on_multirun_end`` the sweep's config
and nothing else — no job results — and skips it altogether when a job raised; nnexp's
task never raises in a sweep, and the report is built from the run folders on disk,
which is also why ``nnexp report <sweep folder>`` can rebuild it any time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from ..run.artifacts import SUMMARY, write_text
from .resume import SWEEP_CONFIG

log = logging.getLogger("nnexp")


class Prefetch:
    """The final report's groundwork, done while the jobs run: once a first job has
    finished (the sweep's process then mostly waits for the others), import the report's
    modules (pandas among them) and read each finished job's files into memory
    (``table.prefetch``), so the report at the sweep's end reads only the jobs that
    finished last. A thread of the sweep's process; ``stop`` waits for what it is doing."""

    POLL = 0.25  # seconds between looks at the sweep folder

    def __init__(self, sweep_dir: Path) -> None:
        self.sweep_dir = sweep_dir
        self.seen: set[str] = set()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="nnexp-report-prefetch")
        self.thread.daemon = True  # an interrupted sweep never waits for it
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.done.wait(self.POLL):
                if any((self.sweep_dir / job / SUMMARY).is_file() for job in _jobs(self.sweep_dir)):
                    break
            else:
                return
            from . import report, table  # noqa: F401  (imported for the report at the end)

            table.remember_reads()
            while True:
                table.prefetch(self.sweep_dir, self.seen)
                if self.done.wait(self.POLL):
                    return
        except Exception as error:  # groundwork only: the report reads what is missing
            log.debug("report prefetch: %s", error)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


def _jobs(sweep_dir: Path) -> list[str]:
    try:
        with os.scandir(sweep_dir) as listing:
            return [e.name for e in listing if e.is_dir()]
    except OSError:
        return []


class SweepReport(Callback):
    """Save the sweep's config at its start; keep report.html current while the sweep
    runs (``live``); write summary.csv, the comparison plots, report.md and report.html
    into the sweep folder at its end."""

    def __init__(self, live_every: float = 3.0) -> None:
        self.started: float | None = None
        # report.html rebuilt while the sweep runs, at most this often (seconds; 0: off).
        self.live_every = float(live_every)
        self.watcher: Any = None  # a live.Watcher while a sweep runs
        self.prefetch: Prefetch | None = None  # while a sweep runs

    def __getstate__(self) -> dict:
        # Launchers that run jobs elsewhere (joblib, Ray, submitit) pickle the callbacks
        # for their workers; the watcher (a process handle) stays with this process.
        return {**self.__dict__, "watcher": None, "prefetch": None}

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self.started = time.perf_counter()
        # The basic sweeper saves multirun.yaml itself (overwriting this same content);
        # Optuna's does not, and the report and the jobs' "n of N" read it.
        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            write_text(sweep_dir / SWEEP_CONFIG, OmegaConf.to_yaml(config))
        except OSError as error:
            log.warning("could not save the sweep config in %s: %s", sweep_dir, error)
        self.prefetch = Prefetch(sweep_dir)
        if self.live_every > 0:
            from .live import Watcher

            try:
                self.watcher = Watcher(sweep_dir, self.live_every)
            except Exception as error:  # the live page is a convenience, never a stop
                log.warning("no live report page: %s", error)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        elapsed = None if self.started is None else time.perf_counter() - self.started
        watcher, self.watcher = self.watcher, None

        def stop_watcher() -> None:  # before the final page, which must not be overwritten
            if watcher is not None:
                watcher.stop()

        if watcher is not None:
            # It finishes the page it may be writing while the final one is drawn.
            watcher.request_stop()
        if self.prefetch is not None:
            self.prefetch.stop()  # what it is reading is then in memory for the report
            self.prefetch = None
        if OmegaConf.select(config, "hydra.output_subdir") is None:
            stop_watcher()
            log.warning(
                "no sweep report: with hydra.output_subdir=null the job folders keep no "
                ".hydra/overrides.yaml, which the report reads each job's setting from "
                "(the run folders are complete)"
            )
            return
        from . import report

        try:
            built = report.build(sweep_dir, config, before_writing=stop_watcher)
        except OSError as error:
            # Every job's folder is safe on disk; only the summary is missing, and it can
            # be rebuilt. Failing the whole command here would hide the jobs' results.
            where = getattr(error, "filename2", None) or error.filename or sweep_dir
            log.error(
                "could not write the sweep report (%s: %s); rebuild it with nnexp report %s",
                where,
                error.strerror or error,
                sweep_dir,
            )
            return
        except Exception:
            log.exception(
                "could not write the sweep report; rebuild it with nnexp report %s", sweep_dir
            )
            return
        finally:
            stop_watcher()  # also when the report failed before writing anything
        log.info("%s", built.headline(elapsed))
