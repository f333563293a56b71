"""The sweep's main process outside the launcher (issue 14, part 3): what it spends before
the sweep check starts (imports, Hydra's start-up, composing the config), in the report
callback's start (saving the config, the live page's watcher) and in its end (the sweep
report: summary.csv, the comparison plots, report.md, report.html), in CPU seconds of the
sweep's own process, read where the callbacks are called (and the report's end in wall
seconds too: it waits for a live watcher to finish its page).

A sweep of ``--jobs`` red/blue runs of 1 000 epochs on the default (batched) launcher,
``--repeats`` times; with ``--baseline DIR`` (a checkout of an earlier nnexp, for instance
``git worktree add --detach /tmp/nnexp-old REV``) the two trees take turns and each part's
ratio is printed. Medians; the live page at its default (``live_every=3``), so a sweep
shorter than that starts no watcher. Each tree's bytecode is compiled once beforehand,
into its own __pycache__ folders, as an installed nnexp's is.

    python benchmarks/sweep_main.py [--jobs 100] [--repeats 3] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import compiled

ROOT = Path(__file__).resolve().parent.parent

# Runs in the sweep's process: the callbacks wrapped to note the process's CPU time.
PROBE = """
import json, runpy, sys, time
from nnexp.edge import sweep_check
from nnexp.sweep import callbacks

seen = {}

def cpu():
    return time.process_time()

def noted(cls, name, label, at_entry=None):
    call = getattr(cls, name)
    def wrapper(self, *args, **kwargs):
        if at_entry and at_entry not in seen:
            seen[at_entry] = cpu()
        start, wall = cpu(), time.perf_counter()
        try:
            return call(self, *args, **kwargs)
        finally:
            seen[label] = cpu() - start
            seen[label + " (wall)"] = time.perf_counter() - wall
    setattr(cls, name, wrapper)

noted(sweep_check.SweepCheck, "on_multirun_start", "sweep check", "start-up")
noted(callbacks.SweepReport, "on_multirun_start", "report start")
noted(callbacks.SweepReport, "on_multirun_end", "report end")
sys.argv = ["nnexp", *sys.argv[1:]]
try:
    runpy.run_module("nnexp", run_name="__main__")
finally:
    seen["whole process"] = cpu()
    print("PROBE " + json.dumps(seen), file=sys.stderr)
"""

PARTS = (
    "start-up",
    "sweep check",
    "report start",
    "report end",
    "report end (wall)",
    "whole process",
)


def environment(tree: Path) -> dict[str, str]:
    """The sweep's environment: nnexp from ``tree``."""
    return {**os.environ, "PYTHONPATH": str(tree)}


def sweep(tree: Path, jobs: int) -> dict[str, float]:
    """One sweep in a fresh folder with nnexp from ``tree``: CPU seconds by part."""
    args = ["-m", "experiment=red_blue", f"seed=range({jobs})", "epochs=1000"]
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *args, "hydra.sweep.dir=sweep"],
            cwd=folder,
            env=environment(tree),
            capture_output=True,
            text=True,
            check=True,
        )
    line = next(x for x in done.stderr.splitlines() if x.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE "))


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier nnexp")
    args = parser.parse_args(argv)
    trees = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for tree in trees.values():
        compiled(tree)
    for _ in range(args.repeats):
        for name, tree in trees.items():  # in turns: the machine's load falls on both
            seen[name].append(sweep(tree, args.jobs))
    medians = {
        name: {part: statistics.median(r.get(part, float("nan")) for r in runs) for part in PARTS}
        for name, runs in seen.items()
    }
    print(
        f"the sweep's main process, {args.jobs} red/blue jobs, CPU seconds (median of {args.repeats})"
    )
    print(
        f"  {'part':16s}"
        + "".join(f"{name:>10s}" for name in trees)
        + ("     ratio" if len(trees) > 1 else "")
    )
    for part in PARTS:
        row = f"  {part:16s}" + "".join(f"{medians[name][part]:10.3f}" for name in trees)
        if len(trees) > 1:
            this, baseline = medians["this"][part], medians["baseline"][part]
            row += f"  {baseline / this:7.2f}x" if this > 0 else "        -"
        print(row)
    return medians


if __name__ == "__main__":
    main()
