"""How long building a sweep report takes for a large sweep: synthetic run folders (as
nnexp leaves them: overrides, summary.json, metrics.csv, a decision boundary and a run
page), then ``nnexp.sweep.report.build`` timed, best of ``--repeats``. Goal: under 3 s
for 200 jobs.

    python benchmarks/report_build.py [--jobs 200] [--rows 500] [--repeats 3]

The synthetic sweeps are also the tests' sweeps at scale (tests/test_report_scale.py).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_SECONDS = 3.0
BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
OPTUNA = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"


def _boundary_png() -> bytes:
    """One small decision-boundary-like picture, shared by every synthetic job."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 2.0), dpi=60)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    x, y = np.meshgrid(np.linspace(-1, 1, 40), np.linspace(-1, 1, 40))
    ax.imshow(np.tanh(3 * (x * x + y * y - 0.5)), cmap="RdBu")
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_sweep_config(root: Path, task: list[str], sweeper: str = BASIC, params=None) -> None:
    from omegaconf import OmegaConf

    root.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(
        {
            "hydra": {
                "sweeper": {"_target_": sweeper, "params": params},
                "overrides": {
                    "hydra": [f"hydra.sweep.dir={root}", "hydra.mode=MULTIRUN"],
                    "task": task,
                },
            },
            "dataset": {"name": "circles", "n": 200},
            "optimizer": {"name": "adam"},
            "epochs": 100,
        },
        root / "multirun.yaml",
    )


