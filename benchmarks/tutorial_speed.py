"""nnexp's engine against a hand-written loop of the red/blue tutorial's arithmetic.

Both train the red/blue preset (2-4-1 sigmoid, no biases, 15 points, full batch) in this
one process, taking turns, and each keeps its best of ``--repeats`` timings, so a busy
machine slows both alike. nnexp runs the preset as ``python -m nnexp experiment=red_blue``
builds it, recording loss and accuracy as it goes (every 50 epochs by default).

    python benchmarks/tutorial_speed.py [--epochs 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from hydra import compose, initialize_config_dir

from nnexp.core.data import red_blue
from nnexp.edge.config import CONF_DIR, register
from nnexp.run.setup import build


def hand_loop(epochs: int) -> tuple[float, np.ndarray]:
    """The tutorial's arithmetic, written out as plainly as NumPy allows."""
    points = red_blue()
    X, y = points.X, points.labels.reshape(-1, 1).astype(float)  # (15, 2), (15, 1)
    rng = np.random.RandomState(1)
    w1 = 2 * rng.random((2, 4)) - 1
    w2 = 2 * rng.random((4, 1)) - 1
    start = time.perf_counter()
    for _ in range(epochs):
        out1 = 1 / (1 + np.exp(-np.dot(X, w1)))
        out2 = 1 / (1 + np.exp(-np.dot(out1, w2)))
        delta2 = (y - out2) * (out2 * (1 - out2))
        delta1 = np.dot(delta2, w2.T) * (out1 * (1 - out1))
        w1 += np.dot(X.T, delta1)
        w2 += np.dot(out1.T, delta2)
    return time.perf_counter() - start, w1


def nnexp_engine(cfg) -> tuple[float, np.ndarray]:
    setup = build(cfg)
    start = time.perf_counter()
    setup.train()
    return time.perf_counter() - start, setup.params.weights[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["experiment=red_blue", f"epochs={args.epochs}"])
    hand, engine = [], []
    for _ in range(args.repeats):
        seconds, w_hand = hand_loop(args.epochs)
        hand.append(seconds)
        seconds, w_nnexp = nnexp_engine(cfg)
        engine.append(seconds)
    # Same arithmetic, same digits: a benchmark of two different computations is no benchmark.
    np.testing.assert_array_equal(w_hand, w_nnexp)
    per_hand, per_nnexp = min(hand) / args.epochs * 1e6, min(engine) / args.epochs * 1e6
    print(
        f"machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}"
    )
    print(f"red/blue, {args.epochs} epochs, best of {args.repeats}")
    print(f"  hand-written loop : {per_hand:7.2f} us/epoch")
    print(f"  nnexp engine      : {per_nnexp:7.2f} us/epoch (logging loss and accuracy)")
    print(f"  ratio nnexp/hand  : {per_nnexp / per_hand:7.2f}x  (goal <= 1.00x)")


if __name__ == "__main__":
    main()
