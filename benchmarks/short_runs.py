"""Short runs are the common case (issue 14, part 3): how long one short run takes end to
end, how long a sweep of a hundred short runs takes, and where a run folder's time goes.

1. ``python -m nnexp epochs=10`` end to end, wall and CPU, best of ``--repeats``.
2. ``python -m nnexp -m experiment=red_blue 'seed=range(100)' epochs=1000`` end to end
   (the batched launcher, the default), every run folder checked complete, best of
   ``--repeats``. With ``--baseline DIR``, a checkout of an earlier nnexp (for instance
   ``git worktree add --detach /tmp/nnexp-old REV``), 1 and 2 also run on it, the two
   taking turns, and the ratios are printed.
3. In this process, the old path and the new path of each function this work changed, on
   the same inputs, taking turns (best of ``--repeats`` each): PNG encoding (Pillow's
   against ``figures.png_bytes``), the two-class boundary's compositing, the run's tables
   (pandas against ``artifacts.Table``), the animation (every frame drawn in full and
   saved by Pillow, against the shared layer and gif.encode) and the GIF encoding alone
   (Pillow's writer against gif.encode). The old paths are the references the tests compare with.
4. A run folder's CPU, part by part, for red/blue runs of 1 000 epochs in one process after
   a warm-up: what a sweep's writer process pays per job besides Hydra's bookkeeping.

    python benchmarks/short_runs.py [--jobs 100] [--repeats 3] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from _common import compiled  # noqa: E402

RUN_FILES = (
    "curves.png",
    "decision_boundary.png",
    "learning.html",
    "learning.gif",
    "metrics.csv",
    "predictions.csv",
    "model.npz",
    "report.md",
    "report.html",
    "summary.json",
    ".hydra/config.yaml",
    ".hydra/hydra.yaml",
    ".hydra/overrides.yaml",
)


def command(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python -m nnexp ARGS`` importing nnexp from ``tree``, in a
    fresh folder; a sweep's run folders are checked complete."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "nnexp", *args, "hydra.sweep.dir=sweep", "hydra.run.dir=run"],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if "-m" in args:
            runs = [p for p in (Path(folder) / "sweep").iterdir() if p.name.isdigit()]
            missing = [f"{run.name}/{name}" for run in runs for name in RUN_FILES]
            missing = [m for m in missing if not (Path(folder) / "sweep" / m).is_file()]
            assert not missing, f"incomplete run folders: {missing[:5]}"
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def end_to_end(
    label: str, args: list[str], trees: dict[str, Path], repeats: int, goal: float | None
) -> None:
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeats):
        for name, tree in trees.items():
            wall, cpu = command(tree, args)
            old = best.get(name, (np.inf, np.inf))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    print(f"\n{label}: python -m nnexp {' '.join(args)}")
    for name, (wall, cpu) in best.items():
        met = (
            ""
            if goal is None
            else f"  (goal <= {goal:g} s wall: {'met' if wall <= goal else 'not met'})"
        )
        print(f"  {name:9s} {wall:6.2f} s wall  {cpu:6.2f} s CPU{met}")
    if "baseline" in best:
        (w0, c0), (w1, c1) = best["baseline"], best["this"]
        print(f"  baseline / this: {w0 / w1:.2f}x wall, {c0 / c1:.2f}x CPU")


def turns(pairs: dict[str, tuple[Callable, Callable]], repeats: int) -> None:
    """Each pair's old and new path, taking turns; best CPU milliseconds of each."""
    print("\nold path vs new path, one process, best of", repeats)
    for name, (old, new) in pairs.items():
        times: dict[str, float] = {"old": np.inf, "new": np.inf}
        for _ in range(repeats):
            for which, run in (("old", old), ("new", new)):
                start = time.process_time()
                run()
                times[which] = min(times[which], time.process_time() - start)
        print(
            f"  {name:38s} {1e3 * times['old']:7.2f} ms -> {1e3 * times['new']:6.2f} ms"
            f"  ({times['old'] / times['new']:.1f}x)"
        )


def trained_runs(count: int):
    """``count`` red/blue runs of 1 000 epochs, trained: [(Setup, History)]."""
    from _common import compose_config

    from nnexp.run.setup import build

    runs = []
    for seed in range(count):
        cfg = compose_config(["experiment=red_blue", f"seed={seed}", "epochs=1000"])
        setup = build(cfg)
        from nnexp.run.execute import fit

        runs.append((setup, fit(cfg, setup)))
    return runs