def write_job(
    root: Path,
    num: int,
    overrides: list[str],
    status: str = "ok",
    objective: float = 0.1,
    rows: int = 100,
    boundary: bytes | None = None,
    accuracy: float = 0.9,
    error: str | None = None,
) -> Path:
    """One job folder as nnexp leaves it (``status="incomplete"``: no summary.json)."""
    run = root / str(num)
    (run / ".hydra").mkdir(parents=True, exist_ok=True)
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    epoch = np.arange(rows + 1)
    start = max(objective, 1e-12) * 20 + 0.5
    curve = start * (max(objective, 1e-12) / start) ** (epoch / rows)
    if status == "diverged":
        curve[rows // 2 :] = np.inf
    lines = ["epoch,loss,accuracy,val_loss,val_accuracy"]
    acc = np.linspace(0.5, accuracy, rows + 1)
    lines += [
        f"{e},{float(c)!r},{float(a)!r},{float(c) * 1.05!r},{float(a)!r}"
        for e, c, a in zip(epoch, curve, acc)
    ]
    if status != "failed":
        (run / "metrics.csv").write_text("\n".join(lines) + "\n")
    if boundary is not None and status != "failed":
        (run / "decision_boundary.png").write_bytes(boundary)
        (run / "report.html").write_text("<!DOCTYPE html><title>run</title><p>a run</p>")
    if status == "incomplete":
        return run
    summary: dict = {"status": status, "objective": None}
    if status == "failed":
        summary["error"] = error or "ValueError: boom"
    else:
        final = {"loss": float(curve[-1]), "accuracy": accuracy}
        final.update(val_loss=float(curve[-1] * 1.05), val_accuracy=accuracy)
        finite = math.isfinite(final["val_loss"])
        summary.update(
            objective=final["val_loss"] if finite else None,
            final={k: (v if math.isfinite(v) else None) for k, v in final.items()},
            best={"loss": float(np.nanmin(curve[np.isfinite(curve)]))},
            epochs_completed=rows if status == "ok" else rows // 2,
            diverged_at=rows // 2 if status == "diverged" else None,
            train_seconds=0.5,
            config={"dataset": {"name": "circles"}, "optimizer": {"name": "adam"}, "epochs": 100},
        )
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def seed_lr_sweep(root: Path, jobs: int = 200, rows: int = 100, seeds: int = 10) -> Path:
    """``lr`` × ``seed`` (``jobs // seeds`` learning rates): the objective is best near
    lr=0.03, one seed in five of the largest rates diverges, one job failed."""
    lrs = [float(f"{v:.3g}") for v in np.geomspace(1e-4, 3.0, max(1, jobs // seeds))]
    write_sweep_config(
        root, [f"lr={','.join(map(str, lrs))}", f"seed=range({seeds})", "epochs=100"]
    )
    boundary = _boundary_png()
    rng = np.random.default_rng(0)
    num = 0
    for lr in lrs:
        for seed in range(seeds):
            status = "ok"
            if lr > 1 and seed % 5 == 0:
                status = "diverged"
            if num == jobs - 1:
                status = "failed"
            objective = 0.02 * (1 + (math.log10(lr / 0.03)) ** 2) * rng.lognormal(0, 0.3)
            write_job(
                root,
                num,
                [f"lr={lr}", f"seed={seed}", "epochs=100"],
                status,
                objective,
                rows,
                boundary,
                accuracy=float(np.clip(1 - objective, 0.5, 1.0)),
            )
            num += 1
            if num == jobs:
                return root
    return root


def grid_sweep(root: Path, params: dict[str, list[str]], seeds: int = 1, rows: int = 50) -> Path:
    """Every combination of ``params`` (values as written on the command line), each
    over ``seeds`` seeds; the objective depends on each value's position."""
    import itertools

    task = [f"{k}={','.join(v)}" for k, v in params.items()]
    write_sweep_config(root, task + ([f"seed=range({seeds})"] if seeds > 1 else []))
    boundary = _boundary_png()
    rng = np.random.default_rng(2)
    combos = list(itertools.product(*(list(enumerate(v)) for v in params.values())))
    num = 0
    for combo in combos:
        for seed in range(seeds):
            position = sum((i + 1) * (k + 1) for k, (i, _) in enumerate(combo))
            objective = 0.01 * position * rng.lognormal(0, 0.2)
            overrides = [f"{k}={v}" for k, (_, v) in zip(params, combo)]
            overrides += [f"seed={seed}"] if seeds > 1 else []
            write_job(root, num, overrides, "ok", objective, rows, boundary)
            num += 1
    return root


def search_sweep(root: Path, trials: int = 40, rows: int = 100) -> Path:
    """An Optuna-style search: log-uniform ``lr``, a categorical width and activation."""
    params = {
        "lr": "tag(log, interval(0.001, 0.3))",
        "model.hidden": 'choice("[2]", "[4]", "[8]", "[16]")',
        "activation": "choice(sigmoid, tanh, relu)",
    }
    write_sweep_config(root, ["hparams_search=circles_optuna"], OPTUNA, params)
    boundary = _boundary_png()
    rng = np.random.default_rng(1)
    widths, acts = ["[2]", "[4]", "[8]", "[16]"], ["sigmoid", "tanh", "relu"]
    for num in range(trials):
        lr = float(np.exp(rng.uniform(np.log(1e-3), np.log(0.3))))
        width, act = widths[rng.integers(4)], acts[rng.integers(3)]
        quality = (np.log10(lr / 0.05)) ** 2 + 2 / int(width[1:-1]) + (act == "sigmoid") * 0.3
        objective = 0.01 * math.exp(quality) * max(0.3, 1 - num / trials)
        write_job(
            root,
            num,
            [f"lr={lr!r}", f"model.hidden={width}", f"activation={act}", "epochs=100"],
            "ok",
            objective,
            rows,
            boundary,
            accuracy=float(np.clip(1 - objective, 0.5, 1.0)),
        )
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=500, help="rows of each metrics.csv")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from nnexp.sweep import report

    with tempfile.TemporaryDirectory() as tmp:
        root = seed_lr_sweep(Path(tmp) / "sweep", args.jobs, args.rows)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            built = report.build(root)
            times.append(time.perf_counter() - started)
        best = min(times)
        print(
            f"| report build, {len(built.sweep.table)} jobs × {args.rows} rows "
            f"| {best:.2f} s | goal < {GOAL_SECONDS:.0f} s | "
            f"{'met' if best < GOAL_SECONDS else 'NOT met'} |"
        )
        print(f"figures: {', '.join(built.page.images)}; best {built.headline().split('; ')[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
