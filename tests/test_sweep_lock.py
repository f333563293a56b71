"""One sweep at a time in a sweep folder: a second one refuses in one line, naming the
folder and the running sweep's process; a dead sweep's folder is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cli import nnexp, started

from nnexp.sweep.lock import LOCK, SweepBusy, acquire, release


def test_a_held_folder_is_refused_and_a_released_one_taken(tmp_path):
    fd = acquire(tmp_path)
    assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
    # Another process (flock locks belong to the open file, so a child asks).
    code = (
        "import sys\nfrom pathlib import Path\nfrom nnexp.sweep.lock import acquire, SweepBusy\n"
        f"try:\n    acquire(Path({str(tmp_path)!r}))\nexcept SweepBusy as e:\n    print(e)\n"
    )
    busy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert f"{tmp_path} is in use by a running sweep (pid {os.getpid()})" in busy.stdout
    release(tmp_path, fd)
    assert not (tmp_path / LOCK).exists()
    release(tmp_path, acquire(tmp_path))


def test_a_dead_sweeps_lock_is_taken_over(tmp_path):
    # The holder dies without releasing: the kernel drops its lock; the file stays.
    code = (
        "import os\nfrom pathlib import Path\nfrom nnexp.sweep.lock import acquire\n"
        f"acquire(Path({str(tmp_path)!r}))\nos._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / LOCK).exists()
    fd = acquire(tmp_path)
    assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
    release(tmp_path, fd)


def test_sweep_busy_names_the_folder_and_the_process(tmp_path):
    assert str(SweepBusy(tmp_path, 42)) == (
        f"{tmp_path} is in use by a running sweep (pid 42); wait for it to finish, "
        "or choose another hydra.sweep.dir"
    )


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "batched"])
def test_a_second_sweep_into_a_running_sweeps_folder_refuses(tmp_path, launcher):
    args = [f"hydra/launcher={launcher}", "hydra.sweep.dir=sweep"]
    first = started(tmp_path, "-m", "seed=0,1", "epochs=30000000", *args)
    try:
        # The lock is taken once the sweep check has passed, before any job starts.
        lock = tmp_path / "sweep" / LOCK
        deadline = time.monotonic() + 90
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = nnexp(tmp_path, "-m", "lr=0.1,1", "epochs=5", *args)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "sweep is in use by a running sweep" in lines[0]
        assert f"(pid {first.pid})" in lines[0]
        assert not (tmp_path / "sweep" / "summary.csv").exists()
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=60)
    # The first sweep is dead: its folder is taken over (a resume, or another sweep).
    third = nnexp(tmp_path, "-m", "seed=0,1", "epochs=5", *args)
    assert third.returncode == 0, third.stderr[-2000:]
    assert not (tmp_path / "sweep" / LOCK).exists()
