"""End to end: ``python -m nnexp dataset=csv ...`` on a user's file, good and bad."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli import nnexp, only_run, quick_first, summary


def blobs(path, n: int = 40, seed: int = 0) -> None:
    """Two well separated gaussian blobs, labelled by colour."""
    rng = np.random.default_rng(seed)
    colour = np.where(np.arange(n) % 2, "red", "blue")
    centre = np.where(colour == "red", 2.0, -2.0)[:, None]
    xy = centre + rng.standard_normal((n, 2))
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "label": colour}).to_csv(path, index=False)


def test_csv_run_trains_and_names_the_classes(tmp_path):
    blobs(tmp_path / "blobs.csv")
    result = nnexp(
        tmp_path,
        "dataset=csv",
        "dataset.path=blobs.csv",
        "dataset.target=label",
        "epochs=200",
        "dataset.queries=[[2,2],[-2,-2]]",
    )
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    assert (run / "metrics.csv").exists()
    frame = pd.read_csv(run / "predictions.csv", keep_default_na=False)
    assert list(frame.columns[:4]) == ["kind", "name", "x", "y"]
    train = frame[frame.kind == "train"]
    assert set(train.target) == {"blue", "red"} and set(train.predicted) <= {"blue", "red"}
    assert (train.target == train.predicted).mean() >= 0.9
    queries = frame[frame.kind == "query"]
    assert list(queries.name) == ["[2, 2]", "[-2, -2]"]
    assert list(queries.predicted) == ["red", "blue"]
    assert summary(run)["status"] == "ok"
    assert "warnings" not in summary(run)  # a run that learned: nothing to warn of


BAD = {
    # name: (file text or None for no file, extra overrides, words the error must hold)
    "missing file": (None, [], ["no such file", "data.csv"]),
    "empty file": ("", [], ["data.csv is empty"]),
    "unknown target": (
        "x,y,label\n1,2,a\n3,4,b\n",
        ["dataset.target=lbl"],
        ["'lbl'", "columns are x, y, label"],
    ),
    "unknown feature": ("x,y,label\n1,2,a\n3,4,b\n", ["dataset.features=[x,z]"], ["'z'"]),
    "non-numeric feature": ("x,y,label\n1,2,a\n3,four,b\n", [], ["line 3", "column 'y'", "'four'"]),
    "missing value": ("x,y,label\n1,2,a\n3,4,b\n,6,a\n", [], ["line 4", "column 'x'", "empty"]),
    "text feature": (
        "x,colour,label\n1,red,a\n3,blue,b\n",
        [],
        ["column 'colour' holds text", "'blue', 'red'", "one 0/1 column a value"],
    ),
    "single class": ("x,y,label\n1,2,a\n3,4,a\n", [], ["column 'label'", "one class ('a')"]),
    "one row": ("x,y,label\n1,2,a\n", [], ["1 data row (line 2)"]),
    "bad query": (
        "x,y,label\n1,2,a\n3,4,b\n",
        ["dataset.queries=[[1,2,3]]"],
        ["dataset.queries[0]", "expected 2 numbers"],
    ),
}


@pytest.mark.parametrize("case", quick_first(list(BAD), list(BAD)))
def test_bad_csv_is_one_line_and_no_artifacts(tmp_path, case):
    text, extra, words = BAD[case]
    if text is not None:
        (tmp_path / "data.csv").write_text(text)
    args = ["dataset=csv", "dataset.path=data.csv", "dataset.target=label", "epochs=5"]
    result = nnexp(tmp_path, *args, *extra)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nnexp: error: ")
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / "outputs").exists()  # refused before the run's folder is made


@pytest.mark.slow
def test_features_named_like_prediction_columns_keep_their_values(tmp_path):
    rows = ["name,target,x,label"] + [
        f"{i % 7},{i % 3},{i},{'a' if i < 6 else 'b'}" for i in range(12)
    ]
    (tmp_path / "clash.csv").write_text("\n".join(rows) + "\n")
    result = nnexp(
        tmp_path, "dataset=csv", "dataset.path=clash.csv", "dataset.target=label", "epochs=20"
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(only_run(tmp_path) / "predictions.csv", keep_default_na=False)
    assert list(frame["name (feature)"]) == [i % 7 for i in range(12)]
    assert list(frame["target (feature)"]) == [i % 3 for i in range(12)]
    assert list(frame["target"]) == ["a"] * 6 + ["b"] * 6


@pytest.mark.slow
@pytest.mark.parametrize("rows", [200, 60])
def test_a_csv_holds_out_a_fifth_for_early_stopping_from_100_rows_up(tmp_path, rows):
    # Found: early stopping (on by default) watched nothing out of the box, because no
    # rows were held out; the saved model was the last epoch's, overfit or not.
    blobs(tmp_path / "blobs.csv", n=rows)
    args = ["dataset=csv", "dataset.path=blobs.csv", "dataset.target=label", "epochs=300"]
    result = nnexp(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    record = summary(run)
    assert record["config"]["dataset"]["val_fraction"] == "auto"
    kinds = pd.read_csv(run / "predictions.csv", keep_default_na=False).kind.value_counts()
    metrics = pd.read_csv(run / "metrics.csv")
    if rows >= 100:
        assert record["resolved"]["dataset.val_fraction"] == 0.2
        assert kinds["val"] == rows // 5 and kinds["train"] == rows - rows // 5
        assert "val_loss" in metrics and record["monitor"] == "val_loss"
        assert record["best"]["val_loss"] == pytest.approx(metrics.val_loss.min())
        assert "| validation fraction | 0.2 (auto) |" in (run / "report.md").read_text()
    else:  # a fifth of 60 rows is too few to judge by: all of them train
        assert record["resolved"]["dataset.val_fraction"] == 0.0
        assert "val" not in kinds and kinds["train"] == rows and "val_loss" not in metrics
        assert record["monitor"] is None


def test_val_fraction_is_auto_or_a_fraction(tmp_path):
    blobs(tmp_path / "blobs.csv")
    args = ["dataset=csv", "dataset.path=blobs.csv", "dataset.target=label"]
    result = nnexp(tmp_path, *args, "dataset.val_fraction=most")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert (
        "dataset.val_fraction='most' is not allowed: "
        "dataset.val_fraction must be auto or a number in [0, 1)" in result.stderr
    )


def test_csv_options_without_dataset_csv_are_refused_not_ignored(tmp_path):
    """Found: ``nnexp dataset.path=data.csv dataset.target=label`` (dataset=csv
    forgotten) trained the default red_blue points and said ok."""
    blobs(tmp_path / "data.csv")
    result = nnexp(tmp_path, "dataset.path=data.csv", "dataset.target=label", "epochs=5")
    assert result.returncode != 0
    line = result.stderr.strip()
    assert line == (
        "nnexp: error: dataset.path=data.csv is not read by dataset=red_blue: "
        "add dataset=csv to train on your file"
    )
    assert not list(tmp_path.rglob("metrics.csv"))


@pytest.mark.parametrize(
    "overrides, words",
    [
        (
            ["dataset=xor", "dataset.target=label"],
            "dataset.target=label is not read by dataset=xor",
        ),
        (["dataset=gender", "dataset.features=[a,b]"], "dataset.features=[a,b] is not read"),
        (["dataset.noise=0.5"], "dataset.noise=0.5 is not read by dataset=red_blue: only the"),
        (
            ["dataset=csv", "dataset.path=d.csv", "dataset.target=y", "dataset.n=50"],
            "dataset.n=50 is not read by dataset=csv",
        ),
    ],
)
def test_dataset_options_another_kind_reads_are_refused(overrides, words):
    # (refused by a single run's check, and by the sweep check when no job reads them)
    from cli import compose_config

    from nnexp.edge.config import unread

    (line,) = unread(compose_config(*overrides)).values()
    assert line.startswith(words)
    assert unread(compose_config("dataset=xor", "dataset.n=50", "dataset.noise=0.1")) == {}


def test_an_id_column_is_trained_on_with_a_warning(tmp_path):
    blobs(tmp_path / "blobs.csv")
    frame = pd.read_csv(tmp_path / "blobs.csv")
    frame.insert(0, "customer", np.arange(7001, 7001 + len(frame)))
    frame.to_csv(tmp_path / "ids.csv", index=False)
    args = ["dataset=csv", "dataset.path=ids.csv", "dataset.target=label", "epochs=20"]
    result = nnexp(tmp_path, *args, "snapshots=0")
    assert result.returncode == 0, result.stderr
    warning = (
        "feature column 'customer' holds a different whole number in every row "
        "(7001 to 7040): if it is an id"
    )
    assert result.stdout.count(warning) == 1, result.stdout  # the log, as every run line
    run = only_run(tmp_path)
    assert warning in (run / "nnexp.log").read_text()
    assert summary(run)["status"] == "ok"
    assert summary(run)["warnings"][0].startswith(warning)
    assert f"**Warning:** {warning}" in (run / "report.md").read_text()


def test_a_run_no_better_than_the_majority_class_says_so(tmp_path):
    rng = np.random.default_rng(0)
    n = 200  # noise features, one row in ten "yes": nothing to learn but the counts
    frame = pd.DataFrame({"a": rng.standard_normal(n), "b": rng.standard_normal(n)})
    frame["bought"] = np.where(np.arange(n) % 10 == 0, "yes", "no")
    frame.to_csv(tmp_path / "shop.csv", index=False)
    args = ["dataset=csv", "dataset.path=shop.csv", "dataset.target=bought", "snapshots=0"]
    result = nnexp(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "is no better than always answering the most common class 'no'" in result.stdout
    run = only_run(tmp_path)
    floor = summary(run)["majority"]
    assert floor["class"] == "no" and 0.85 <= floor["val_accuracy"] <= 0.95
    report = (run / "report.md").read_text()
    (warning,) = summary(run)["warnings"]  # the log's warning, kept with the run
    assert warning.startswith("validation accuracy") and "is no better than" in warning
    assert "> **Warning:** validation accuracy" in report
    assert "Always answering the most common class, `no`, scores " in report
    assert f"{100 * floor['val_accuracy']:.2f}% on the validation rows" in report
