"""Section 2, growing data: a generated 2-D dataset (circles) of 1 000, 20 000 and
100 000 points with hidden layers [16,16], [64,64] and [128,128]; tanh, binary
cross-entropy on a sigmoid output, full-batch gradient descent; float64 and float32.
nnexp against PyTorch on the CPU with two threads (goal: <= 0.9x at every size), with a
lean hand-written NumPy loop of the same arithmetic as a reference.

nnexp is built as ``python -m nnexp dataset=circles dataset.n=N model.hidden=[h,h]
model.init=xavier activation=tanh loss=bce lr=0.5 dtype=D log_every=EPOCHS`` builds it:
it evaluates loss and accuracy on the whole set before the first epoch and after the last
(two extra forward passes, counted in its time). PyTorch and the NumPy loop start from
nnexp's initial weights, and their final losses are compared with nnexp's.

    python benchmarks/growing_data.py [--quick] [--repeats 3]

``--quick`` trains an eighth of the epochs: a smoke test, not a measurement (with two
epochs, nnexp's two extra evaluations are a third of its time). Without PyTorch the
script says so in one line and its rows are marked skipped.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import (
    PEER_HINT,
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

SECTION = "2 growing data"
LR = 0.5
# (points, hidden layers, epochs): each contender trains for about a second or more.
SIZES = [(1_000, (16, 16), 1_000), (20_000, (64, 64), 60), (100_000, (128, 128), 16)]
TORCH_THREADS = 2


def config(n: int, hidden: tuple, epochs: int, dtype: str):
    return compose_config(
        [
            "dataset=circles",
            f"dataset.n={n}",
            f"model.hidden=[{','.join(map(str, hidden))}]",
            "model.init=xavier",
            "activation=tanh",
            "loss=bce",
            "optimizer=gd",
            f"lr={LR}",
            f"dtype={dtype}",
            f"epochs={epochs}",
            f"log_every={epochs}",
            "progress=false",
        ]
    )


def bce(p: np.ndarray, Y: np.ndarray) -> float:
    p = p.astype(np.float64)
    return float(-np.mean(Y * np.log(p) + (1 - Y) * np.log1p(-p)))


def numpy_run(cfg, epochs: int) -> Timed:
    """The arithmetic written out as plainly as NumPy allows: no buffers, no tables."""
    from nnexp.run.setup import build

    setup = build(cfg)
    X, Y = setup.data.X, setup.data.Y
    (W1, W2, W3), (b1, b2, b3) = setup.params.weights, setup.params.biases
    scale = np.asarray(LR / len(X), X.dtype)
    start = time.perf_counter()
    for _ in range(epochs):
        h1 = np.tanh(X @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        out = 1 / (1 + np.exp(-(h2 @ W3 + b3)))
        d3 = (out - Y) * scale
        d2 = (d3 @ W3.T) * (1 - h2 * h2)
        d1 = (d2 @ W2.T) * (1 - h1 * h1)
        W3 -= h2.T @ d3
        b3 -= d3.sum(axis=0)
        W2 -= h1.T @ d2
        b2 -= d2.sum(axis=0)
        W1 -= X.T @ d1
        b1 -= d1.sum(axis=0)
    seconds = time.perf_counter() - start
    out = 1 / (1 + np.exp(-(np.tanh(np.tanh(X @ W1 + b1) @ W2 + b2) @ W3 + b3)))
    return Timed(seconds, {"loss": bce(out, Y)})


def torch_run(cfg, epochs: int) -> Timed:
    """A few lines of PyTorch: Linear/Tanh layers, BCEWithLogitsLoss, plain SGD."""
    import torch
    from torch import nn

    from nnexp.run.setup import build

    setup = build(cfg)
    dtype = getattr(torch, cfg.dtype)
    X, Y = torch.from_numpy(setup.data.X), torch.from_numpy(setup.data.Y)
    layers = []
    for W, b in zip(setup.params.weights, setup.params.biases):
        linear = nn.Linear(*W.shape, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b[0]))
        layers += [linear, nn.Tanh()]
    model = nn.Sequential(*layers[:-1])  # the sigmoid is inside the loss
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        out = torch.sigmoid(model(X)).numpy()
    return Timed(seconds, {"loss": bce(out, setup.data.Y)})


def agreement(theirs: float, ours: float) -> str:
    return f"final loss {ours:.6g}, rel. diff {abs(theirs - ours) / abs(ours):.1e}"


def run(repeats: int = 3, quick: bool = False, dtypes=("float64", "float32")) -> list[Row]:
    torch = peer("torch")
    if torch is None:
        print(
            f"growing_data: PyTorch is not installed, its rows are skipped ({PEER_HINT}, "
            "or pip install torch --index-url https://download.pytorch.org/whl/cpu)",
            file=sys.stderr,
        )
    else:
        torch.set_num_threads(TORCH_THREADS)
    rows = []
    for dtype in dtypes:
        for n, hidden, epochs in SIZES:
            epochs = max(2, epochs // 8) if quick else epochs
            cfg = config(n, hidden, epochs, dtype)
            contenders = {
                "nnexp": lambda cfg=cfg: nnexp_run(cfg),
                "numpy": lambda cfg=cfg, epochs=epochs: numpy_run(cfg, epochs),
            }
            if torch is not None:
                contenders["torch"] = lambda cfg=cfg, epochs=epochs: torch_run(cfg, epochs)
            best = take_turns(contenders, repeats)
            case = f"{n:,} points, [{','.join(map(str, hidden))}]".replace(",", " ", 1)
            ours = best["nnexp"]
            per = ours.seconds / epochs
            rows.append(
                Row(
                    SECTION,
                    case,
                    "nnexp",
                    dtype,
                    per * 1e3,
                    "ms",
                    note=f"{epochs} epochs, best of {repeats}",
                )
            )
            if torch is None:
                rows.append(
                    skipped_row(
                        SECTION, case, "PyTorch (CPU, 2 threads)", dtype, "<= 0.90", "torch"
                    )
                )
            else:
                rows.append(
                    ratio_row(
                        SECTION,
                        case,
                        f"PyTorch {torch.__version__} (CPU, {TORCH_THREADS} threads)",
                        dtype,
                        best["torch"].seconds / epochs,
                        per,
                        "ms",
                        goal="<= 0.90",
                        agreement=agreement(best["torch"].result["loss"], ours.result["loss"]),
                    )
                )
            rows.append(
                ratio_row(
                    SECTION,
                    case,
                    "lean NumPy loop (reference)",
                    dtype,
                    best["numpy"].seconds / epochs,
                    per,
                    "ms",
                    agreement=agreement(best["numpy"].result["loss"], ours.result["loss"]),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="an eighth of the epochs")
    parser.add_argument("--dtype", choices=["float64", "float32"], action="append")
    args = parser.parse_args()
    print_table(
        run(args.repeats, args.quick, tuple(args.dtype or ("float64", "float32"))), machine()
    )


if __name__ == "__main__":
    main()
