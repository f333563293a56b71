"""benchmarks/sweep_main.py on a tiny budget: a sweep on two trees (here the same one
twice), every part of the sweep's main process measured, the ratios printed."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import sweep_main  # noqa: E402


@pytest.mark.slow
def test_sweep_main_benchmark_runs_on_a_tiny_budget(capsys):
    medians = sweep_main.main(["--jobs", "3", "--repeats", "1", "--baseline", str(ROOT)])
    assert set(medians) == {"this", "baseline"}
    for parts in medians.values():
        assert set(parts) == set(sweep_main.PARTS)
        assert all(math.isfinite(v) and v >= 0 for v in parts.values()), parts
        assert parts["whole process"] > parts["start-up"] > 0
        assert parts["report end"] > 0  # the callback ran and was timed
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split("  ")[1].strip() for row in rows] == list(sweep_main.PARTS), rows
    assert all(row.endswith(("x", "-")) for row in rows), rows
