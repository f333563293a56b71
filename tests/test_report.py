"""``nnexp.report`` on sweep folders made by hand: what it reads from run folders, how
it ranks and groups jobs, which plots it draws, the two reports, and the
``nnexp report`` command that rebuilds them (also for an interrupted sweep)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli import nnexp
from omegaconf import OmegaConf

from nnexp.sweep import report

BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def make_sweep(root: Path, task: list[str], extra: list[str] = ()) -> Path:
    """A sweep folder with the multirun.yaml Hydra's basic sweeper saves."""
    root.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(
        {
            "hydra": {
                "sweeper": {"_target_": BASIC, "params": None},
                "overrides": {
                    "hydra": [f"hydra.sweep.dir={root}", "hydra.mode=MULTIRUN", *extra],
                    "task": task,
                },
            }
        },
        root / "multirun.yaml",
    )
    return root


def make_job(
    sweep: Path,
    num: int,
    overrides: list[str],
    status: str | None = "ok",
    loss: float = 0.5,
    epochs: int = 10,
    val: bool = False,
    error: str | None = None,
):
    """A job folder as nnexp leaves it; ``status=None``: killed before summary.json."""
    run = sweep / str(num)
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), run / ".hydra" / "overrides.yaml")
    epoch = np.arange(epochs + 1)
    curve = 2.0 * (loss / 2.0) ** (epoch / epochs)  # from 2 down to loss
    if status == "diverged":
        curve[epochs // 2 :] = np.inf
    metrics = {"epoch": epoch, "loss": curve, "accuracy": np.linspace(0.5, 0.9, epochs + 1)}
    if val:
        metrics.update(val_loss=curve * 1.1, val_accuracy=np.linspace(0.5, 0.8, epochs + 1))
    if status != "failed":
        pd.DataFrame(metrics).to_csv(run / "metrics.csv", index=False)
    if status is None:
        return run
    names = ["loss", "accuracy"] + (["val_loss", "val_accuracy"] if val else [])
    final = {m: float(metrics[m][-1]) for m in names}
    objective = final["val_loss" if val else "loss"]
    summary = {"status": status, "objective": objective if math.isfinite(objective) else None}
    if status == "failed":
        summary.update(objective=None, error=error or "boom")
    else:
        summary.update(
            final=final,
            best={m: float(np.nanmin(metrics[m])) for m in names},
            epochs_completed=epochs if status == "ok" else epochs // 2,
            diverged_at=epochs // 2 if status == "diverged" else None,
            train_seconds=0.25,
        )
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def csv(sweep: Path) -> pd.DataFrame:
    return pd.read_csv(
        sweep / "summary.csv", keep_default_na=False, na_values=[""], dtype={"run_dir": str}
    )


def test_parse_overrides_keeps_numbers_and_strings_and_writes_lists_as_text():
    assert report.parse_overrides(
        [
            "lr=0.1",
            "epochs=5",
            "activation=tanh",
            "model.hidden=[4,4]",
            "+extra=x",
            "dataset=circles",
        ]
    ) == {
        "lr": 0.1,
        "epochs": 5,
        "activation": "tanh",
        "model.hidden": "[4,4]",
        "extra": "x",
        "dataset": "circles",
    }


def test_summary_csv_has_a_column_per_swept_override_and_marks_every_status(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10", "loss=mse,bce", "epochs=10"])
    settings = [
        f"lr={lr} loss={loss} epochs=10".split()
        for lr in ("0.1", "1", "10")
        for loss in ("mse", "bce")
    ]
    make_job(sweep, 0, settings[0], loss=0.3)
    make_job(sweep, 1, settings[1], loss=0.1)
    make_job(sweep, 2, settings[2], status="diverged")
    make_job(sweep, 3, settings[3], status="failed", error="loss=bce needs a sigmoid output")
    make_job(sweep, 4, settings[4], status=None)  # killed mid-run
    built = report.build(sweep)
    rows = csv(sweep)
    assert list(rows.columns[:4]) == ["job", "lr", "loss", "status"]
    assert "epochs" not in rows
    assert list(rows.status) == ["ok", "ok", "diverged", "failed", "incomplete"]
    assert rows.error[3] == "loss=bce needs a sigmoid output"
    assert list(rows.run_dir) == ["0", "1", "2", "3", "4"]
    assert rows.final_loss[1] == pytest.approx(0.1) and rows.best_loss[0] == pytest.approx(0.3)
    assert rows.diverged_at[2] == 5 and rows.epochs_completed[0] == 10
    assert "final_val_loss" not in rows  # no job held data out
    assert list(report.ranked(built.sweep.table).job) == [1, 0, 2, 3, 4]
    assert built.best["settings"] == {"lr": 0.1, "loss": "bce"}

    text = (sweep / "report.md").read_text()
    assert (
        "5 jobs: 2 ok, 1 diverged, 1 failed, 1 incomplete; 1 of the sweep's 6 not started" in text
    )
    assert "`lr=0.1 loss=bce`: final training loss 0.1 (job 1, folder `1/`)" in text
    jobs = text.split("## Jobs, best first")[1]
    assert (
        jobs.index("| 1 | 0.1 | bce | ok |")
        < jobs.index("| 0 | 0.1 | mse | ok |")
        < jobs.index("*diverged*")
        < jobs.index("**failed**")
        < jobs.index("_incomplete_")
    )
    assert f"python -m nnexp -m lr=0.1,1,10 loss=mse,bce epochs=10 hydra.sweep.dir={sweep}" in text


def test_an_override_swept_on_the_command_line_is_a_column_even_with_one_job(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "epochs=10"])
    make_job(sweep, 0, ["lr=0.1", "epochs=10"])
    report.build(sweep)
    assert list(csv(sweep).columns[:3]) == ["job", "lr", "status"]


def test_heatmap_only_when_exactly_two_parameters_are_swept(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "activation=tanh,relu"])
    for n, (lr, act) in enumerate([(lr, a) for lr in ("0.1", "1") for a in ("tanh", "relu")]):
        make_job(sweep, n, [f"lr={lr}", f"activation={act}"], loss=0.1 * (n + 1))
    images = report.build(sweep).paths
    assert {p.name for p in images} >= {"curves.png", "final_metrics.png", "heatmap.png"}
    # A third swept parameter: no heatmap, and the one an earlier build left goes.
    make_job(sweep, 4, ["lr=1", "activation=relu", "model.hidden=[8]"])
    report.build(sweep)
    assert not (sweep / "heatmap.png").exists()
    assert (sweep / "curves.png").exists()


