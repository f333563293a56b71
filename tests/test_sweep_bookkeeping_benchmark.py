"""benchmarks/sweep_bookkeeping.py on a tiny budget: both parts run and print numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_sweep_bookkeeping_benchmark_runs_on_a_tiny_budget(tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "sweep_bookkeeping.py")]
    result = subprocess.run(
        [*command, "--jobs", "4", "--repeats", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"Hydra's run_job +\d+\.\d+ ms", out), out
    assert re.search(r"the launcher's \(_job.run\) +\d+\.\d+ ms", out), out
    assert re.search(r"sweep check to units of work, 4 jobs .*: \d+\.\d+ s", out), out
