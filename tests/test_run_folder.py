"""One run's folder end to end, through the command line: results survive a figure that
fails and a network that diverges; summary.json is strict JSON; the run's pages (report.md
and the rendered report.html) put every number in its column and escape what came from
the data; an error is printed once; a progress bar leaves no stale line behind."""

from __future__ import annotations

import csv
import json
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from cli import compose_config, nnexp, only_run, summary

from nnexp.run.report import md_text
from nnexp.run.setup import build

RESULTS = ("metrics.csv", "predictions.csv", "model.npz", "report.md", "report.html")


def strict_json(path: Path) -> dict:
    """summary.json read as a strict parser would: NaN and Infinity are not JSON."""

    def refuse(word):
        raise ValueError(f"{path} holds {word}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def query_rows(run: Path) -> list[list[str]]:
    with open(run / "predictions.csv", newline="") as f:
        rows = list(csv.reader(f))
    return [rows[0]] + [r for r in rows[1:] if r[0] == "query"]


def no_noise(result) -> None:
    """No traceback, and no NumPy warning for NaN outputs that the files record anyway."""
    assert "Traceback" not in result.stderr + result.stdout
    assert "RuntimeWarning" not in result.stderr


# --- issue 12 item 1: a figure never takes the results with it ---------------------------


@pytest.mark.slow
def test_the_run_whose_curves_crashed_now_finishes_ok(tmp_path):
    # Its loss settles at 0.9999999999999999, where the axis-limit rounding used to
    # raise and the whole run became failed, its results deleted.
    args = ("seed=7", "lr=10", "activation=relu", "model.hidden=[8]", "epochs=500")
    result = nnexp(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    s = strict_json(run / "summary.json")
    assert s["status"] == "ok" and "figure_errors" not in s
    assert s["plots"][:2] == ["curves.png", "decision_boundary.png"]
    for name in (*RESULTS, *s["plots"]):
        assert (run / name).stat().st_size > 0, name


@pytest.mark.slow
def test_a_figure_that_fails_is_recorded_and_the_run_keeps_its_status(tmp_path, monkeypatch):
    # Break the curves figure inside the nnexp process, as a Matplotlib bug would.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import nnexp.run.figures as figures

            def curves_png(*args, **kwargs):
                raise ValueError("zero-size array to reduction operation maximum")

            figures.curves_png = curves_png
            """
        )
    )
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(hook), path) if p))
    result = nnexp(tmp_path, "epochs=50")
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    s = strict_json(run / "summary.json")
    error = "ValueError: zero-size array to reduction operation maximum"
    assert s["status"] == "ok"
    assert s["figure_errors"] == {"curves.png": error}
    assert "curves.png" not in s["plots"] and not (run / "curves.png").exists()
    assert "decision_boundary.png" in s["plots"]
    for name in RESULTS:
        assert (run / name).stat().st_size > 0, name
    assert f"curves.png not drawn: {error}" in result.stdout + result.stderr  # the warning
    assert "curves.png" in (run / "report.md").read_text().split("## Results")[0]
    assert "Not drawn:" in (run / "report.html").read_text()


# --- issue 16 items 1 and 7: a diverged run is a result, in strict JSON ------------------


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["red_blue", "gender"])
def test_a_diverged_run_with_queries_keeps_its_results(tmp_path, dataset):
    args = ("activation=identity", "model.output_activation=identity", "loss=mse")
    result = nnexp(tmp_path, f"dataset={dataset}", *args, "lr=1e300", "epochs=5")
    # Diverged is an outcome, not a crash: exit 0, one warning line, every file there.
    assert result.returncode == 0, result.stderr
    no_noise(result)
    assert "diverged at epoch 1" in result.stdout + result.stderr
    run = only_run(tmp_path)
    s = strict_json(run / "summary.json")
    assert s["status"] == "diverged" and s["diverged_at"] == 1
    assert s["final"]["loss"] is None and s["objective"] is None  # NaN is written as null
    for name in RESULTS:
        assert (run / name).stat().st_size > 0, name
    header, *queries = query_rows(run)
    assert queries
    for row in queries:
        cell = row[header.index("probability")]
        assert cell in ("nan", "inf", "-inf") or float(cell) == float(cell)
    report = (run / "report.md").read_text()
    assert "## Query predictions" in report and "Diverged at epoch 1" in report


@pytest.mark.slow
def test_nan_query_probabilities_show_as_a_dash(tmp_path):
    args = ("activation=identity", "model.output_activation=identity", "loss=mse")
    result = nnexp(tmp_path, "dataset=gender", *args, "lr=1e300", "epochs=5")
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    header, *queries = query_rows(run)
    # The gender network is all NaN by its last epoch: written as "nan", no class.
    assert [r[header.index("probability")] for r in queries] == ["nan", "nan"]
    assert [r[header.index("predicted")] for r in queries] == ["", ""]
    report = (run / "report.md").read_text()
    assert "| Emily | 128 | 63 | — | — |" in report
    assert "<td>Emily</td>" in (run / "report.html").read_text()
    # predict answers from the diverged model without a traceback (inf weights give NaN
    # or an infinity, by the order the BLAS sums in).
    answer = nnexp(tmp_path, "predict", str(run), "128", "63", "155", "68")
    assert answer.returncode == 0 and answer.stdout.count(" -> ") == 2, answer.stderr
    no_noise(answer)
    assert summary(run)["status"] == "diverged"


# --- issue 16 items 6 and 16: the query table's columns, escaping -------------------------


def three_class_csv(path: Path, names: tuple[str, str], classes: tuple[str, str, str]) -> None:
    """Three clusters of ten points with the given feature and class names."""
    import numpy as np

    rng = np.random.default_rng(0)
    centres = [(-3.0, 0.0), (3.0, 0.0), (0.0, 4.0)]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*names, "label"])
        for label, centre in zip(classes, centres):
            for x, y in rng.normal(centre, 0.5, size=(10, 2)):
                writer.writerow([f"{x:.4f}", f"{y:.4f}", label])


@pytest.mark.slow
@pytest.mark.parametrize(
    "names", [("p_a", "probability"), ("name", "p_b"), ("kind", "predicted"), ("target", "x")]
)
def test_query_table_keeps_its_columns_whatever_the_features_are_called(tmp_path, names):
    three_class_csv(tmp_path / "d.csv", names, ("a", "b", "c"))
    result = nnexp(
        tmp_path,
        "dataset=csv",
        "dataset.path=d.csv",
        "dataset.target=label",
        "dataset.queries=[[1.5,2.5],[-3,0]]",
        "optimizer=adam",
        "lr=0.05",
        "epochs=100",
    )
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    header, *queries = query_rows(run)
    report = (run / "report.md").read_text()
    assert f"| query | {names[0]} | {names[1]} | predicted | P(a) | P(b) | P(c) |" in report
    for row in queries:
        # Features come right after kind and name, the class probabilities after target.
        x, y = (float(v) for v in row[2:4])
        p = [float(v) for v in row[5:8]]
        line = f"| {md_text(row[1])} | {x:.6g} | {y:.6g} | {row[-1]} | " + " | ".join(
            f"{v:.6g}" for v in p
        )
        assert line + " |" in report, (line, report)
    assert "| \\[-3, 0\\] | -3 | 0 | a |" in report  # the centre of class a is predicted a


@pytest.mark.slow
def test_names_from_the_data_are_escaped_in_both_pages(tmp_path):
    names = ("<img src=x onerror=alert(1)>", "a|b")
    classes = ("<script>alert(1)</script>", "*bold*", "c_")
    three_class_csv(tmp_path / "d.csv", names, classes)
    result = nnexp(
        tmp_path,
        "dataset=csv",
        "dataset.path=d.csv",
        "dataset.target=label",
        "dataset.queries=[[0,4]]",
        "epochs=20",
    )
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    text = (run / "report.md").read_text()
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt; | a\\|b | predicted" in text
    # Classes in sorted order: "*bold*" < "<script>..." < "c_".
    assert "P(\\*bold\\*) | P(&lt;script&gt;alert(1)&lt;/script&gt;) | P(c\\_) |" in text
    page = (run / "report.html").read_text()
    assert "<script" not in page and "<img src=x" not in page
    assert "<th>P(&lt;script&gt;alert(1)&lt;/script&gt;)</th>" in page


# --- issue 16 item 14: an error once; no stale progress line -------------------------


@pytest.mark.slow
def test_a_data_error_is_printed_once(tmp_path):
    (tmp_path / "bad.csv").write_text("x,y,label\n1,2,a\n3,4,b\n5,oops,a\n")
    result = nnexp(tmp_path, "dataset=csv", "dataset.path=bad.csv", "dataset.target=label")
    assert result.returncode == 1
    both = result.stdout + result.stderr
    assert both.count("'oops' is not a finite number") == 1, both
    assert result.stderr.startswith("nnexp: error: bad.csv line 4, column 'y'")
    assert not (tmp_path / "outputs").exists()  # refused before the run's folder is made


def screen_lines(raw: str) -> list[str]:
    """What each line of a terminal shows at the end: text after the last carriage
    return of the line, ANSI cursor codes dropped (enough for tqdm's output)."""
    import re

    raw = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw)
    return [line.split("\r")[-1] for line in raw.replace("\r\n", "\n").split("\n")]


@pytest.mark.slow
def test_the_progress_bar_leaves_no_stale_line_at_a_terminal(tmp_path):
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    # A terminal 30 rows by 120 columns: a new pty has 0 x 0, where tqdm draws nothing.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    process = subprocess.Popen(
        # Long enough for the bar to show (it waits half a second), short for a test.
        [sys.executable, "-m", "nnexp", "epochs=60000", "log_every=1000"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=300) == 0
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert "epoch/s" in raw or "epoch]" in raw, raw  # the bar was drawn
    lines = screen_lines(raw)
    for line in lines:
        assert "%|" not in line, lines  # nothing of the bar stays on screen
    training = [line for line in lines if "training [2, 4, 1]" in line]
    assert len(training) == 1 and training[0].startswith("["), lines


def _ended(reason: str, stopped_at: int, best_epoch: int | None, restored: bool) -> dict:
    messages = {
        "early_stopping": f"no val_loss improvement for 100 epochs after epoch {best_epoch}",
        "epochs": f"ran all {stopped_at} epochs",
    }
    return {
        "stop_reason": reason,
        "stop_message": messages[reason],
        "stopped_at": stopped_at,
        "best_epoch": best_epoch,
        "restored_best": restored,
        "monitor": "val_loss" if best_epoch is not None else None,
    }


def test_the_stop_line_says_what_happened_and_nothing_that_did_not():
    """Found: a run with a held-out split that ran every epoch logged "stopped at epoch
    200 (ran all 200 epochs); weights of epoch 200 restored": nothing stopped and nothing
    was restored."""
    from nnexp.run.execute import stop_line

    assert stop_line(_ended("early_stopping", 449, 349, True)) == (
        "stopped at epoch 449 (no val_loss improvement for 100 epochs after epoch 349); "
        "weights of epoch 349 restored"
    )
    assert stop_line(_ended("early_stopping", 449, 349, False)) == (
        "stopped at epoch 449 (no val_loss improvement for 100 epochs after epoch 349)"
    )
    assert stop_line(_ended("epochs", 200, 200, True)) is None
    assert stop_line(_ended("epochs", 300, 250, True)) == (
        "ran all 300 epochs; weights of epoch 250 restored (best val_loss)"
    )
    assert stop_line(_ended("epochs", 300, None, False)) is None


def test_the_majority_class_is_the_floor_a_run_is_measured_against(tmp_path):
    """Found trying a 95/5 table: 96 % accuracy said ok, and always answering the common
    class scored 94 %; on features of pure noise it is all a network finds."""
    from nnexp.run.execute import majority, no_better_than_majority

    rows = ["a,label"] + [f"{i % 7},{'yes' if i % 4 == 0 else 'no'}" for i in range(200)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    cfg = compose_config(
        "dataset=csv", f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label"
    )
    floor = majority(build(cfg))
    assert floor["class"] == "no" and floor["accuracy"] + floor["val_accuracy"] > 1.4
    held_out = build(cfg).validation
    assert floor["val_accuracy"] == np.mean(held_out.labels == 0)  # classes sort: no, yes

    def said(val_accuracy, status="ok"):
        final = {"accuracy": 0.99, "val_accuracy": val_accuracy}
        return no_better_than_majority({"status": status, "final": final, "majority": floor})

    at = floor["val_accuracy"]
    line = said(at)
    assert line.startswith(f"validation accuracy {at:.4f} is no better than always answering")
    assert f"the most common class 'no' ({at:.4f})" in line
    assert said(at + 0.01) is None and said(at - 0.2, status="diverged") is None
    train_only = {
        "status": "ok",
        "final": {"accuracy": 0.5},
        "majority": {"class": "a", "accuracy": 0.5},
    }
    assert no_better_than_majority(train_only).startswith("training accuracy 0.5000")


def test_a_run_that_learned_nothing_says_so():
    """Found: lr=1000 on the spiral ended at loss 17.3 from 0.80 untrained, accuracy
    50%, and said only "ok". The warning compares the final training loss (the restored
    epoch's, when one is restored) with epoch 0's."""
    from nnexp.core.train import History
    from nnexp.run.execute import learned_nothing

    def ran(losses: list[float], status: str = "ok") -> tuple[History, dict]:
        history = History()
        for epoch, loss in enumerate(losses):
            history.append(epoch * 10, {"loss": loss})
        return history, {"status": status, "final": {"loss": losses[-1]}}

    line = learned_nothing(*ran([0.798377, 3.0, 17.2694]))
    assert line is not None
    assert "ended at 17.2694, no lower than the untrained network's 0.798377" in line
    assert "learned nothing" in line
    assert learned_nothing(*ran([0.7, 0.7])) is not None  # the weights of epoch 0 kept
    assert learned_nothing(*ran([0.7, 0.69])) is None
    assert learned_nothing(*ran([0.7, float("nan")], status="diverged")) is None


@pytest.mark.slow
def test_the_warning_reaches_the_terminal_and_the_run_stays_ok(tmp_path):
    result = nnexp(tmp_path, "lr=1000", "activation=relu", "dataset=spiral", "epochs=50")
    assert result.returncode == 0, result.stderr
    assert "[WARNING] - the training loss ended at" in result.stdout
    assert summary(only_run(tmp_path))["status"] == "ok"


def test_the_result_line_gives_the_held_out_numbers_the_objective_is():
    """Found: a CSV run's last line gave the training loss and accuracy only (0.8750),
    while its objective and the report were the validation ones (0.8333)."""
    from nnexp.run.execute import result_line

    final = {"loss": 0.122567, "accuracy": 0.946667}
    run = {"status": "ok", "epochs_completed": 449, "final": final, "train_seconds": 0.221}
    assert result_line(run) == "ok after 449 epochs: loss 0.122567, accuracy 0.9467 (0.22 s)"
    run["final"] = {**final, "val_loss": 0.3952977, "val_accuracy": 0.84}
    assert result_line(run) == (
        "ok after 449 epochs: loss 0.122567, accuracy 0.9467; "
        "validation loss 0.395298, accuracy 0.8400 (0.22 s)"
    )
