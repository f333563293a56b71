"""The sweep page while the sweep runs: ``report.html`` rebuilt as jobs finish, and
reloading itself in the browser until the sweep ends.

A watcher process (spawned, so it shares no Matplotlib figure, lock or GIL with the
jobs), started once the sweep has run for ``every`` seconds (so a short sweep never pays
for it), looks at the sweep folder at once and then every ``every`` seconds; when a job has started or
finished since its last page it renders the report as it stands — the report's own
``page`` and ``html_page``, with a banner of done/running/failed counts and the best so
far, and ``<meta http-equiv="refresh">`` — and writes it atomically. A build never
starts sooner than four times the last one took after it, so a large sweep's page costs
at most a fifth of a core. At the sweep's end the callback stops the watcher and writes
the final report, which does not reload.

A killed sweep must not leave a page that reloads for ever. When the process that
started the watcher is gone, the watcher writes the page once more, saying the sweep
stopped, without the reload, and ends; an interrupted sweep (Ctrl-C, SIGTERM: the end
callback never runs) asks it for that page before it exits (``interrupted``). Should
the watcher die too (the whole process group killed, the machine stopped), the page
itself knows: the watcher rewrites it at least every ``BEAT`` seconds with a heartbeat
(the time, in the banner's ``data-heartbeat``), and the page's script reloads only while
that is younger than ``stale_after``; an older page says the sweep stopped and stays as
it is.
``nnexp report DIR`` then makes the page final.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from ..run.artifacts import SUMMARY, write_text

# The page's modules (pandas, Matplotlib) are imported where a page is built: the sweep's
# process starts a watcher, which needs none of them, and a short sweep never builds one.

log = logging.getLogger("nnexp")

COST_FACTOR = 4  # wait at least this many times the last build's duration
BEAT = 10.0  # seconds: a running sweep's page is rewritten at least this often
STALE_BEATS = 6  # a page whose heartbeat is this many beats old: its sweep is gone


def stale_after(every: float) -> float:
    """Seconds after its heartbeat at which a live page takes its sweep for stopped."""
    return STALE_BEATS * max(every, BEAT)


# Runs in the page: reload while the heartbeat is fresh, else say the sweep stopped.
RELOAD_SCRIPT = """<script>
(function () {
  const live = document.getElementById("live");
  if (!live || live.dataset.state !== "running") return;
  const beat = Number(live.dataset.heartbeat);
  if (Date.now() / 1000 - beat <= Number(live.dataset.staleAfter)) {
    setTimeout(() => location.reload(), 1000 * Number(live.dataset.every));
    return;
  }
  live.dataset.state = "stopped";
  live.querySelector("strong").textContent = "The sweep stopped: this page was last " +
    "updated at " + new Date(beat * 1000).toLocaleTimeString() + ".";
  live.querySelector(".note").textContent = " Its process is gone (killed, or the " +
    "machine stopped), so the page no longer reloads; reload it yourself to check " +
    "again. nnexp report on the sweep folder writes the final report.";
  document.title = document.title.replace("(running) ", "(stopped) ");
})();
</script>"""


def fingerprint(sweep_dir: Path) -> tuple:
    """What a page shows changes only when a job folder appears or a summary is
    written: their names and the summaries' modification times."""
    from .table import job_folders

    state = []
    for folder in job_folders(sweep_dir):
        try:
            stamp = (folder / SUMMARY).stat().st_mtime_ns
        except OSError:
            stamp = None
        state.append((str(folder), stamp))
    return tuple(state)


