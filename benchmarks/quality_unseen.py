"""Quality on tables nobody tuned nnexp on: each written as a CSV and trained as
``python -m nnexp dataset=csv dataset.path=FILE dataset.target=COLUMN`` trains it, with
nothing else set, against scikit-learn on the same rows.

The tables are what a user brings and what ``quality.py`` (whose real tables, iris,
wine and breast cancer, the CSV defaults were chosen on) does not have: scikit-learn's
digits (10 classes, some pixel columns constant zero), its diabetes progression binned
into three named classes, and generated tables with string labels, labels with spaces, an
id and a constant column, 95/5 classes, 20 classes, 200 columns of which 5 tell, 50 000
rows, features in units from 1e-3 to 1e6, and a True/False column. Two more hold a text
column (colours) and missing cells: nnexp refuses those with one line, and the table
says so.

nnexp loads the CSV of the training rows as a run does (``build`` on the composed
config: the loader, the held-out validation rows, standardisation), trains, and is scored
on the test rows (a quarter, drawn by the seed) through the run's own scaling.
scikit-learn fits ``MLPClassifier(hidden_layer_sizes=(32,))``, once on the raw features
and once behind a ``StandardScaler``, and ``LogisticRegression`` (scaled) as a floor, on
the same rows (text columns one-hot encoded, missing cells filled with the column mean,
which nnexp does not do). Times are training only, one measurement on a shared machine.

    python benchmarks/quality_unseen.py                      # 3 seeds
    python benchmarks/quality_unseen.py --problems digits long --seeds 1
    python benchmarks/quality_unseen.py --overrides model=mlp optimizer=gd   # old defaults
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import compose_config
from quality import HIDDEN, split

from nnexp.core.data import DataError
from nnexp.core.network import predict
from nnexp.core.train import accuracy
from nnexp.run.csv_data import load_csv
from nnexp.run.setup import build


def _features(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


def _generated(seed: int, n: int, d: int = 10, informative: int = 4, classes: int = 2, **kw):
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=informative,
        n_redundant=0,
        n_classes=classes,
        n_clusters_per_class=1 if classes > 4 else 2,
        random_state=seed,
        **kw,
    )


def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    frame = pd.DataFrame(bunch.data, columns=[f"p{i}" for i in range(64)])
    return frame.assign(label=bunch.target)


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    frame = pd.DataFrame(bunch.data, columns=bunch.feature_names)
    thirds = pd.qcut(bunch.target, 3, labels=["low", "mid", "high"])
    return frame.assign(label=np.asarray(thirds, dtype=str))


def yes_no() -> pd.DataFrame:
    X, y = _generated(0, 600)
    return _features(X).assign(label=np.where(y == 1, "yes", "no"))


def spaces() -> pd.DataFrame:
    X, y = _generated(1, 600, classes=3)
    return _features(X).assign(label=np.array(["class a", "class b", "class c"])[y])


def id_constant() -> pd.DataFrame:
    X, y = _generated(4, 600)
    frame = _features(X)
    frame.insert(0, "id", np.arange(1000, 1600))
    return frame.assign(country=1, label=y)


def imbalanced() -> pd.DataFrame:
    X, y = _generated(5, 2000, weights=[0.95])
    return _features(X).assign(label=y)


def classes_20() -> pd.DataFrame:
    X, y = _generated(6, 2000, d=20, informative=10, classes=20)
    return _features(X).assign(label=y)


def wide() -> pd.DataFrame:
    X, y = _generated(7, 1000, d=200, informative=5)
    return _features(X).assign(label=y)


def long() -> pd.DataFrame:
    X, y = _generated(8, 50_000, informative=6)
    return _features(X).assign(label=y)


def scales() -> pd.DataFrame:
    X, y = _generated(9, 600)
    X[:, 0] *= 1e6
    X[:, 1] *= 1e-3
    X[:, 2] += 1e4
    return _features(X).assign(label=y)


def text_column() -> pd.DataFrame:
    X, y = _generated(2, 600, d=6, informative=3)
    rng = np.random.default_rng(0)
    colours = np.array(["red", "green", "blue"])
    likely = np.where(y[:, None] == 1, [0.6, 0.3, 0.1], [0.1, 0.3, 0.6])  # (n, 3)
    picked = (rng.random(len(y))[:, None] > likely.cumsum(axis=1)).sum(axis=1)
    return _features(X).assign(colour=colours[picked], label=y)


def booleans() -> pd.DataFrame:
    X, y = _generated(10, 600, d=6, informative=3)
    member = np.random.default_rng(0).random(len(y)) < np.where(y == 1, 0.7, 0.3)
    return _features(X).assign(member=np.where(member, "True", "False"), label=y)


def missing_cells() -> pd.DataFrame:
    X, y = _generated(3, 600)
    frame = _features(X).astype(object)
    frame.loc[np.random.default_rng(0).random(len(y)) < 0.05, "f0"] = ""
    return frame.assign(label=y)


# name -> (what it is, the table with its class column "label")
PROBLEMS: dict[str, tuple[str, Callable[[], pd.DataFrame]]] = {
    "digits": ("digits: 10 classes, 64 pixels", digits),
    "diabetes": ("diabetes, 3 binned classes", diabetes),
    "yes_no": ("yes/no labels", yes_no),
    "spaces": ("labels with spaces, 3 classes", spaces),
    "id": ("an id and a constant column", id_constant),
    "imbalanced": ("95/5 classes, 2 000 rows", imbalanced),
    "classes_20": ("20 classes, 2 000 rows", classes_20),
    "wide": ("200 columns, 5 informative", wide),
    "long": ("50 000 rows", long),
    "scales": ("units from 1e-3 to 1e6", scales),
    "booleans": ("a True/False column", booleans),
    "text": ("a text column (colours)", text_column),
    "missing": ("5 % empty cells", missing_cells),
}


def nnexp_accuracy(frame, train_rows, test_rows, seed, folder: Path, overrides):
    """-> (test accuracy, training seconds), or the loader's one line for a refused file."""
    path = folder / "table.csv"
    frame.iloc[train_rows].to_csv(path, index=False)
    cfg = compose_config(
        ["dataset=csv", f"dataset.path={path}", "dataset.target=label"]
        + [f"seed={seed}", "snapshots=0", *overrides]
    )
    try:
        s = build(cfg)
    except DataError as error:
        return str(error).replace(str(path), "table.csv"), 0.0
    start = time.perf_counter()
    s.train()
    seconds = time.perf_counter() - start
    # The test rows read as the run read its own (True/False as 1/0), as predict takes them.
    frame.iloc[test_rows].to_csv(path, index=False)
    X = load_csv(str(path), "label", s.dataset.feature_names).X
    truth = frame.iloc[test_rows]["label"].astype(str).map(s.dataset.class_names.index)
    out = predict(s.net, s.params, s.dataset.transform(X))
    return float(accuracy(out, truth.to_numpy())), seconds


