"""Section 1, tutorial size: the red/blue network (15 points, 2-4-1 sigmoid, full batch)
in nnexp, in a hand-written loop of the tutorial's arithmetic, in scikit-learn's
MLPClassifier and in PyTorch on the CPU (one thread: 15 points give a second nothing to
do). Per-epoch times; the goals are nnexp <= 1.0x the hand loop and <= 0.5x each peer.

Same numbers, checked after every timing:
  - hand loop: the red/blue preset's arithmetic, so the weights must be equal bit for bit;
  - PyTorch: the preset's network (no biases, sigmoid, half the summed squared error,
    plain SGD with lr 1) from nnexp's initial weights; final weights compared;
  - MLPClassifier always has biases and minimises log-loss, so nnexp runs the same
    problem for it (``model.bias=true loss=bce``), from the same initial weights, and the
    final losses are compared.
nnexp logs loss and accuracy every 50 epochs, as ``python -m nnexp experiment=red_blue``
does at its 100 000 epochs.

    python benchmarks/tutorial_peers.py [--epochs 5000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import (
    Row,
    Timed,
    compose_config,
    machine,
    nnexp_run,
    peer,
    print_table,
    ratio_row,
    skipped_row,
    take_turns,
)
from tutorial_speed import hand_loop

SECTION = "1 tutorial"
CASE = "red/blue, 15 points, 2-4-1 sigmoid"
LOG_EVERY = 50


def initial(cfg):
    """nnexp's setup before training: the initial weights every peer starts from."""
    from nnexp.run.setup import build

    return build(cfg)


def torch_run(cfg, epochs: int) -> Timed:
    """The preset's network in a few lines of PyTorch: no biases, sigmoid, half the summed
    squared error, plain SGD."""
    import torch
    from torch import nn

    setup = initial(cfg)
    X = torch.from_numpy(setup.data.X)
    Y = torch.from_numpy(setup.data.Y)
    model = nn.Sequential(
        nn.Linear(2, 4, bias=False, dtype=torch.float64),
        nn.Sigmoid(),
        nn.Linear(4, 1, bias=False, dtype=torch.float64),
        nn.Sigmoid(),
    )
    with torch.no_grad():
        for layer, W in zip(model[::2], setup.params.weights):
            layer.weight.copy_(torch.from_numpy(W.T))
    optimizer = torch.optim.SGD(model.parameters(), lr=float(cfg.lr))
    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = 0.5 * nn.functional.mse_loss(model(X), Y, reduction="sum")
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return Timed(
        seconds, {"weights": [layer.weight.detach().numpy().T.copy() for layer in model[::2]]}
    )


def sklearn_run(cfg, epochs: int) -> Timed:
    """MLPClassifier with nnexp's initial weights and biases: solver sgd, batch = all
    points, no momentum, no L2 penalty, no shuffling, no early stop."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    setup = initial(cfg)
    X, labels = setup.data.X, setup.data.labels
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(cfg.model.hidden),
        activation="logistic",
        solver="sgd",
        alpha=0.0,
        batch_size=len(X),
        learning_rate="constant",
        learning_rate_init=float(cfg.lr),
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=False,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, labels)  # lays out its layers; the weights are replaced next
        clf.coefs_ = [W.copy() for W in setup.params.weights]
        clf.intercepts_ = [b[0].copy() for b in setup.params.biases]
        clf.set_params(warm_start=True, max_iter=epochs)
        start = time.perf_counter()
        clf.fit(X, labels)
        seconds = time.perf_counter() - start
    p = np.clip(clf.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
    loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log1p(-p))
    return Timed(seconds, {"loss": float(loss)})


def hand_run(epochs: int) -> Timed:
    seconds, w1 = hand_loop(epochs)
    return Timed(seconds, {"weights": [w1]})


def run(epochs: int = 5_000, repeats: int = 20) -> list[Row]:
    preset = compose_config(["experiment=red_blue", f"epochs={epochs}", f"log_every={LOG_EVERY}"])
    biased = compose_config(
        [
            "experiment=red_blue",
            "model.bias=true",
            "loss=bce",
            f"epochs={epochs}",
            f"log_every={LOG_EVERY}",
        ]
    )
    torch, sklearn = peer("torch"), peer("sklearn")
    contenders = {
        "nnexp": lambda: nnexp_run(preset),
        "nnexp bce": lambda: nnexp_run(biased),
        "hand": lambda: hand_run(epochs),
    }
    if torch is not None:
        torch.set_num_threads(1)
        contenders["torch"] = lambda: torch_run(preset, epochs)
    if sklearn is not None:
        contenders["sklearn"] = lambda: sklearn_run(biased, epochs)
    best = take_turns(contenders, repeats)
    if torch is not None:
        torch.set_num_threads(2)

    ours, ours_bce = best["nnexp"], best["nnexp bce"]
    rows = [
        Row(
            SECTION,
            CASE,
            "nnexp (preset: no biases, half SSE)",
            "float64",
            ours.seconds / epochs * 1e6,
            "us",
            note=f"{epochs} epochs, log every {LOG_EVERY}, best of {repeats}",
        )
    ]
    same = all(
        np.array_equal(a, b)
        for a, b in zip(best["hand"].result["weights"], ours.result["weights"][:1])
    )
    rows.append(
        ratio_row(
            SECTION,
            CASE,
            "hand-written NumPy loop",
            "float64",
            best["hand"].seconds / epochs,
            ours.seconds / epochs,
            "us",
            goal="<= 1.00",
            agreement="bit-identical weights" if same else "WEIGHTS DIFFER",
        )
    )
    if torch is None:
        rows.append(
            skipped_row(SECTION, CASE, "PyTorch (CPU, 1 thread)", "float64", "<= 0.50", "torch")
        )
    else:
        gap = max(
            float(np.max(np.abs(a - b)))
            for a, b in zip(best["torch"].result["weights"], ours.result["weights"])
        )
        rows.append(
            ratio_row(
                SECTION,
                CASE,
                f"PyTorch {torch.__version__} (CPU, 1 thread)",
                "float64",
                best["torch"].seconds / epochs,
                ours.seconds / epochs,
                "us",
                goal="<= 0.50",
                agreement=f"max |dW| {gap:.1e}",
            )
        )
    rows.append(
        Row(
            SECTION,
            CASE,
            "nnexp (biases, bce: MLPClassifier's problem)",
            "float64",
            ours_bce.seconds / epochs * 1e6,
            "us",
            note=f"{epochs} epochs, log every {LOG_EVERY}, best of {repeats}",
        )
    )
    if sklearn is None:
        rows.append(
            skipped_row(
                SECTION,
                CASE,
                "scikit-learn MLPClassifier (sgd)",
                "float64",
                "<= 0.50",
                "scikit-learn",
            )
        )
    else:
        gap = abs(best["sklearn"].result["loss"] - ours_bce.result["loss"])
        rows.append(
            ratio_row(
                SECTION,
                CASE,
                f"scikit-learn {sklearn.__version__} MLPClassifier (sgd)",
                "float64",
                best["sklearn"].seconds / epochs,
                ours_bce.seconds / epochs,
                "us",
                goal="<= 0.50",
                agreement=f"final loss {ours_bce.result['loss']:.6g}, |diff| {gap:.1e}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print_table(run(args.epochs, args.repeats), machine())


if __name__ == "__main__":
    main()
