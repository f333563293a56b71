"""report.md of one run: the numbers, the queries, the plots and the command a reader
needs, from a summary shaped exactly as the app makes it."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core.data import Dataset, red_blue
from nnexp.core.network import Network, init_params
from nnexp.core.optim import OPTIMIZERS
from nnexp.core.train import Split, encode_targets, train
from nnexp.run import artifacts
from nnexp.run.execute import summarize
from nnexp.run.report import write_report

COMMAND = "python -m nnexp experiment=red_blue epochs=300"
CONFIG = {
    "dataset": {"name": "red_blue", "val_fraction": 0.0},
    "model": {"hidden": [4], "bias": False, "init": "uniform"},
    "optimizer": {"name": "gd", "batch_size": None},
    "lr": 1.0,
    "epochs": 300,
    "loss": "sse",
    "seed": 1,
    "rng": "legacy",
    "dtype": "float64",
}


def run_folder(
    tmp_path, data: Dataset, net: Network, epochs: int = 300, lr: float = 1.0, loss: str = "sse"
):
    """Train, write predictions.csv into tmp_path, -> the summary as ``nnexp.run.execute.run`` makes it."""
    params = init_params(net, "uniform", np.random.RandomState(1))
    split = Split(data.transform(data.X), encode_targets(data.labels, net.n_outputs), data.labels)
    history = train(net, params, OPTIMIZERS["gd"](params, lr), loss, split, epochs)
    artifacts.write_frame(
        tmp_path / "predictions.csv", artifacts.predictions_frame(data, net, params)
    )
    summary = summarize(history, has_validation=False)
    summary.update(
        command=COMMAND,
        config=CONFIG,
        seed=1,
        git_commit="abc1234",
        versions={"nnexp": "0.1.0", "numpy": np.__version__},
        plots=["curves.png", "decision_boundary.png"],
    )
    return summary


@pytest.fixture
def red_blue_report(tmp_path):
    net = Network(2, (4,), 1, "sigmoid", "sigmoid", bias=False)
    summary = run_folder(tmp_path, red_blue(), net)
    path = write_report(tmp_path, summary, red_blue(), net)
    return path, summary


def test_report_is_written_where_expected(red_blue_report, tmp_path):
    path, _ = red_blue_report
    assert path == tmp_path / "report.md"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_report_names_the_dataset_architecture_and_status(red_blue_report):
    text = red_blue_report[0].read_text()
    assert text.startswith("# red_blue: 2-4-1 network\n")
    assert "sigmoid hidden layers, sigmoid output, no biases" in text
    assert "**Status:** ok, 300 epochs" in text


def test_report_has_the_final_and_best_numbers(red_blue_report):
    text, summary = red_blue_report[0].read_text(), red_blue_report[1]
    loss = summary["final"]["loss"]
    row = f"| loss | {loss:.6g} | {summary['best']['loss']:.6g} | {summary['best']['loss_epoch']} |"
    assert row in text
    assert f"| accuracy | {summary['final']['accuracy']:.2%} |" in text


def test_report_lists_the_query_predictions(red_blue_report):
    text = red_blue_report[0].read_text()
    assert "| query | x | y | predicted | P(red) |" in text
    assert "| (2, -3) | 2 | -3 | red | " in text


def test_report_embeds_the_plots_and_the_command(red_blue_report):
    text = red_blue_report[0].read_text()
    assert "![Training curves](curves.png)" in text
    assert "![Decision boundary](decision_boundary.png)" in text
    assert f"```sh\n{COMMAND}\n```" in text
    assert "| learning rate | 1.0 |" in text
    assert "| random generator | legacy |" in text
    assert "Seed 1;" in text and "`abc1234`" in text


def test_a_run_of_an_installed_wheel_says_why_it_has_no_commit(tmp_path):
    # Found: a wheel's run report said "nnexp commit `unknown`".
    net = Network(2, (4,), 1, "sigmoid", "sigmoid", bias=False)
    summary = run_folder(tmp_path, red_blue(), net, epochs=5)
    summary["git_commit"] = None
    text = write_report(tmp_path, summary, red_blue(), net).read_text()
    assert "not run from a git checkout (no commit recorded)." in text
    assert "unknown" not in text


def test_diverged_run_says_where(tmp_path):
    data = red_blue()
    net = Network(2, (4,), 1, "sigmoid", "identity", bias=True)
    summary = run_folder(tmp_path, data, net, epochs=300, lr=50.0, loss="mse")
    assert summary["status"] == "diverged"
    text = write_report(tmp_path, summary, data, net).read_text()
    assert f"**Diverged at epoch {summary['diverged_at']}:**" in text
    assert "| loss | inf |" in text or "| loss | nan |" in text
    # An identity output is not a probability, and the header says so.
    assert "| query | x | y | predicted | output(red) |" in text


def test_an_early_stop_and_the_epoch_kept_are_said(red_blue_report, tmp_path):
    """Found on a CSV run: "ok, 200 epochs", and final numbers that were epoch 100's
    (restored), with no word of either."""
    _, summary = red_blue_report
    net = Network(2, (4,), 1, "sigmoid", "sigmoid", bias=False)
    stop = {"stop_reason": "early_stopping", "stopped_at": 200, "best_epoch": 100}
    stop |= {"monitor": "val_loss", "restored_best": True}
    stop["stop_message"] = "no val_loss improvement for 100 epochs after epoch 100"
    text = write_report(tmp_path, summary | stop, red_blue(), net).read_text()
    assert (
        "Stopped early at epoch 200: no val_loss improvement for 100 epochs after epoch "
        "100. The weights kept, and the final numbers below, are epoch 100's, its best "
        "val_loss." in text
    )
    every_epoch = stop | {"stop_reason": "epochs", "stopped_at": 300}
    text = write_report(tmp_path, summary | every_epoch, red_blue(), net).read_text()
    assert "Stopped" not in text and "are epoch 100's, its best val_loss." in text
    text = write_report(tmp_path, summary, red_blue(), net).read_text()  # the last epoch's
    assert "Stopped" not in text and "weights kept" not in text


def test_three_classes_show_one_probability_a_class(tmp_path):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.1, 0.1], [0.9, 0.1], [0.1, 0.9]])
    data = Dataset(
        "corners",
        X,
        np.array([0, 1, 2, 0, 1, 2]),
        ["x", "y"],
        ["a", "b", "c"],
        queries=np.array([[0.5, 0.5]]),
        query_names=["centre"],
    )
    net = Network(2, (4,), 3, "tanh", "softmax", bias=True)
    summary = run_folder(tmp_path, data, net, epochs=50, lr=0.5, loss="cross_entropy")
    text = write_report(tmp_path, summary, data, net).read_text()
    assert "| query | x | y | predicted | P(a) | P(b) | P(c) |" in text
    assert "| centre | 0.5 | 0.5 |" in text


def test_missing_predictions_and_plots_leave_their_sections_out(tmp_path):
    net = Network(2, (4,), 1, "sigmoid", "sigmoid", bias=False)
    summary = run_folder(tmp_path, red_blue(), net, epochs=10)
    (tmp_path / "predictions.csv").unlink()
    summary["plots"] = []
    text = write_report(tmp_path, summary, red_blue(), net).read_text()
    assert "## Query predictions" not in text and "## Plots" not in text
    assert COMMAND in text


def test_a_title_setting_leaves_out_what_the_title_says_already():
    from nnexp.run.report import short_setting

    command = (
        "python -m nnexp dataset=spiral model.hidden=[16,16] activation=relu hydra.verbose=true"
    )
    # The figures' titles start with the dataset's name: its override is left out.
    assert short_setting(command, dataset="spiral") == "model.hidden=[16,16] activation=relu"
    assert short_setting(command) == "dataset=spiral model.hidden=[16,16] activation=relu"
    # Only the dataset named: a CSV file's name is not the override dataset=csv.
    csv = "python -m nnexp dataset=csv dataset.path=/data/iris.csv dataset.target=species"
    assert short_setting(csv, dataset="iris") == (
        "dataset=csv dataset.path=iris.csv dataset.target=species"
    )
