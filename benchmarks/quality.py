"""Quality out of the box: nnexp's defaults against scikit-learn's MLPClassifier defaults.

Same hidden layer, same rows held out for the test (a quarter, drawn by the seed), five
seeds; test accuracy (mean and spread) and training time for each. nnexp runs exactly
what ``python -m nnexp dataset=<generated> model.hidden=[32]`` would on the generated
problems and ``python -m nnexp dataset=csv ...`` on the real tables (whose defaults are a
hidden layer of 32 on shuffled mini-batches): its default optimizer, lr, epochs, loss,
initialisation, standardised features and, for a CSV, validation rows held out of the
training rows for early stopping; scikit-learn's
MLPClassifier runs with its defaults on the raw features, and once more behind a
StandardScaler, as its user guide recommends.

    python benchmarks/quality.py            # 5 seeds
    python benchmarks/quality.py --seeds 2  # quicker
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import compose_config

from nnexp.core.data import Dataset, generate
from nnexp.core.network import predict
from nnexp.core.train import accuracy
from nnexp.run.setup import build, prepared

HIDDEN = 32


def problems() -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """name -> (X (n, d), labels (n,), the dataset preset a user would train it with)."""
    from sklearn import datasets

    out = {}
    for kind in ("xor", "circles", "gaussians", "spiral"):
        d = generate(kind, 400, 0.2, seed=0)
        out[kind] = (d.X, d.labels, kind)
    d = generate("spiral", 600, 0.2, seed=0, classes=3)
    out["spiral, 3 classes"] = (d.X, d.labels, "spiral")
    for name in ("iris", "wine", "breast_cancer"):
        bunch = getattr(datasets, f"load_{name}")()
        out[name] = (bunch.data.astype(float), bunch.target, "csv")
    return out


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    k = n // 4
    return np.sort(order[k:]), np.sort(order[:k])


def nnexp_accuracy(X, y, train_rows, test_rows, seed, preset) -> tuple[float, float]:
    classes = int(y.max()) + 1
    data = Dataset(
        "bench",
        X[train_rows],
        y[train_rows],
        [f"x{i}" for i in range(X.shape[1])],
        [str(c) for c in range(classes)],
    )
    # A CSV's own defaults already hold HIDDEN units; the generated datasets' hold 4.
    width = [] if preset == "csv" else [f"model.hidden=[{HIDDEN}]"]
    cfg = compose_config([f"dataset={preset}", *width, f"seed={seed}", "snapshots=0"])
    data = prepared(data, cfg.dataset)  # validation rows, standardised, as a run does
    s = build(cfg, data)
    start = time.perf_counter()
    s.train()
    seconds = time.perf_counter() - start
    out = predict(s.net, s.params, data.transform(X[test_rows]))
    return float(accuracy(out, y[test_rows])), seconds


def sklearn_accuracy(X, y, train_rows, test_rows, seed, scaled: bool) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=seed)
    if scaled:
        model = make_pipeline(StandardScaler(), model)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[train_rows], y[train_rows])
    seconds = time.perf_counter() - start
    return float(model.score(X[test_rows], y[test_rows])), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(f"held-out accuracy, mean ± spread (std) over {args.seeds} seeds; [{HIDDEN}] hidden")
    print(
        "| problem | nnexp | time | MLPClassifier | time | + StandardScaler | time | nnexp − best sklearn |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (X, y, preset) in problems().items():
        rows = {"nnexp": [], "sk": [], "sk_scaled": []}
        for seed in range(args.seeds):
            tr, te = split(len(X), seed)
            rows["nnexp"].append(nnexp_accuracy(X, y, tr, te, seed, preset))
            rows["sk"].append(sklearn_accuracy(X, y, tr, te, seed, scaled=False))
            rows["sk_scaled"].append(sklearn_accuracy(X, y, tr, te, seed, scaled=True))
        acc = {k: np.array([a for a, _ in v]) * 100 for k, v in rows.items()}
        sec = {k: np.mean([t for _, t in v]) for k, v in rows.items()}
        cells = [f"{acc[k].mean():.1f} ± {acc[k].std():.1f} | {sec[k]:.2f} s" for k in rows]
        gap = acc["nnexp"].mean() - max(acc["sk"].mean(), acc["sk_scaled"].mean())
        print(f"| {name} | " + " | ".join(cells) + f" | {gap:+.1f} |", flush=True)


if __name__ == "__main__":
    main()