def banner(sweep, best, every: float, now: float, stopped: int | None = None) -> str:
    """One paragraph: done/running/failed/not started, the best so far, when, and that
    the page reloads; or, ``stopped`` (the sweep's pid, gone), that it stopped. The
    heartbeat ``now`` (seconds since the epoch) and the reload's timing are its data."""
    from .render import esc

    tally = sweep.table.status.value_counts() if len(sweep.table) else {}
    done = int(tally.get("ok", 0)) + int(tally.get("diverged", 0))
    running = int(tally.get("incomplete", 0))
    failed = int(tally.get("failed", 0))
    waiting = max((sweep.expected or 0) - len(sweep.table), 0)
    parts = [f"{done} done", f"{running} {'unfinished' if stopped else 'running'}"]
    parts.append(f"{failed} failed")
    if sweep.expected:
        parts.append(f"{waiting} not started (of {sweep.expected})")
    if stopped:
        text = f"The sweep stopped (its process, pid {stopped}, is gone): " + ", ".join(parts)
    else:
        text = "Sweep running: " + ", ".join(parts)
    text += "."
    if best is not None:
        from .render import setting_words

        text += (
            f" Best so far: {setting_words(best['settings']) or 'job ' + str(best['job'])}"
            f" ({sweep.short} {best['objective']:.4g})."
        )
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    if stopped:
        note = (
            f" Updated {clock}. This page no longer reloads; nnexp report on the sweep "
            "folder writes the final report."
        )
    else:
        note = (
            f" Updated {clock}; this page reloads every {every:g} s while the sweep runs "
            "and stops when it ends."
        )
    return (
        f'<div id="live" class="warn" data-state="{"stopped" if stopped else "running"}" '
        f'data-done="{done}" data-running="{running}" data-failed="{failed}" '
        f'data-heartbeat="{now:.3f}" data-every="{max(1.0, every):g}" '
        f'data-stale-after="{stale_after(every):g}">'
        f'<strong>{esc(text)}</strong><span class="note">{esc(note)}</span></div>'
    )


def live_page(
    sweep_dir: Path, every: float, now: float | None = None, stopped: int | None = None
) -> str:
    """The report as it stands, with the live banner and the reload (``now``: its
    heartbeat, default the present). ``stopped``: the pid of the sweep that is gone; the
    banner says so and the page does not reload."""
    from . import report

    sweep = report.collect(Path(sweep_dir))
    page = report.page(sweep)
    html = report.render.html_page(page)
    html = html.replace("<title>", "<title>(stopped) " if stopped else "<title>(running) ", 1)
    now = time.time() if now is None else now
    top = banner(sweep, page.best, every, now, stopped) + RELOAD_SCRIPT
    return html.replace("<main>\n", "<main>\n" + top, 1) if "<main>\n" in html else top + html


def beat(html: str, now: float) -> str:
    """A live page with its heartbeat moved to ``now``: the cheap rewrite that tells the
    page its sweep is still there when nothing else changed."""
    return re.sub(r'data-heartbeat="[0-9.]+"', f'data-heartbeat="{now:.3f}"', html, count=1)


def write_live(sweep_dir: Path, every: float, stopped: int | None = None) -> str:
    """Write the live page (or, ``stopped``, the stopped one); the page written."""
    return _write(Path(sweep_dir), live_page(sweep_dir, every, stopped=stopped))


class _Ending:
    """SIGTERM in the watcher process (the sweep has ended and draws the final page, so
    the one being built is not needed): end at once, or, while a page is being written,
    right after it, so a page is never left half-written nor its temporary file behind."""

    writing = False
    asked = False

    @classmethod
    def on_term(cls, signum, frame) -> None:
        if cls.writing:
            cls.asked = True
            return
        # Not an exception: the signal may land inside the stop event's wait, just woken
        # by the sweep's end, whose cleanup then fails on it ("semaphore or lock released
        # too many times", a traceback and exit 1). Between pages there is nothing to undo.
        os._exit(0)

    @classmethod
    @contextlib.contextmanager
    def write(cls):
        cls.writing = True
        try:
            yield
        finally:
            cls.writing = False
            if cls.asked:
                raise SystemExit(0)


def _write(folder: Path, html: str) -> str:
    from .table import REPORT_HTML

    with _Ending.write():
        write_text(folder / REPORT_HTML, html)
    return html


def _say_stopped(folder: Path, every: float, parent: int, html: str | None) -> None:
    """The stopped page, once there is a page at all (a build that fails is left)."""
    if html is not None:
        try:
            write_live(folder, every, stopped=parent)
        except Exception as error:
            log.debug("live report: %s", error)