def sklearn_inputs(frame) -> tuple[np.ndarray, np.ndarray]:
    """A table -> (X (n, d) with text columns one-hot and empty cells the column mean,
    labels (n,) as text), as a scikit-learn user would prepare it."""
    from sklearn.impute import SimpleImputer

    features = frame.drop(columns="label").replace("", np.nan)
    numbers = features.apply(pd.to_numeric, errors="coerce")
    text = [c for c in features if (numbers[c].isna() & features[c].notna()).any()]
    X = pd.get_dummies(numbers.drop(columns=text).join(features[text]), columns=text, dtype=float)
    return SimpleImputer().fit_transform(X), frame["label"].astype(str).to_numpy()


def sklearn_scores(X, y, train_rows, test_rows, seed) -> dict[str, tuple[float, float]]:
    """-> {model: (test accuracy, training seconds)}."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    models = {
        "mlp": MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=seed),
        "mlp_scaled": make_pipeline(
            StandardScaler(), MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=seed)
        ),
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    out = {}
    for name, model in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[train_rows], y[train_rows])
        seconds = time.perf_counter() - start
        out[name] = (float(model.score(X[test_rows], y[test_rows])), seconds)
    return out


def majority_rate(y, train_rows, test_rows) -> float:
    """The test accuracy of always answering the training rows' most common class."""
    values, counts = np.unique(y[train_rows], return_counts=True)
    return float(np.mean(y[test_rows] == values[np.argmax(counts)]))


def cell(values) -> str:
    values = np.asarray(values) * 100
    return f"{values.mean():.1f} ± {values.std():.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument(
        "--overrides", nargs="*", default=[], help="nnexp options added to dataset=csv"
    )
    args = parser.parse_args()
    print(
        f"held-out accuracy %, mean ± std over {args.seeds} seeds; nnexp: dataset=csv "
        f"{' '.join(args.overrides)}; scikit-learn: [{HIDDEN}] hidden"
    )
    print(
        "| table | nnexp | time | best MLPClassifier | time | LogisticRegression "
        "| majority class | nnexp − best MLP |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    refusals = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.problems:
            label, make = PROBLEMS[name]
            frame = make()
            X, y = sklearn_inputs(frame)
            ours, theirs, floor = [], [], []
            for seed in range(args.seeds):
                train_rows, test_rows = split(len(frame), seed)
                ours.append(
                    nnexp_accuracy(frame, train_rows, test_rows, seed, Path(folder), args.overrides)
                )
                theirs.append(sklearn_scores(X, y, train_rows, test_rows, seed))
                floor.append(majority_rate(y, train_rows, test_rows))
            best = max(("mlp", "mlp_scaled"), key=lambda k: np.mean([t[k][0] for t in theirs]))
            sk = [t[best][0] for t in theirs]
            sk_time = np.mean([t[best][1] for t in theirs])
            logistic = cell([t["logistic"][0] for t in theirs])
            if isinstance(ours[0][0], str):  # refused: its one line instead of a score
                refusals.append(f"{label}: {ours[0][0]}")
                nn, nn_time, gap = f"refused ({len(refusals)})", "", ""
            else:
                scores = [a for a, _ in ours]
                nn, nn_time = cell(scores), f"{np.mean([t for _, t in ours]):.2f} s"
                gap = f"{(np.mean(scores) - np.mean(sk)) * 100:+.1f}"
            scaled = " (scaled)" if best == "mlp_scaled" else ""
            print(
                f"| {label} | {nn} | {nn_time} | {cell(sk)}{scaled} | {sk_time:.2f} s "
                f"| {logistic} | {cell(floor)} | {gap} |",
                flush=True,
            )
    for i, line in enumerate(refusals, 1):
        print(f"\n({i}) {line}")


if __name__ == "__main__":
    main()
