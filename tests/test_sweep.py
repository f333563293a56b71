"""Sweeps end to end through ``python -m nnexp -m ...``: the sweep folder's summary and
reports, failures that stay local, resuming a killed sweep; and ``nnexp.resume``, which
decides what a resumed sweep skips. (The Optuna example: test_batched.py, which runs it
on both launchers; the joblib, submitit and Ray launchers: test_cluster.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from cli import nnexp, summary

from nnexp.sweep import resume

GRID = ("lr=0.1,1", "activation=sigmoid,tanh", "epochs=50")


def sweep(cwd: Path, *args: str, name: str = "sweep") -> tuple[str, Path]:
    """Run a multirun into cwd/name; -> (its console output, the sweep folder)."""
    where = cwd / name
    result = nnexp(cwd, "-m", *args, f"hydra.sweep.dir={where}")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr, where


def table(where: Path) -> pd.DataFrame:
    return pd.read_csv(
        where / "summary.csv", keep_default_na=False, na_values=[""], dtype={"run_dir": str}
    )


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("grid"), *GRID)


def test_grid_sweep_leaves_one_row_a_job_and_the_reports(grid):
    output, where = grid
    rows = table(where)
    assert list(rows.job) == [0, 1, 2, 3]
    assert rows[["lr", "activation"]].values.tolist() == [
        [0.1, "sigmoid"],
        [0.1, "tanh"],
        [1.0, "sigmoid"],
        [1.0, "tanh"],
    ]
    assert "epochs" not in rows  # the same in every job: not a swept column
    assert set(rows.status) == {"ok"} and set(rows.epochs_completed) == {50}
    for column in ("final_loss", "best_loss", "final_accuracy", "best_accuracy", "seconds"):
        assert rows[column].notna().all(), column
    for row in rows.itertuples():
        recorded = summary(where / row.run_dir)
        assert row.final_loss == recorded["final"]["loss"] == row.objective
        assert row.best_accuracy == recorded["best"]["accuracy"]
    for n in range(4):
        assert f"job {n + 1} of 4 (#{n}): ok, objective" in output

    for name in ("curves.png", "final_metrics.png", "heatmap.png"):
        assert (where / name).read_bytes().startswith(b"\x89PNG"), name
    report = (where / "report.md").read_text()
    best = rows.loc[rows.objective.idxmin()]
    assert f"**lr={best.lr:g} activation={best.activation}**" in report
    assert (
        f"python -m nnexp -m lr=0.1,1 activation=sigmoid,tanh epochs=50 "
        f"hydra.sweep.dir={where}" in report
    )
    page = (where / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    # the rest are the runs' own decision boundaries, linked relatively
    thumbs = re.findall(r'src="(\./[^"]*)"', page)
    assert sorted(thumbs) == [f"./{n}/decision_boundary.png" for n in range(4)]
    for link in thumbs:
        assert (where / link).is_file()
    run_page = next(p for p in ("report.html", "report.md") if (where / best.run_dir / p).exists())
    assert (
        f'<tr class="ok best"><td data-v="{float(best.job)!r}"><a href="./{best.run_dir}/{run_page}">'
        f"{best.job}</a></td>" in page
    )


@pytest.mark.slow
def test_a_diverging_and_a_failing_job_stay_local_and_resume_redoes_only_them(tmp_path):
    args = ("lr=0.5,1e6", "loss=mse,bce", "model.output_activation=identity", "epochs=50")
    args += ("sweep_check=skip",)  # run the bad jobs too: their failure is the point here
    output, where = sweep(tmp_path, *args)
    rows = table(where)
    # lr=1e6 blows the loss up; bce on an identity output is refused inside the job.
    assert list(rows.status) == ["ok", "failed", "diverged", "failed"]
    assert rows.error[1].startswith("loss=bce needs a sigmoid output")
    assert rows.diverged_at[2] == rows.epochs_completed[2] < 50
    assert rows.objective[0] < float("inf") and all(rows.objective[1:] == float("inf"))
    report = (where / "report.md").read_text()
    assert "**failed**" in report and "*diverged*" in report
    assert "**lr=0.5 loss=mse**" in report.split("## Jobs")[0]  # the best setting
    assert 'class="failed"' in (where / "report.html").read_text()

    # A kill while job 0 was writing: temporary files and no summary.json.
    (where / "0" / "summary.json").unlink()
    (where / "0" / ".metrics.csv.x1y2.tmp").write_text("epoch,lo")
    diverged = where / "2" / "summary.json"
    before = diverged.read_bytes(), diverged.stat().st_mtime_ns
    output, _ = sweep(tmp_path, *args)
    assert "job 1 of 4 (#0): ok, objective" in output
    assert "job 2 of 4 (#1): failed" in output  # failures are retried
    assert "job 3 of 4 (#2): already finished (diverged, objective none); skipped" in output
    assert (diverged.read_bytes(), diverged.stat().st_mtime_ns) == before
    assert not list((where / "0").glob(".*.tmp"))
    assert list(table(where).status) == ["ok", "failed", "diverged", "failed"]


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_runs_every_job_exactly_once(tmp_path):
    where = tmp_path / "sweep"
    args = [
        sys.executable,
        "-m",
        "nnexp",
        "-m",
        "lr=0.1,0.2,0.5,1,2,5",
        "epochs=2000",
        # the basic launcher's job-by-job folders (the batched one is killed in its own tests)
        "hydra/launcher=basic",
        f"hydra.sweep.dir={where}",
    ]
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    process = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120

    def finished():
        return sorted(p.parent.name for p in where.glob("*/summary.json"))

    def started():
        return sorted(p.parent.parent.name for p in where.glob("*/.hydra/overrides.yaml"))

    # SIGKILL once two jobs are done and a third has begun, so its folder is half written.
    while not (len(finished()) >= 2 and len(started()) > len(finished())):
        assert process.poll() is None and time.monotonic() < deadline, "sweep ended first"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = finished()
    assert 2 <= len(done) < 6
    kept = {n: (where / n / "summary.json").read_bytes() for n in done}

    rebuilt = nnexp(tmp_path, "report", where.as_posix())
    assert rebuilt.returncode == 0, rebuilt.stderr
    interrupted = table(where)
    status = dict(zip(interrupted.job.astype(str), interrupted.status))
    half = sorted(set(started()) - set(done))  # begun, never finished
    assert {n: status[n] for n in done + half} == {
        **dict.fromkeys(done, "ok"),
        **dict.fromkeys(half, "incomplete"),
    }
    assert len(status) == len(done) + len(half)
    assert "not started" in (where / "report.md").read_text() or len(started()) == 6

    result = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert finished() == [str(n) for n in range(6)]
    for n, content in kept.items():
        assert (where / n / "summary.json").read_bytes() == content
        assert f"(#{n}): already finished (ok" in result.stdout + result.stderr
    for n in range(6):
        log = (where / str(n) / "nnexp.log").read_text()
        assert log.count("ok after 2000 epochs") == 1, n  # trained to the end once
    assert list(table(where).status) == ["ok"] * 6


# --- nnexp.resume ------------------------------------------------------------------------


def _write_summary(run_dir: Path, status: str, config: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(
        json.dumps({"status": status, "objective": 0.5, "config": config})
    )


def test_finished_means_ok_or_diverged_with_the_same_config(tmp_path):
    config = {"lr": 0.1, "model": {"hidden": [4]}, "progress": True}
    assert resume.finished(tmp_path, config) is None  # killed before summary.json
    for status, kept in (("ok", True), ("diverged", True), ("failed", False)):
        _write_summary(tmp_path, status, config)
        assert (resume.finished(tmp_path, config) is not None) == kept, status
    _write_summary(tmp_path, "ok", config)
    assert resume.finished(tmp_path, dict(config, progress=False)) is not None  # cosmetic
    assert resume.finished(tmp_path, dict(config, lr=0.2)) is None  # another setting
    assert resume.finished(tmp_path) is not None


def test_finished_compares_a_dictconfig_as_summary_json_records_it(tmp_path):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"lr": 1e-08, "epochs": 5, "dataset": {"queries": None}, "tag": "${lr}"})
    _write_summary(tmp_path, "ok", OmegaConf.to_container(cfg, resolve=True))
    assert resume.finished(tmp_path, cfg) is not None


def test_clear_removes_a_stale_verdict_and_interrupted_writes(tmp_path):
    _write_summary(tmp_path, "failed", {})
    (tmp_path / ".model.npz.abc.tmp").write_bytes(b"half")
    (tmp_path / "metrics.csv").write_text("epoch\n")
    resume.clear(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]


def test_expected_jobs_reads_the_grid_or_the_trials_from_the_saved_config(tmp_path):
    from omegaconf import OmegaConf

    assert resume.expected_jobs(tmp_path) is None
    basic = {
        "_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
        "params": {"seed": "0,1"},
    }
    OmegaConf.save(
        {
            "hydra": {
                "sweeper": basic,
                "overrides": {"task": ["lr=0.1,1,10", "activation=sigmoid,tanh", "epochs=5"]},
            }
        },
        tmp_path / "multirun.yaml",
    )
    assert resume.expected_jobs(tmp_path) == 12
    optuna = tmp_path / "optuna"
    optuna.mkdir()
    OmegaConf.save(
        {
            "hydra": {
                "sweeper": {"_target_": "x.OptunaSweeper", "n_trials": 7},
                "overrides": {"task": []},
            }
        },
        optuna / "multirun.yaml",
    )
    assert resume.expected_jobs(optuna) == 7


def test_expected_jobs_counts_from_the_config_in_memory_as_from_its_file(tmp_path):
    """The callback has the sweep's config: the count needs no reading of the file that
    holds it (the same count as from the file, which is absent here)."""
    from omegaconf import OmegaConf

    basic = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
    config = OmegaConf.create(
        {
            "hydra": {
                "sweeper": {"_target_": basic, "params": {"seed": "range(5)"}},
                "overrides": {"task": ["lr=0.1,1", "epochs=5"]},
            }
        }
    )
    assert resume.expected_jobs(tmp_path / "a", config) == 10
    OmegaConf.save(config, tmp_path / "multirun.yaml")
    assert resume.expected_jobs(tmp_path) == 10


def test_progress_line_counts_from_one_and_names_hydras_job_number():
    ok = {"status": "ok", "objective": 0.012345678}
    assert (
        resume.progress_line(2, 6, ok, 1.234) == "job 3 of 6 (#2): ok, objective 0.0123457, 1.23 s"
    )
    assert (
        resume.progress_line(0, None, {"status": "failed", "objective": None}, 0.01)
        == "job 1 (#0): failed, objective none, 0.01 s"
    )
    assert (
        resume.progress_line(4, 5, ok, 0, skipped=True)
        == "job 5 of 5 (#4): already finished (ok, objective 0.0123457); skipped"
    )


@pytest.mark.slow
def test_a_sweep_without_hydra_files_says_why_it_has_no_report(tmp_path):
    """hydra.output_subdir=null: the jobs keep no .hydra/overrides.yaml, which the report
    reads each job's setting from. The sweep's runs are complete; the report is not
    written, in one line instead of a traceback."""
    out, where = sweep(tmp_path, "seed=1,2", "epochs=5", "hydra.output_subdir=null")
    assert "no sweep report: with hydra.output_subdir=null" in out
    assert "Traceback" not in out
    assert sorted(p.parent.name for p in where.glob("*/summary.json")) == ["0", "1"]
    assert not (where / "report.html").exists()
