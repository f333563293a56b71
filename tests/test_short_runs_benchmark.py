"""benchmarks/short_runs.py on a tiny budget: both commands end to end on two trees (here
the same one twice), the old-vs-new table and a run folder's parts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_short_runs_benchmark_runs_on_a_tiny_budget(tmp_path):
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "short_runs.py"),
        "--jobs",
        "3",
        "--repeats",
        "1",
        "--baseline",
        str(ROOT),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert len(re.findall(r"baseline / this: [\d.]+x wall, [\d.]+x CPU", out)) == 2, out
    ratios = re.findall(r"ms -> +[\d.]+ ms +\(([\d.]+)x\)", out)
    assert len(ratios) == 7 and all(float(r) > 0 for r in ratios), out
    total = re.search(r"^  total +([\d.]+) ms$", out, flags=re.M)
    assert total and float(total.group(1)) > 0, out
