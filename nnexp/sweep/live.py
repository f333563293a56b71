"""The sweep page while the sweep runs: ``report.html`` rebuilt as jobs finish, and
reloading itself in the browser until the sweep ends.

A watcher process (spawned, so it shares no Matplotlib figure, lock or GIL with the
jobs) looks at the sweep folder every ``every`` seconds; when a job has started or
finished since its last page it renders the report as it stands — the report's own
``page`` and ``html_page``, with a banner of done/running/failed counts and the best so
far, and ``<meta http-equiv="refresh">`` — and writes it atomically. A build never
starts sooner than four times the last one took after it, so a large sweep's page costs
at most a fifth of a core. At the sweep's end the callback stops the watcher and writes
the final report, which does not reload. The watcher also stops when the process that
started it is gone (a killed sweep); ``nnexp report DIR`` then makes the page final.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from pathlib import Path

from ..run.artifacts import SUMMARY, write_text
from .render import esc
from .table import REPORT_HTML, job_folders

log = logging.getLogger("nnexp")

COST_FACTOR = 4  # wait at least this many times the last build's duration


def fingerprint(sweep_dir: Path) -> tuple:
    """What a page shows changes only when a job folder appears or a summary is
    written: their names and the summaries' modification times."""
    state = []
    for folder in job_folders(sweep_dir):
        try:
            stamp = (folder / SUMMARY).stat().st_mtime_ns
        except OSError:
            stamp = None
        state.append((str(folder), stamp))
    return tuple(state)


def banner(sweep, best, every: float, now: str) -> str:
    """One paragraph: done/running/failed/not started, the best so far, when, and that
    the page reloads."""
    tally = sweep.table.status.value_counts() if len(sweep.table) else {}
    done = int(tally.get("ok", 0)) + int(tally.get("diverged", 0))
    running = int(tally.get("incomplete", 0))
    failed = int(tally.get("failed", 0))
    waiting = max((sweep.expected or 0) - len(sweep.table), 0)
    parts = [f"{done} done", f"{running} running", f"{failed} failed"]
    if sweep.expected:
        parts.append(f"{waiting} not started (of {sweep.expected})")
    text = "Sweep running: " + ", ".join(parts) + "."
    if best is not None:
        from .render import setting_words

        text += (
            f" Best so far: {setting_words(best['settings']) or 'job ' + str(best['job'])}"
            f" ({sweep.short} {best['objective']:.4g})."
        )
    return (
        f'<div id="live" class="warn" data-done="{done}" data-running="{running}" '
        f'data-failed="{failed}"><strong>{esc(text)}</strong> Updated {esc(now)}; this '
        f"page reloads every {every:g} s while the sweep runs and stops when it ends.</div>"
    )


def live_page(sweep_dir: Path, every: float) -> str:
    """The report as it stands, with the live banner and the reload."""
    from . import report

    sweep = report.collect(Path(sweep_dir))
    page = report.page(sweep)
    html = report.render.html_page(page)
    refresh = f'<meta http-equiv="refresh" content="{max(1, round(every))}">'
    head = '<meta charset="utf-8">'
    html = html.replace(head, head + refresh, 1) if head in html else refresh + html
    html = html.replace("<title>", "<title>(running) ", 1)
    top = banner(sweep, page.best, every, time.strftime("%H:%M:%S"))
    return html.replace("<main>\n", "<main>\n" + top, 1) if "<main>\n" in html else top + html


def write_live(sweep_dir: Path, every: float) -> None:
    write_text(Path(sweep_dir) / REPORT_HTML, live_page(sweep_dir, every))


def watch(sweep_dir: str, every: float, stop, parent: int) -> None:
    """The watcher process's loop (see the module docstring)."""
    # Ctrl-C reaches the whole process group: the sweep handles it and stops this
    # process (or this process sees its parent gone); a traceback here would only add
    # lines to the one the command prints.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    folder = Path(sweep_dir)
    seen: tuple | None = None
    wait = every
    while not stop.wait(wait) and os.getppid() == parent:
        try:
            now = fingerprint(folder)
            if now == seen or not now:
                wait = every
                continue
            started = time.perf_counter()
            write_live(folder, every)
            seen = now
            wait = max(every, COST_FACTOR * (time.perf_counter() - started))
        except Exception as error:  # a page that fails now may build later; never crash
            log.debug("live report: %s", error)
            wait = every


class Watcher:
    """Start and stop the watcher process for one sweep folder."""

    def __init__(self, sweep_dir: Path, every: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop_event = context.Event()
        self.process = context.Process(
            target=watch,
            args=(str(sweep_dir), every, self.stop_event, os.getpid()),
            name="nnexp-live-report",
            daemon=True,
        )
        # Ctrl-C reaches the whole process group, this process too while it is still
        # starting (importing nnexp takes a moment): start it with SIGINT ignored, which
        # a new process inherits, instead of ignoring it once ``watch`` runs.
        try:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread: no handler to swap
            self.process.start()
            return
        try:
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)

    def stop(self, timeout: float = 60.0) -> None:
        """Ask the watcher to finish (a page it is writing is finished first)."""
        self.stop_event.set()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
