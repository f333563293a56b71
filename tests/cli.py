"""Helpers for end-to-end tests: run ``python -m nnexp ...`` in a folder, find what it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def nnexp(
    cwd: Path, *args: str, module: str = "nnexp", timeout: float = 300, input: str | None = None
) -> subprocess.CompletedProcess:
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        input=input,
    )


def run_dirs(cwd: Path) -> list[Path]:
    """Single-run folders under cwd/outputs/runs, oldest first."""
    return sorted(p.parent for p in (cwd / "outputs" / "runs").glob("*/*/.hydra"))


def only_run(cwd: Path) -> Path:
    dirs = run_dirs(cwd)
    assert len(dirs) == 1, dirs
    return dirs[0]


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())
