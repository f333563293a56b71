"""With nothing but ``dataset=csv``, a table nobody tuned nnexp on is learned: held-out
accuracy on data the defaults never saw, and the defaults a CSV run composes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli import compose_config

from nnexp.core.network import predict
from nnexp.core.train import accuracy
from nnexp.run.setup import build


def clusters(seed: int, classes: int = 10, d: int = 16, per: int = 80):
    """``classes`` gaussian clusters in ``d`` dimensions: X (classes * per, d), labels."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, d))
    labels = np.repeat(np.arange(classes), per)
    return centres[labels] + rng.standard_normal((len(labels), d)), labels


def held_out_accuracy(tmp_path, seed: int, *overrides: str) -> float:
    """Train on three quarters of the rows written as a CSV, score the other quarter."""
    X, labels = clusters(seed)
    order = np.random.default_rng(seed).permutation(len(labels))
    test, train = order[: len(order) // 4], order[len(order) // 4 :]
    frame = pd.DataFrame(X[train], columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = labels[train]
    frame.to_csv(tmp_path / "table.csv", index=False)
    cfg = compose_config(
        "dataset=csv",
        f"dataset.path={tmp_path / 'table.csv'}",
        "dataset.target=label",
        "snapshots=0",
        f"seed={seed}",
        *overrides,
    )
    s = build(cfg)
    s.train()
    return float(accuracy(predict(s.net, s.params, s.dataset.transform(X[test])), labels[test]))


@pytest.mark.parametrize("seed", [0, 1])
def test_ten_classes_are_learned_with_the_csv_defaults(tmp_path, seed):
    # The generated datasets' defaults (a hidden layer of 4, full-batch gd) reach 0.67-0.74
    # here: four units are too few to tell ten classes apart.
    assert held_out_accuracy(tmp_path, seed) >= 0.88
    assert held_out_accuracy(tmp_path, seed, "model=mlp", "optimizer=gd") < 0.8


def test_a_csv_run_composes_a_wider_layer_and_mini_batches():
    cfg = compose_config("dataset=csv")
    assert list(cfg.model.hidden) == [32]
    assert (cfg.optimizer.name, cfg.optimizer.batch_size, cfg.optimizer.shuffle) == ("gd", 32, True)
    assert (cfg.lr, cfg.epochs) == (0.5, 1000)


@pytest.mark.parametrize(
    "overrides, hidden, batch",
    [
        (["dataset=csv", "model=mlp", "optimizer=gd"], [4], None),
        (["dataset=csv", "model.hidden=[8]"], [8], 32),
        (["dataset=csv", "optimizer=adam"], [32], 32),
        ([], [4], None),  # the default experiment, red/blue, as before
        (["dataset=spiral"], [4], None),
        (["experiment=red_blue"], [4], None),
    ],
)
def test_what_the_command_line_names_wins_and_other_datasets_keep_theirs(overrides, hidden, batch):
    cfg = compose_config(*overrides)
    assert list(cfg.model.hidden) == hidden and cfg.optimizer.batch_size == batch
