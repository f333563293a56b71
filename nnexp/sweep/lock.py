"""One sweep at a time in a sweep folder.

Two sweeps writing into one ``hydra.sweep.dir`` mix their run folders and reports. The
first sweep holds an advisory lock (``flock``) on ``.nnexp.lock`` in the folder, with its
process id inside; a second one refuses to start, naming the folder and that process.
The kernel drops the lock when its holder dies (killed, crashed, Ctrl-C), so a dead
sweep's folder is taken over at once, with no stale-lock guessing; the file is removed
when the sweep ends. ``SweepLock`` is the Hydra callback (in ``hydra.callbacks`` of
``conf/config.yaml``, after the check, so that a refused sweep leaves no folder), so every sweeper and launcher passes through it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

try:
    import fcntl
except ImportError:  # not on Windows: sweeps there go unlocked
    fcntl = None  # type: ignore[assignment]

LOCK = ".nnexp.lock"


class SweepBusy(Exception):
    """Another live process holds the sweep folder (its pid, when it could be read)."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"{folder} is in use by a running sweep ({holder}); wait for it to finish, "
            "or choose another hydra.sweep.dir"
        )


def acquire(folder: Path) -> int | None:
    """Lock ``folder`` for this process -> the lock file's descriptor (None where there is
    no flock). Raises SweepBusy when a live process holds it."""
    if fcntl is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            raise SweepBusy(folder, pid) from None
        # The holder may have removed the file (ending its sweep) between our open and our
        # lock, and a third sweep made a new one: a lock on the old file guards nothing.
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def _holder(fd: int) -> int | None:
    """The pid the holder wrote (it writes right after locking: wait for it briefly)."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.05)
    return None


def release(folder: Path, fd: int | None) -> None:
    """Remove the lock file, then let go of it (in that order, see ``acquire``)."""
    if fd is None:
        return
    try:
        (folder / LOCK).unlink(missing_ok=True)
    finally:
        os.close(fd)


class SweepLock(Callback):
    """Hold the sweep folder's lock from the multirun's start to its end."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.folder: Path | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Launchers that run jobs elsewhere pickle the callbacks: the lock stays here.
        return {"fd": None, "folder": None}

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        folder = Path(str(config.hydra.sweep.dir))
        try:
            self.fd = acquire(folder)
        except SweepBusy as busy:
            print(f"nnexp: error: {busy}", file=sys.stderr)
            raise SystemExit(1) from None
        except OSError:
            # A folder that cannot be made or written is reported, in one line, where
            # the sweep first writes it; with nothing written there, nothing to guard.
            return
        self.folder = folder

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        if self.folder is not None:
            release(self.folder, self.fd)
            self.fd = self.folder = None
