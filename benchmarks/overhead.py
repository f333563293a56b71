"""Section 3, overhead: the seconds a run spends outside training (start-up, Hydra,
files, plots, reports) for ``python -m nnexp epochs=10``, and per job of
``python -m nnexp -m seed=range(20) epochs=10`` (goal: <= 150 ms outside training per job,
plots included). Each command runs as a subprocess, as a user runs it; training seconds
come from each run's summary.json.

A second multirun runs in a child process with timers around the phases of a job
(Hydra's composing, the task, the run folder's tables, plots and report, the sweep's
report at the end) and says where the time goes.

    python benchmarks/overhead.py [--jobs 20] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from functools import wraps
from pathlib import Path

STARTED = time.perf_counter()

from _common import Row, machine, print_table  # noqa: E402

SECTION = "3 overhead"
EPOCHS = 10
GOAL = "<= 150"  # ms outside training, per job of a multirun


def nnexp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnexp", *args, f"epochs={EPOCHS}", "progress=false"]


def _train_seconds(folders) -> float:
    return sum(json.loads((d / "summary.json").read_text())["train_seconds"] for d in folders)


def single_run(workdir: Path) -> tuple[float, float]:
    """(wall seconds, training seconds) of one ``python -m nnexp epochs=10``."""
    out = workdir / f"single-{time.monotonic_ns()}"
    start = time.perf_counter()
    subprocess.run(
        nnexp_command(f"hydra.run.dir={out}"), check=True, capture_output=True, cwd=workdir
    )
    return time.perf_counter() - start, _train_seconds([out])


def multirun(workdir: Path, jobs: int, *extra: str) -> tuple[float, float]:
    """(wall seconds, training seconds summed over the jobs) of a ``seed=range(jobs)``
    multirun, with the launcher ``extra`` overrides name (nnexp's default: batched)."""
    out = workdir / f"multi-{time.monotonic_ns()}"
    start = time.perf_counter()
    subprocess.run(
        nnexp_command("-m", f"seed=range({jobs})", f"hydra.sweep.dir={out}", *extra),
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    wall = time.perf_counter() - start
    folders = [d for d in out.iterdir() if (d / "summary.json").exists()]
    assert len(folders) == jobs, f"{len(folders)} of {jobs} run folders"
    return wall, _train_seconds(folders)


# --- where a job's time goes: a child process with timers around each phase -----------

# (label, module, attribute path): each is wrapped with a timer in the child. Nested
# phases are listed after the phase that contains them.
PHASES = [
    (
        "Hydra: compose a job's config (twice a job: the sweeper's check, then the launch)",
        "hydra._internal.config_loader_impl",
        "ConfigLoaderImpl.load_sweep_config",
    ),
    (
        "Hydra: run_job (the whole job, with its output dir, logging, .hydra/*.yaml)",
        "hydra.core.utils",
        "run_job",
    ),  # bound by the launcher when Hydra loads it
    ("nnexp: task", "nnexp.edge.task", "task"),
    ("nnexp: build (data, network, optimiser)", "nnexp.run.setup", "build"),
    ("nnexp: train", "nnexp.run.execute", "fit"),
    ("nnexp: provenance (config, versions, git commit)", "nnexp.run.execute", "provenance"),
    ("nnexp: write run folder", "nnexp.run.execute", "write_run"),
    ("nnexp: metrics and predictions tables", "nnexp.run.artifacts", "write_frame"),
    ("nnexp: model.npz", "nnexp.run.artifacts", "save_model"),
    ("nnexp: plots (curves, decision boundary)", "nnexp.run.figures", "run_plots"),
    ("nnexp: report.md", "nnexp.run.report", "write_report"),
    ("nnexp: resume checks", "nnexp.sweep.resume", "finished"),
    (
        "nnexp: sweep report at the end (summary.csv, plots, report.html)",
        "nnexp.sweep.callbacks",
        "SweepReport.on_multirun_end",
    ),
]


def _wrap(module: str, path: str, label: str, totals: dict, counts: dict) -> None:
    import importlib

    owner = importlib.import_module(module)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    @wraps(original)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - start
            counts[label] += 1

    setattr(owner, name, timed)


def child(sweep_dir: str, jobs: int, report: str) -> None:
    """Run the multirun in this process with every phase timed; write the totals."""
    totals, counts = defaultdict(float), defaultdict(int)
    from nnexp.__main__ import main

    imported = time.perf_counter()
    for label, module, path in PHASES:
        _wrap(module, path, label, totals, counts)
    sys.argv = [
        "nnexp",
        "-m",
        f"seed=range({jobs})",
        f"epochs={EPOCHS}",
        "progress=false",
        f"hydra.sweep.dir={sweep_dir}",
        "hydra/launcher=basic",  # the phases timed are those of one job at a time
    ]
    try:
        main()
    finally:
        end = time.perf_counter()
        Path(report).write_text(
            json.dumps(
                {
                    "imports": imported - STARTED,
                    "in_process": end - STARTED,
                    "hydra_and_jobs": end - imported,
                    "totals": totals,
                    "counts": counts,
                }
            )
        )


def breakdown(workdir: Path, jobs: int) -> dict:
    report = workdir / "breakdown.json"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--child", str(workdir / "profiled"), str(jobs), str(report)],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    record = json.loads(report.read_text())
    record["wall"] = time.perf_counter() - start
    return record


def run(jobs: int = 20, repeats: int = 2) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="nnexp-overhead-") as tmp:
        workdir = Path(tmp)
        singles = min((single_run(workdir) for _ in range(repeats + 1)), key=lambda r: r[0])
        multis = min(
            (multirun(workdir, jobs, "hydra/launcher=basic") for _ in range(repeats)),
            key=lambda r: r[0],
        )
        batched = multirun(workdir, jobs, "hydra/launcher=batched")
        phases = breakdown(workdir, jobs)
    rows = []
    wall, trained = singles
    rows.append(
        Row(
            SECTION,
            f"python -m nnexp epochs={EPOCHS}",
            "nnexp, one run",
            "float64",
            (wall - trained) * 1e3,
            "ms",
            note=f"outside training; wall {wall:.2f} s, training {trained * 1e3:.1f} ms",
        )
    )
    wall, trained = multis
    per_job = (wall - trained) / jobs
    rows.append(
        Row(
            SECTION,
            f"python -m nnexp -m seed=range({jobs}) epochs={EPOCHS}",
            "nnexp, a job of the multirun",
            "float64",
            per_job * 1e3,
            "ms",
            goal=GOAL,
            met="yes" if per_job * 1e3 <= float(GOAL.split()[-1]) else "no",
            note=f"outside training, per job; wall {wall:.2f} s = {wall / jobs * 1e3:.0f} "
            f"ms a job, training {trained / jobs * 1e3:.1f} ms a job",
        )
    )
    wall, trained = batched
    rows.append(
        Row(
            SECTION,
            f"python -m nnexp -m seed=range({jobs}) epochs={EPOCHS} hydra/launcher=batched",
            "nnexp, a job of the batched multirun",
            "float64",
            (wall - trained) / jobs * 1e3,
            "ms",
            note=f"for comparison, one run; wall {wall:.2f} s",
        )
    )
    start_up = phases["wall"] - phases["in_process"] + phases["imports"]
    rows.append(
        Row(
            SECTION,
            "where a multirun's time goes",
            "interpreter start and imports",
            "",
            start_up * 1e3,
            "ms",
            note="once a multirun",
        )
    )
    for label, _, _ in PHASES:
        total, count = phases["totals"].get(label, 0.0), phases["counts"].get(label, 0)
        if not count:
            continue
        once = "sweep report" in label
        rows.append(
            Row(
                SECTION,
                "where a multirun's time goes",
                label,
                "",
                total * 1e3 / (1 if once else jobs),
                "ms",
                note="once a multirun" if once else f"per job ({count} calls)",
            )
        )
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print_table(run(args.jobs, args.repeats), machine())


if __name__ == "__main__":
    main()