def test_seeds_are_averaged_per_setting(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1,2"])
    losses = {
        ("0.1", 0): 0.4,
        ("0.1", 1): 0.5,
        ("0.1", 2): 0.6,
        ("1", 0): 0.1,
        ("1", 1): 0.2,
        ("1", 2): 0.3,
    }
    for n, ((lr, seed), loss) in enumerate(losses.items()):
        make_job(sweep, n, [f"lr={lr}", f"seed={seed}"], loss=loss, val=True)
    built = report.build(sweep)
    settings = report.by_setting(built.sweep)
    assert list(settings.lr) == [1, 0.1]
    assert settings.mean_objective.tolist() == pytest.approx([0.22, 0.55])  # val = 1.1 x
    assert settings.std_objective.tolist() == pytest.approx([0.11, 0.11])
    assert built.best["settings"] == {"lr": 1} and built.best["seeds"] == 3
    text = (sweep / "report.md").read_text()
    assert "final validation loss 0.22 ± 0.11 (mean ± std over 3 seeds, jobs 3 4 5)" in text
    assert "## Settings across seeds, best first" in text
    assert not (sweep / "heatmap.png").exists()  # one setting parameter besides the seed
    assert (sweep / "final_metrics.png").exists()


def test_a_setting_with_a_diverged_seed_ranks_last(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1"])
    make_job(sweep, 0, ["lr=0.1", "seed=0"], loss=0.5)
    make_job(sweep, 1, ["lr=0.1", "seed=1"], loss=0.5)
    make_job(sweep, 2, ["lr=1", "seed=0"], loss=0.01)
    make_job(sweep, 3, ["lr=1", "seed=1"], status="diverged")
    built = report.build(sweep)
    assert built.best["settings"] == {"lr": 0.1}
    assert list(report.by_setting(built.sweep).ok) == [2, 1]


def test_html_report_is_self_contained(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2)
    make_job(sweep, 1, ["lr=1"], status="failed", error="a <bad> value")
    report.build(sweep)
    page = (sweep / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "<script" not in page
    assert '<tr class="failed">' in page and "a &lt;bad&gt; value" in page
    assert '<a href="0/">0</a>' in page


def test_everything_failed_still_gives_a_report(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], status="failed")
    make_job(sweep, 1, ["lr=1"], status=None)
    built = report.build(sweep)
    assert built.best is None
    assert "No job finished with a finite objective." in (sweep / "report.md").read_text()
    assert not (sweep / "curves.png").exists()


def test_cli_rebuilds_an_interrupted_sweep_from_its_run_folders(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10"], extra=["hydra/launcher=joblib"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2)
    make_job(sweep, 1, ["lr=1"], status=None)
    result = nnexp(tmp_path, "report", str(sweep))
    assert result.returncode == 0, result.stderr
    assert "2 jobs: 1 ok, 1 incomplete; 1 of the sweep's 3 not started" in result.stdout
    assert list(csv(sweep).status) == ["ok", "incomplete"]
    for name in ("report.md", "report.html", "curves.png"):
        assert (sweep / name).exists(), name
    assert "hydra/launcher=joblib" in (sweep / "report.md").read_text()


def test_cli_says_so_when_the_folder_holds_no_sweep(tmp_path):
    result = nnexp(tmp_path, "report", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("nnexp report: error:") and "no job folders" in result.stderr
    assert nnexp(tmp_path, "report", str(tmp_path / "missing")).returncode == 2


def test_a_folder_of_several_sweeps_gets_one_combined_report(tmp_path):
    # Each sweep numbers its jobs from 0, as the groups of examples/slurm_batched.sh do.
    for group, loss in (("group-0", 0.3), ("group-1", 0.1)):
        sweep = make_sweep(tmp_path / "all" / group, ["seed=0,1"])
        make_job(sweep, 0, ["seed=0"], loss=loss)
        make_job(sweep, 1, ["seed=1"], loss=loss * 1.1)
    result = nnexp(tmp_path, "report", str(tmp_path / "all"))
    assert result.returncode == 0, result.stderr
    table = csv(tmp_path / "all")
    assert sorted(table.run_dir) == ["group-0/0", "group-0/1", "group-1/0", "group-1/1"]
    assert (tmp_path / "all" / "curves.png").stat().st_size > 5000
