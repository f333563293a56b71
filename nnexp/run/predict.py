"""``nnexp predict RUN [VALUE ...]``: what a trained run says about new inputs.

RUN is the folder a run left (``outputs/runs/<date>/<time>``), one job of a sweep
(``outputs/multirun/<date>/<time>/<n>``) or its ``model.npz``. Values are raw features,
as in the CSV or the tutorial; the run's own shift and scale are applied here. Without
values it asks for each feature by name.

Every problem is one line on stderr and a non-zero exit: 2 for bad values, 1 for a run
folder that holds no usable model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..core.network import predict
from . import artifacts
from .artifacts import DamagedModel, load_model, read_summary
from .usage import Parser

MODEL = artifacts.MODEL
PROG = "nnexp predict"


class PredictError(Exception):
    """A problem the user can fix; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def model_path(run: str) -> Path:
    """A run folder, a sweep job's folder or a model file -> the model file."""
    path = Path(run)
    if path.is_file():
        if path.suffix != ".npz":
            raise PredictError(f"{run} is a file, not a run folder (nor a {MODEL})")
        return path
    if not path.exists():
        raise PredictError(f"no such run folder: {run}")
    if (path / MODEL).is_file():
        return path / MODEL
    summary = read_summary(path)
    if summary and summary.get("status") == "failed":
        raise PredictError(
            f"{run} is a failed run, so it has no {MODEL}: "
            f"{summary.get('error', 'no error recorded')}"
        )
    # Job folders are numbered: shorter names first puts 2 before 10.
    jobs = sorted(
        (d for d in path.iterdir() if (d / MODEL).is_file()), key=lambda d: (len(d.name), d.name)
    )
    if jobs:
        raise PredictError(f"{run} is a sweep folder: give one of its jobs, e.g. {jobs[0]}")
    raise PredictError(
        f"{run} has no {MODEL}: give the folder of a finished run (outputs/runs/<date>/<time>)"
    )


def parse_points(tokens: list[str], features: list[str]) -> np.ndarray:
    """Command-line values (commas or spaces between them) -> points (q, d)."""
    values = [t for token in tokens for t in token.replace(",", " ").split()]
    d = len(features)
    if not values or len(values) % d:
        raise PredictError(
            f"expected {d} number{'s' * (d != 1)} a point "
            f"({' '.join(features)}), got {len(values)}: {' '.join(values)}",
            code=2,
        )
    numbers = [number(v, features[i % d]) for i, v in enumerate(values)]
    return np.array(numbers, dtype=np.float64).reshape(-1, d)


def number(text: str, feature: str | None = None) -> float:
    """A typed value -> float; True/False (any case) are 1/0, as in a CSV's columns."""
    try:
        value = float({"true": 1.0, "false": 0.0}.get(text.strip().lower(), text))
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        name = f"{feature}: " if feature else ""
        raise PredictError(f"{name}{text.strip()!r} is not a number", code=2)
    return value


def ask(features: list[str]) -> np.ndarray:
    """One value per feature from stdin -> one point (1, d). At a terminal each feature is
    asked for by name and a typo is asked again; from a pipe the lines are read without
    prompts, so the output is only the prediction, and a bad line is an error."""
    interactive = sys.stdin.isatty()
    point = []
    for name in features:
        while True:
            try:
                line = input(f"{name}: " if interactive else "")
            except EOFError:
                raise PredictError(f"no value given for {name}: input ended", code=2) from None
            try:
                point.append(number(line, name))
                break
            except PredictError as error:
                if not interactive:
                    raise
                print(f"  {error}; try again", file=sys.stderr)
    return np.array([point], dtype=np.float64)


def describe(point: np.ndarray, out: np.ndarray, features: list[str], classes: list[str]) -> str:
    """One point (d,) and its network output (k,) -> one line, e.g.
    ``x1=1 x2=0 x3=0 -> 0.99993704 (class 1)``. One output is P(classes[1]); several
    are a probability a class, and every class's is listed."""
    inputs = " ".join(f"{name}={value:.15g}" for name, value in zip(features, point))
    if np.isnan(out).any():
        shown = " ".join(f"{float(v):.8g}" for v in out)
        return f"{inputs} -> {shown} (no class: the network's output is not a number)"
    if len(out) == 1:
        p = float(out[0])
        return f"{inputs} -> {p:.8f} (class {classes[int(p >= 0.5)]})"
    best = int(np.argmax(out))
    each = " ".join(f"P({name})={float(p):.8f}" for name, p in zip(classes, out))
    return f"{inputs} -> {float(out[best]):.8f} (class {classes[best]}; {each})"


def negatives_as_values(argv: list[str]) -> list[str]:
    """argparse reads ``-1e-3`` as an unknown option (it knows only ``-1`` and ``-.5`` as
    numbers); a ``--`` before the first negative number keeps every number a value."""
    for i, token in enumerate(argv):
        if token == "--":
            break
        if token.startswith("-"):
            try:
                float(token)
            except ValueError:
                continue
            return argv[:i] + ["--"] + argv[i:]
    return argv


def parser() -> Parser:
    return Parser(
        prog=PROG,
        description="Predict new inputs with the network a run trained.",
        epilog="examples:\n"
        "  nnexp predict outputs/runs/2024-01-01/12-00-00-000000 1 0 0\n"
        "  nnexp predict outputs/multirun/2024-01-01/12-00-00-000000/3 1 0 0 0 1 1\n"
        "  nnexp predict <run>            (asks for each feature)\n"
        "Output: the inputs by feature name -> the probability (of the second class\n"
        "when the network has one output) and the predicted class.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    cli.add_argument("run", help="a run folder, a sweep job's folder or its model.npz")
    cli.add_argument(
        "values",
        nargs="*",
        default=[],
        help="raw feature values, one per feature; several points in a row "
        "give one prediction each (no values: asked for on stdin)",
    )
    args = cli.parse_args(negatives_as_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        path = model_path(args.run)
        try:
            net, params, meta = load_model(path)
        except DamagedModel as error:  # its parts do not make one network
            raise PredictError(f"model file is damaged: {path}: {error}") from None
        except Exception as error:  # a truncated or foreign file: say so, no traceback
            raise PredictError(f"cannot read {path}: {type(error).__name__}: {error}") from None
        features, classes = meta["feature_names"], meta["class_names"]
        X = parse_points(args.values, features) if args.values else ask(features)
        # A diverged run's model answers NaN: said in words below, not as a warning here.
        with np.errstate(all="ignore"):
            out = predict(net, params, (X - meta["shift"]) / meta["scale"])  # (q, k)
    except PredictError as error:
        one_line = " ".join(str(error).splitlines())
        print(f"{PROG}: error: {one_line}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    for point, row in zip(X, out):
        print(describe(point, row, features, classes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
