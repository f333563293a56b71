"""The sweep check: every job of a sweep built (not trained) before the sweep starts."""

from __future__ import annotations

import json

import pytest

from tests.cli import nnexp, quick_first

BCE_3 = "loss=bce needs a sigmoid output, not softmax: use loss=cross_entropy with softmax"
NO_COLUMN = "dataset.features: 'b' is not a column of ac.csv: columns are a, c, label"


@pytest.fixture
def files(tmp_path):
    """Three CSV files: two classes, three classes, and one without column b."""
    (tmp_path / "two.csv").write_text("a,b,label\n1,2,x\n2,3,y\n3,1,x\n0,0,y\n")
    (tmp_path / "three.csv").write_text("a,b,label\n1,2,x\n2,3,y\n3,1,z\n0,0,y\n")
    (tmp_path / "ac.csv").write_text("a,c,label\n1,2,x\n2,3,y\n3,1,x\n0,0,y\n")
    return tmp_path


SWEEP = (
    "loss=sse,bce",
    "dataset=csv",
    "dataset.path=two.csv,three.csv,ac.csv",
    "dataset.target=label",
    "dataset.features=[a,b]",
    "epochs=5",
)
EXPECTED = [
    "sweep check: 3 of 6 jobs would fail (3 datasets loaded):",
    f"  job #2 (loss=sse dataset.path=ac.csv): {NO_COLUMN}",
    f"  job #4 (loss=bce dataset.path=three.csv): {BCE_3}",
    f"  job #5 (loss=bce dataset.path=ac.csv): {NO_COLUMN}",
]


@pytest.mark.parametrize("form", quick_first(["subcommand", "flag"], ["subcommand", "flag"], 1))
def test_check_lists_every_bad_job_and_trains_nothing(files, form):
    args = ("check", "-m", *SWEEP) if form == "subcommand" else ("-m", *SWEEP, "--check")
    done = nnexp(files, *args)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [*EXPECTED, "sweep check: nothing was trained"]
    assert not (files / "outputs").exists()


@pytest.mark.slow
def test_check_of_a_good_sweep_exits_zero(files):
    done = nnexp(files, "check", "lr=0.1,1", "dataset=csv", "dataset.path=two.csv",
                 "dataset.target=label", "seed=range(3)")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "sweep check: all 6 jobs build (1 dataset loaded); nothing was trained"
    )
    assert not (files / "outputs").exists()


@pytest.mark.slow
def test_a_sweep_with_bad_jobs_refuses_to_start(files):
    done = nnexp(files, "-m", *SWEEP)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[:4] == EXPECTED
    assert lines[4].startswith("sweep check: the sweep was not started;")
    assert "sweep_check=skip" in lines[4]
    assert "Traceback" not in done.stderr
    assert not (files / "outputs").exists()  # no sweep folder, no job folder


def test_a_bad_mode_is_one_line(files):
    done = nnexp(files, "-m", "lr=0.1,1", "sweep_check=maybe")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "nnexp: error: sweep_check='maybe' is not allowed: "
        "sweep_check must be one of refuse, skip, off, only"
    )


@pytest.mark.slow
def test_an_optuna_search_is_checked_over_its_choices(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    done = nnexp(tmp_path, "check", "hparams_search=circles_optuna", "loss=cross_entropy",
                 "activation=tanh")  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # The search's four widths; its learning-rate interval is left to each trial.
    assert lines[0] == "sweep check: 4 of 4 jobs would fail (1 dataset loaded):"
    assert lines[1].startswith(
        "  trials with model.hidden=[2]: loss=cross_entropy needs a softmax output"
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["skip", "off"])
def test_skip_and_off_run_the_valid_jobs_and_record_the_bad(files, mode):
    done = nnexp(files, "-m", *SWEEP, f"sweep_check={mode}")
    assert done.returncode == 0, done.stderr
    if mode == "skip":
        assert EXPECTED[1] in done.stderr
        assert "going ahead with the 3 valid jobs (sweep_check=skip)" in done.stderr
    else:
        assert "sweep check" not in done.stderr + done.stdout
    (sweep,) = (files / "outputs" / "multirun").glob("*/*")
    status = {
        int(d.name): json.loads((d / "summary.json").read_text())
        for d in sweep.iterdir()
        if d.is_dir()
    }
    assert {n: s["status"] for n, s in status.items()} == {
        0: "ok", 1: "ok", 2: "failed", 3: "ok", 4: "failed", 5: "failed"
    }  # fmt: skip
    assert status[4]["error"] == BCE_3
    assert not (sweep / "4" / "metrics.csv").exists()
