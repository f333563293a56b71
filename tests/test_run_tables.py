"""metrics.csv and predictions.csv are written without pandas, byte for byte as pandas'
``to_csv(index=False)`` wrote them: the reference below is the pandas code the run used
before, kept here to compare against."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnexp.core.data import Dataset, gender, generate, hold_out, red_blue, with_queries
from nnexp.core.network import Params, predict
from nnexp.run import artifacts
from tests.cli import trained  # also imported by benchmarks/short_runs.py, as tests.*


def pandas_metrics(history) -> pd.DataFrame:
    columns = {"epoch": history.epochs}
    for name, values in history.columns.items():
        columns[name] = np.asarray(values, dtype=float).reshape(len(values), -1)[:, 0]
    order = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")
    return pd.DataFrame(columns)[[c for c in order if c in columns]]


def pandas_predictions(dataset, net, params) -> pd.DataFrame:
    parts = [
        ("query", dataset.queries, None, dataset.query_names),
        ("train", dataset.X, dataset.labels, None),
    ]
    if dataset.X_val is not None:
        parts.append(("val", dataset.X_val, dataset.labels_val, None))
    frames = []
    for kind, X, labels, names in parts:
        if len(X) == 0:
            continue
        out = predict(net, params, dataset.transform(X))
        frame = pd.DataFrame(X, columns=artifacts._feature_columns(dataset))
        frame.insert(0, "name", names if names is not None else [""] * len(X))
        frame.insert(0, "kind", kind)
        frame["target"] = (
            [dataset.class_names[i] for i in labels] if labels is not None else [""] * len(X)
        )
        if out.shape[1] == 1:
            frame["probability"] = out[:, 0]
            guess = (out[:, 0] >= 0.5).astype(int)
        else:
            for c, name in enumerate(dataset.class_names):
                frame[f"p_{name}"] = out[:, c]
            frame["probability"] = out.max(axis=1)
            guess = out.argmax(axis=1)
        known = np.isfinite(out).all(axis=1)
        frame["predicted"] = [dataset.class_names[i] if k else "" for i, k in zip(guess, known)]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def awkward() -> Dataset:
    """Feature and class names that need quoting or collide with predictions' columns,
    query names with commas and quotes, tiny and huge values."""
    X = np.array([[1e-300, 2.5], [1e20, -0.1], [3.0, 1 / 3], [-7.0, 0.0]])
    return Dataset(
        "awk",
        X,
        np.array([0, 1, 1, 0]),
        ["name", 'a "b", c'],
        ["no, really", 'say "yes"'],
        queries=np.array([[0.5, 1e-7]]),
        query_names=['the "odd", one'],
    )


DATASETS = {
    "red_blue": lambda: red_blue(),
    "gender": lambda: gender(),
    "spiral_3_with_validation": lambda: hold_out(
        generate("spiral", 90, 0.2, 3, classes=3), 0.25, 1
    ),
    "queries_given": lambda: with_queries(red_blue(), [[0.1, 0.2], [3, 4]]),
    "awkward": awkward,
}


@pytest.mark.parametrize("name", DATASETS)
def test_tables_are_pandas_bytes(name):
    data = DATASETS[name]()
    net, params, history = trained(data, hidden=(5,), epochs=60, loss="mse")
    assert artifacts.metrics_frame(history).to_csv() == pandas_metrics(history).to_csv(index=False)
    ours = artifacts.predictions_frame(data, net, params).to_csv(na_rep=artifacts.NAN)
    theirs = pandas_predictions(data, net, params).to_csv(index=False, na_rep=artifacts.NAN)
    assert ours == theirs


def test_columns_of_every_kind_are_pandas_bytes():
    rng = np.random.default_rng(3)
    columns = {
        "f64": rng.normal(size=6) * 10.0 ** rng.integers(-30, 30, 6),
        "f32": (rng.normal(size=6) * 1e5).astype(np.float32),
        "int": np.array([0, -3, 7, 2**40, 5, 6]),
        "bool": np.array([True, False] * 3),
        "text": ["", "a,b", 'q"uote', "line\nbreak", " lead", "plain"],
        "with None": ["x", None, "y", None, "", "z"],
    }
    columns["f64"][[1, 4]] = [np.nan, -np.inf]
    columns["f32"][2] = np.nan
    table = artifacts.Table(columns)
    frame = pd.DataFrame(columns)
    for na_rep in ("", "nan"):
        assert table.to_csv(na_rep=na_rep) == frame.to_csv(index=False, na_rep=na_rep)
    one = {"only": ["", "a"]}  # an empty cell alone on its line is quoted
    assert artifacts.Table(one).to_csv() == pd.DataFrame(one).to_csv(index=False)


def test_diverged_tables_are_pandas_bytes():
    """NaN and inf in every float column: NaN spelled as asked, inf as pandas spells it."""
    data = red_blue()
    net, params, history = trained(data, hidden=(5,), epochs=40, lr=1e6, loss="mse")
    params = Params([np.full_like(w, np.nan) for w in params.weights], params.biases)
    history.columns["loss"][3] = np.inf
    history.columns["loss"][5] = np.nan
    metrics = artifacts.metrics_frame(history)
    assert metrics.to_csv() == pandas_metrics(history).to_csv(index=False)
    assert metrics.to_csv(na_rep="nan") == pandas_metrics(history).to_csv(index=False, na_rep="nan")
    ours = artifacts.predictions_frame(data, net, params).to_csv(na_rep=artifacts.NAN)
    assert ",nan,\n" in ours  # no probability, no predicted class
    assert ours == pandas_predictions(data, net, params).to_csv(index=False, na_rep=artifacts.NAN)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.uint8, bool])
def test_cells_spell_numbers_as_numpy_does(dtype):
    # Any bit pattern (subnormals, huge, tiny, inf, NaN) and the usual values: each cell
    # is NumPy's own string of the number, NaN the given word.
    rng = np.random.default_rng(3)
    width = np.dtype(dtype).itemsize
    values = rng.integers(0, 256, 100_000 * width, dtype=np.uint8).view(dtype)
    if values.dtype.kind == "f":
        usual = np.array([0.0, -0.0, 1e16, 1e-5, 0.1], dtype) + np.zeros(1, dtype)
        values = np.concatenate([values, usual, rng.random(1000).astype(dtype)])
    expected = values.astype(str).astype(object)
    if values.dtype.kind == "f":
        expected[np.isnan(values)] = "nan word"
    assert artifacts._cells(values, "nan word") == expected.tolist()


def test_a_run_imports_neither_pandas_nor_pyplot(tmp_path):
    """A run of a built-in dataset writes its whole folder without loading pandas or
    pyplot (Matplotlib's rcParams["backend"] alone imports pyplot to pick a backend)."""
    import subprocess
    import sys

    code = (
        "import sys; from nnexp.edge.cli import main\n"
        "try: main(['epochs=10', 'hydra.run.dir=run'])\n"
        "except SystemExit: pass\n"
        "assert (__import__('pathlib').Path('run') / 'summary.json').exists()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pandas' or m == 'matplotlib.pyplot'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-1] == "[]", out.stdout