def watch(sweep_dir: str, every: float, stop, parent: int, gone=None) -> None:
    """The watcher process's loop (see the module docstring). ``stop`` set ends it;
    ``gone`` set with it (the sweep was interrupted) writes the stopped page first."""
    # Ctrl-C reaches the whole process group: the sweep handles it and asks this process
    # for the stopped page (or this process sees its parent gone); a traceback here would
    # only add lines to the one the command prints. It was blocked while this started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, _Ending.on_term)
    from .table import remember_reads

    remember_reads()  # each build reads the finished jobs' files from memory
    folder = Path(sweep_dir)
    seen: tuple | None = None
    html: str | None = None
    next_build = written = time.monotonic()
    tick = min(every, BEAT)
    wait = 0.0  # the sweep has run for ``every`` seconds already: a first page now
    while not stop.wait(wait):
        wait = tick
        if os.getppid() != parent:  # the sweep was killed: say so, once, and end
            _say_stopped(folder, every, parent, html)
            return
        try:
            clock = time.monotonic()
            now = fingerprint(folder)
            # (a hundredth of a second early is on time: wait's timeout is not exact)
            if now and now != seen and clock >= next_build - 0.01:
                html = write_live(folder, every)
                seen, written = now, time.monotonic()
                next_build = written + max(every, COST_FACTOR * (written - clock))
            elif html is not None and clock - written >= BEAT:
                html = _write(folder, beat(html, time.time()))
                written = clock
        except Exception as error:  # a page that fails now may build later; never crash
            log.debug("live report: %s", error)
    if gone is not None and gone.is_set():
        _say_stopped(folder, every, parent, html)


class Watcher:
    """Start and stop the watcher process for one sweep folder.

    The process starts only once the sweep has run for ``every`` seconds (a timer here):
    before then there is no page to show anyway, and a sweep that ends sooner never pays
    for a second interpreter importing nnexp, whose second of CPU would come out of the
    jobs' cores. Started late, the watcher builds its first page at once."""

    def __init__(self, sweep_dir: Path, every: float) -> None:
        self.sweep_dir, self.every = str(sweep_dir), every
        self.parent = os.getpid()
        self.process: multiprocessing.process.BaseProcess | None = None
        self.stop_event: Any = None
        self.gone_event: Any = None
        self.lock = threading.Lock()  # start (the timer's thread) against stop (the sweep's)
        self.stopped = False
        self.timer = threading.Timer(every, self.start)
        self.timer.daemon = True  # a sweep never waits for it to end
        self.timer.start()
        RUNNING.add(self)

    def start(self) -> None:
        """Start the watcher process, unless the sweep has ended meanwhile."""
        with self.lock:
            if self.stopped:
                return
            context = multiprocessing.get_context("spawn")
            self.stop_event, self.gone_event = context.Event(), context.Event()
            process = context.Process(
                target=watch,
                args=(self.sweep_dir, self.every, self.stop_event, self.parent, self.gone_event),
                name="nnexp-live-report",
                daemon=True,
            )
            # Ctrl-C reaches the whole process group, this process too while it is still
            # starting (importing nnexp takes a moment). The timer's thread cannot swap
            # the handler (only the main thread can), so it blocks SIGINT, which the
            # new process inherits until ``watch`` ignores it and unblocks it.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                process.start()
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            # Set once started: ``process`` is never seen without its pid.
            self.process = process

    def _end_once(self) -> multiprocessing.process.BaseProcess | None:
        """Mark the watcher ended (under ``self.lock``), once: the process for the caller
        to end, None when there is none or an earlier call ended it. Once only: the
        process, terminated, may have died holding an event's lock (a SIGTERM while it
        woke from waiting on it); setting an event again would wait for that lock for
        ever."""
        if self.stopped:
            return None
        self.stopped = True
        RUNNING.discard(self)
        self.timer.cancel()
        return self.process

    def request_stop(self) -> None:
        """End the watcher without waiting for it: a page it is writing is finished
        (see ``_Ending``), one it is building is dropped."""
        with self.lock:
            process = self._end_once()
            if process is None:
                return
            self.stop_event.set()
            # The final page replaces whatever it would write: it ends now (still
            # importing, it has written nothing; writing a page, it finishes it first).
            process.terminate()

    def stop(self, timeout: float = 60.0) -> None:
        """End the watcher and wait until it has (a page it is writing is finished
        first)."""
        self.request_stop()
        with self.lock:
            if self.process is None:
                return
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5)

    def interrupt(self, timeout: float = 30.0) -> None:
        """The sweep was interrupted (Ctrl-C, SIGTERM): have the watcher write the
        stopped page, wait for it, and end it. Its SIGINT ignored, it is still there."""
        with self.lock:
            process = self._end_once()
            if process is None:
                return
            self.gone_event.set()
            self.stop_event.set()
            process.join(timeout)
            if process.is_alive():
                process.terminate()


# The watchers of the sweeps this process runs and has not ended: an interrupted command
# asks each for its stopped page (``interrupted``), the sweep's end callback never runs.
RUNNING: set[Watcher] = set()


def interrupted() -> None:
    """The command was interrupted: every live page says its sweep stopped."""
    for watcher in list(RUNNING):
        watcher.interrupt()