def old_and_new(runs, repeats: int) -> None:
    from PIL import Image

    from nnexp.run import artifacts, figures, gif, learning
    from tests.test_gif import pillow as pillow_gif
    from tests.test_learning_frames import drawn_in_full
    from tests.test_run_tables import pandas_metrics, pandas_predictions

    setup, history = runs[0]
    data, net, params = setup.dataset, setup.net, setup.params
    metrics = artifacts.metrics_frame(history)
    curves = np.asarray(Image.open(io.BytesIO(figures.curves_png(metrics, "x"))))
    boundary = np.asarray(Image.open(io.BytesIO(figures.boundary_png(data, net, params))))

    def pillow(rgb):
        def encode():
            buffer = io.BytesIO()
            Image.fromarray(rgb).save(buffer, format="png", compress_level=3)
            return buffer.getvalue()

        return encode

    overlay = figures._overlay(data, net, True)
    top, bottom, left, right = overlay.box
    ink = np.random.default_rng(0).integers(0, 10, (bottom - top, right - left))
    page_data, maps = learning.render_data(data, net, setup.snapshots, metrics)
    frames = learning._gif_frames(page_data, maps)
    palette = bytes(learning._gif_palette()[0])
    durations = [learning.FRAME_MS] * (len(frames) - 1) + [learning.LAST_FRAME_MS]
    turns(
        {
            "PNG, curves (Pillow vs png_bytes)": (
                pillow(curves),
                lambda: figures.png_bytes(curves),
            ),
            "PNG, boundary (Pillow vs png_bytes)": (
                pillow(boundary),
                lambda: figures.png_bytes(boundary),
            ),
            "boundary compositing (general vs inks)": (
                lambda: figures._composite(overlay, figures._TWO_CLASS_INKS[ink]),
                lambda: figures._composite_inks(overlay, ink),
            ),
            "metrics.csv (pandas vs Table)": (
                lambda: pandas_metrics(history).to_csv(index=False),
                lambda: artifacts.metrics_frame(history).to_csv(),
            ),
            "predictions.csv (pandas vs Table)": (
                lambda: pandas_predictions(data, net, params).to_csv(index=False, na_rep="nan"),
                lambda: artifacts.predictions_frame(data, net, params).to_csv(na_rep="nan"),
            ),
            "learning.gif (full frames vs shared layer)": (
                lambda: drawn_in_full(page_data, maps),
                lambda: learning.animation(page_data, maps),
            ),
            "GIF encoding (Pillow's writer vs gif.encode)": (
                lambda: pillow_gif(frames, palette, durations),
                lambda: gif.encode(frames, palette, durations, loop=0),
            ),
        },
        repeats,
    )


def run_folder_parts(runs) -> None:
    """CPU milliseconds a job, per part of ``execute.write_run``, warm caches."""
    from nnexp.run import artifacts, figures, learning, report
    from nnexp.run.execute import provenance, summarize  # noqa: F401 (the run's own steps)

    parts: dict[str, Callable] = {
        "tables (metrics, predictions)": lambda s, h, m, d: [
            artifacts.write_frame(d / artifacts.METRICS, m),
            artifacts.write_frame(
                d / artifacts.PREDICTIONS,
                artifacts.predictions_frame(s.dataset, s.net, s.params),
                na_rep="nan",
            ),
        ],
        "model.npz": lambda s, h, m, d: artifacts.save_model(
            d / artifacts.MODEL, s.net, s.params, s.dataset
        ),
        "curves.png": lambda s, h, m, d: figures.curves_png(m, "red_blue: seed=1"),
        "decision_boundary.png": lambda s, h, m, d: figures.boundary_png(
            s.dataset, s.net, s.params, "seed=1"
        ),
        "learning.html + learning.gif": lambda s, h, m, d: learning.write(
            d, s.dataset, s.net, s.snapshots, m
        ),
    }
    spent = dict.fromkeys(parts, 0.0)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for i, (setup, history) in enumerate(runs):
            metrics = artifacts.metrics_frame(history)
            for name, part in parts.items():
                start = time.process_time()
                part(setup, history, metrics, out)
                if i:  # the first job warms the caches, as in each writer process
                    spent[name] += time.process_time() - start
        summary = summarize(runs[0][1], False)
        summary.update(command="python -m nnexp seed=1", config={}, plots=[])
        start = time.process_time()
        for _ in runs[1:]:
            for name in report.RENDERERS:
                report.write_report(out, summary, runs[0][0].dataset, runs[0][0].net, name)
        spent["report.md + report.html"] = time.process_time() - start
    jobs = len(runs) - 1
    print(f"\na run folder's CPU per job, red/blue 1 000 epochs, {jobs} jobs, warm caches")
    for name, seconds in spent.items():
        print(f"  {name:30s} {1e3 * seconds / jobs:6.1f} ms")
    print(f"  {'total':30s} {1e3 * sum(spent.values()) / jobs:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier nnexp")
    args = parser.parse_args()
    trees = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    for tree in trees.values():
        compiled(tree)
    end_to_end("one short run", ["epochs=10"], trees, args.repeats, goal=1.0)
    end_to_end(
        f"a sweep of {args.jobs} short runs",
        ["-m", "experiment=red_blue", f"seed=range({args.jobs})", "epochs=1000"],
        trees,
        args.repeats,
        goal=3.0 if args.jobs == 100 else None,  # the goal is for 100 jobs
    )
    runs = trained_runs(11)
    old_and_new(runs, args.repeats * 3)
    run_folder_parts(runs)


if __name__ == "__main__":
    main()
