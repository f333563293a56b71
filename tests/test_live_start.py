"""The live page's watcher process starts only once a sweep has run for ``live_every``
seconds: a sweep done sooner never starts one. (The page itself: test_live_report.py.)"""

from __future__ import annotations

import os
import signal
import time

from nnexp.sweep import live
from tests.cli import wait_for


def _started_job(sweep_dir):
    """A sweep folder whose one job has started: the watcher has a page to write."""
    hydra = sweep_dir / "0" / ".hydra"
    hydra.mkdir(parents=True)
    (hydra / "overrides.yaml").write_text("- lr=0.1\n")


def test_a_sweep_that_ends_sooner_never_starts_the_watcher(tmp_path):
    watcher = live.Watcher(tmp_path, 30)
    watcher.stop()
    assert watcher.process is None
    watcher.timer.join(5)
    assert watcher.process is None  # the timer, cancelled, started nothing later either


def test_the_watcher_starts_after_its_interval_and_writes_at_once(tmp_path):
    _started_job(tmp_path)
    began = time.monotonic()
    watcher = live.Watcher(tmp_path, 0.3)
    try:
        # Not started before its interval (a loaded machine may take longer to look).
        assert watcher.process is None or time.monotonic() - began >= 0.3
        assert wait_for(lambda: (tmp_path / "report.html").is_file())
        assert watcher.process is not None
        assert 'data-state="running"' in (tmp_path / "report.html").read_text()
    finally:
        watcher.stop()
    assert not watcher.process.is_alive()


def test_a_watcher_still_starting_ignores_ctrl_c_and_stops_at_once(tmp_path):
    """Ctrl-C reaches the whole process group, the watcher while it imports too; it was
    started from the timer's thread, which cannot ignore SIGINT for it, so it starts with
    SIGINT blocked. Stopped before it watches, it is ended without being waited for."""
    _started_job(tmp_path)
    watcher = live.Watcher(tmp_path, 0.05)
    try:
        assert wait_for(lambda: watcher.process is not None)
        os.kill(watcher.process.pid, signal.SIGINT)  # while it imports nnexp
        assert wait_for(lambda: (tmp_path / "report.html").is_file())
        assert watcher.process.is_alive()
        assert watcher.process.exitcode is None
    finally:
        watcher.stop()
    assert not watcher.process.is_alive()
    starting = live.Watcher(tmp_path, 0.01)
    assert wait_for(lambda: starting.process is not None)
    starting.stop()
    assert starting.process is not None and not starting.process.is_alive()
    # The timer's thread gives SIGINT back to this process's threads.
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_the_callback_pickles_while_a_sweep_runs(tmp_path):
    """joblib, Ray and submitit pickle the callbacks for their workers: the threads and
    the process the callback starts stay with the sweep's process."""
    import pickle

    from omegaconf import OmegaConf

    from nnexp.sweep.callbacks import SweepReport

    callback = SweepReport(live_every=30)
    callback.on_multirun_start(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    try:
        assert callback.prefetch is not None and callback.prefetch.thread.is_alive()
        copy = pickle.loads(pickle.dumps(callback))
        assert copy.watcher is None and copy.prefetch is None and copy.live_every == 30.0
    finally:
        callback.prefetch.stop()
        callback.watcher.stop()
    assert not callback.prefetch.thread.is_alive() and callback.watcher.process is None


def test_a_watcher_ended_while_writing_finishes_the_page_first(tmp_path, monkeypatch):
    """At the sweep's end the watcher is ended at once (the final page replaces its own),
    but a page it is writing is finished first: never half a page, nor a temporary file
    left in the sweep folder. Ended between pages, it ends cleanly too."""
    import multiprocessing

    sweep = tmp_path / "sweep"
    _started_job(sweep)
    real_write = live.write_text

    def slow_write(path, text):
        (tmp_path / "writing").touch()  # the test ends the watcher now
        while not (tmp_path / "go").exists():
            time.sleep(0.01)
        return real_write(path, text)

    monkeypatch.setattr(live, "write_text", slow_write)
    context = multiprocessing.get_context("fork")  # the slow writer goes with it
    process = context.Process(
        target=live.watch, args=(str(sweep), 0.05, context.Event(), os.getpid())
    )
    process.start()
    try:
        assert wait_for(lambda: (tmp_path / "writing").is_file())
        os.kill(process.pid, signal.SIGTERM)  # mid-write
        (tmp_path / "go").touch()
        process.join(60)
    finally:
        if process.is_alive():
            process.kill()
    assert process.exitcode == 0
    page = (sweep / "report.html").read_text()
    assert page.rstrip().endswith("</html>") and 'data-state="running"' in page
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "report.html"]

    (sweep / "report.html").unlink()
    idle = context.Process(target=live.watch, args=(str(sweep), 30, context.Event(), os.getpid()))
    idle.start()  # writes its first page at once, then waits 30 s
    try:
        assert wait_for(lambda: (sweep / "report.html").is_file())
        os.kill(idle.pid, signal.SIGTERM)
        idle.join(60)
    finally:
        if idle.is_alive():
            idle.kill()
    assert idle.exitcode == 0


def test_the_stop_event_is_set_once_however_often_the_watcher_is_stopped(tmp_path):
    """The sweep's end asks the watcher to stop, then stops it: SIGTERM may have ended it
    holding the event's lock, so touching the event again would wait for ever."""

    class Once:
        def __init__(self):
            self.calls = []

        def set(self):
            self.calls.append("set")

        def terminate(self):
            self.calls.append("terminate")

        def join(self, timeout=None):
            self.calls.append("join")

        def is_alive(self):
            return False

    watcher = live.Watcher(tmp_path, 3600)
    fake = Once()
    watcher.process, watcher.stop_event = fake, fake
    watcher.request_stop()
    watcher.stop()
    watcher.request_stop()
    assert fake.calls == ["set", "terminate", "join"]


def _waits_on(stop, ready) -> None:
    """The watcher's wait between looks, with its SIGTERM handler, and nothing else."""
    signal.signal(signal.SIGTERM, live._Ending.on_term)
    ready.set()
    while not stop.wait(0.0005):
        pass


def test_a_watcher_ended_while_woken_ends_quietly(tmp_path):
    """Found with hydra/launcher=ray_local: at the sweep's end the watcher printed
    "Process nnexp-live-report: ... ValueError: semaphore or lock released too many
    times" and exited 1. The end sets the stop event, which wakes it, and SIGTERM then
    landed inside the event's wait, whose cleanup broke on the exception. Here the
    watcher's wait is woken and ended that way sixty times (about one in twelve broke)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    codes = []
    for _ in range(60):
        stop, ready = context.Event(), context.Event()
        process = context.Process(target=_waits_on, args=(stop, ready))
        process.start()
        assert ready.wait(30)
        time.sleep(0.002)
        stop.set()
        process.terminate()
        process.join(30)
        codes.append(process.exitcode)
    assert codes == [0] * 60
