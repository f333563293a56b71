"""End to end: ``python -m nnexp`` as a user runs it, in a temporary folder."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from cli import nnexp, only_run, quick_first, run_dirs, summary

from nnexp.edge.cli import SUBCOMMANDS
from nnexp.edge.config import CONSTRAINTS, LAUNCHER_PLUGINS

RED_BLUE_W1 = [
    [-3.97185157, 4.66297249, -5.25188655, 1.39753303],
    [1.35299999, -1.57439556, 1.76665557, -0.71676559],
]
RED_BLUE_W2 = [[-7.20493687], [6.57701463], [-11.30181144], [0.89289527]]


def query_probabilities(run_dir):
    frame = pd.read_csv(run_dir / "predictions.csv", keep_default_na=False)
    queries = frame[frame.kind == "query"]
    return dict(zip(queries.name, queries.probability))


def test_boolean_triples_preset_prints_the_tutorials_number(tmp_path):
    result = nnexp(tmp_path, "experiment=boolean_triples")
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    assert round(query_probabilities(run)["[1 0 0]"], 8) == 0.99993704
    with np.load(run / "model.npz") as model:
        np.testing.assert_array_equal(
            model["W0"].round(8).ravel(), [9.67299303, -0.20784350, -4.62963669]
        )


@pytest.mark.slow
def test_red_blue_preset_matches_every_printed_digit(tmp_path):
    result = nnexp(tmp_path, "experiment=red_blue")
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    assert round(query_probabilities(run)["(2, -3)"], 8) == 0.99942671
    with np.load(run / "model.npz") as model:
        np.testing.assert_array_equal(model["W0"].round(8), RED_BLUE_W1)
        np.testing.assert_array_equal(model["W1"].round(8), RED_BLUE_W2)
    metrics = pd.read_csv(run / "metrics.csv")
    # log_every's default keeps 100 000 epochs to about 2 000 rows, the last one included.
    assert 1900 <= len(metrics) <= 2100
    assert metrics.epoch.iloc[-1] == 100000


@pytest.mark.slow
def test_gender_preset_tells_emily_from_frank(tmp_path):
    result = nnexp(tmp_path, "experiment=gender")
    assert result.returncode == 0, result.stderr
    p = query_probabilities(only_run(tmp_path))
    assert p["Emily"] > 0.9 and p["Frank"] < 0.1
    frame = pd.read_csv(only_run(tmp_path) / "predictions.csv", keep_default_na=False)
    assert list(frame[frame.kind == "query"].predicted) == ["female", "male"]


@pytest.mark.slow
def test_queries_from_the_command_line_replace_the_datasets_own(tmp_path):
    result = nnexp(
        tmp_path, "experiment=gender", "epochs=200", "dataset.queries=[[128,63],[170,70.5]]"
    )
    assert result.returncode == 0, result.stderr
    p = query_probabilities(only_run(tmp_path))
    assert list(p) == ["[128, 63]", "[170, 70.5]"] and p["[128, 63]"] > 0.5 > p["[170, 70.5]"]


def test_run_folder_holds_every_artifact(tmp_path):
    result = nnexp(
        tmp_path,
        "dataset=circles",
        "epochs=200",
        "lr=0.5",
        "model.hidden=[6]",
        "activation=tanh",
        "dataset.val_fraction=0.2",
    )
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics.columns) == [
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "seconds",
    ]
    assert metrics.epoch.iloc[0] == 0 and metrics.epoch.iloc[-1] == 200
    predictions = pd.read_csv(run / "predictions.csv", keep_default_na=False)
    assert set(predictions.kind) == {"train", "val"}
    assert {"x", "y", "target", "probability", "predicted"} <= set(predictions.columns)
    s = summary(run)
    assert s["status"] == "ok" and s["epochs_completed"] == 200
    assert s["objective"] == pytest.approx(metrics.val_loss.iloc[-1])
    assert s["best"]["val_loss"] == pytest.approx(metrics.val_loss.min())
    assert s["config"]["model"]["hidden"] == [6] and s["seed"] == 0
    assert set(s["versions"]) == {"nnexp", "numpy", "python"}
    assert "git_commit" in s and s["train_seconds"] > 0
    assert s["command"].startswith("python -m nnexp ") and "dataset=circles" in s["command"]
    boundary = run / "decision_boundary.png"
    assert boundary.read_bytes()[:4] == b"\x89PNG" and boundary.stat().st_size > 5000
    assert (run / "report.md").read_text().count(s["command"]) == 1
    assert (run / "nnexp.log").exists()


@pytest.mark.slow
def test_recorded_command_reproduces_the_run(tmp_path):
    """The command a run records is the command given, and running it again (the same
    command twice) gives identical metrics, validation columns included."""
    args = (
        "dataset=xor",
        "optimizer=adam",
        "model=deep",
        "activation=tanh",
        "loss=bce",
        "lr=0.01",
        "epochs=30",
        "dataset.val_fraction=0.25",
        "seed=7",
    )
    assert nnexp(tmp_path, *args).returncode == 0
    command = summary(only_run(tmp_path))["command"].split()[3:]
    assert sorted(command) == sorted(args)
    assert nnexp(tmp_path, *command).returncode == 0
    first, second = (
        pd.read_csv(d / "metrics.csv").drop(columns="seconds").to_csv() for d in run_dirs(tmp_path)
    )
    assert first == second
    assert "val_loss" in pd.read_csv(run_dirs(tmp_path)[0] / "metrics.csv").columns


@pytest.mark.slow
def test_diverging_run_is_reported_not_warned(tmp_path):
    result = nnexp(
        tmp_path,
        "dataset=gaussians",
        "model.output_activation=identity",
        "loss=mse",
        "activation=relu",
        "lr=1e6",
        "epochs=50",
        "log_every=10",
    )
    assert result.returncode == 0, result.stderr
    s = summary(only_run(tmp_path))
    assert s["status"] == "diverged" and 1 <= s["diverged_at"] < 50
    assert s["epochs_completed"] == s["diverged_at"]
    assert "RuntimeWarning" not in result.stderr + result.stdout
    assert "diverged at epoch" in result.stdout


BAD_INPUT = [
    ("lr=abc", "lr='abc'"),
    ("lr=-1", "lr=-1"),
    ("epochs=0", "epochs=0"),
    ("model.hidden=[0]", "model.hidden=[0]"),
    ("activation=swish", "sigmoid, tanh, relu"),
    ("dataset=nope", "gender, red_blue"),
    ("seed=1.5", "seed=1.5"),
    ("optimizer.batch_size=0", "optimizer.batch_size=0"),
    ("optimizer=rmsprop", "adam, gd"),
    ("optimizer.name=rmsprop", "gd, momentum, adam"),
    ("colour=red", "colour is not an option"),
    ("lr=0.1,1", "lr=0.1,1 gives several values, which only a sweep runs: add -m"),
    ("model.hidden=16,16", "model.hidden=16,16 gives several values"),
    ("optimiser=adam", "optimiser is not an option: did you mean optimizer?"),
    ("epoch=10", "epoch is not an option: did you mean epochs?"),
    ("batch_size=8", "batch_size is not an option: did you mean optimizer.batch_size?"),
    ("loss=cross_entropy", "softmax"),
    ("dataset=csv", "dataset.path is required"),
    ("dataset.queries=[[1,2,3]]", "dataset.queries[0]: expected 2 numbers (x, y), got 3"),
]


@pytest.mark.parametrize("override,message", quick_first(BAD_INPUT, [b[0] for b in BAD_INPUT], 3))
def test_bad_input_gets_one_clear_line(tmp_path, override, message):
    result = nnexp(tmp_path, override, "epochs=5")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnexp: error:"), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert not list(tmp_path.rglob("metrics.csv"))


def test_sweep_values_are_checked_before_any_job_runs(tmp_path):
    result = nnexp(tmp_path, "-m", "lr=0.1,abc", "epochs=5")
    assert result.returncode != 0 and "lr='abc'" in result.stderr
    assert not list(tmp_path.rglob("metrics.csv"))


@pytest.mark.slow
def test_help_lists_groups_and_hydra_flags_work(tmp_path):
    help_text = nnexp(tmp_path, "--help").stdout
    for group in ("dataset:", "model:", "optimizer:", "experiment:"):
        assert group in help_text
    assert "xor" in help_text and "adam" in help_text
    # The subcommands are found from the help, each with a help of its own.
    for command in SUBCOMMANDS:
        assert re.search(rf"^  nnexp {command} ", help_text, re.M), command
        usage = nnexp(tmp_path, command, "--help")
        assert usage.returncode == 0 and f"nnexp {command}" in usage.stdout, command
    # Allowed values come from the one table the checks use, launchers included.
    allowed = help_text.split("== Allowed values ==")[1]
    for key, constraint in CONSTRAINTS.items():
        assert re.search(rf"^{re.escape(key)} +{re.escape(constraint.allowed)}$", allowed, re.M)
    for launcher in ("basic", "batched", *LAUNCHER_PLUGINS):
        assert re.search(rf"\b{launcher}\b", allowed)
    job = nnexp(tmp_path, "--cfg", "job", "lr=0.25")
    assert job.returncode == 0 and "lr: 0.25" in job.stdout
    assert nnexp(tmp_path, "--info").returncode == 0
    assert not (tmp_path / "outputs").exists()
