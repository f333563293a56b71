"""The Dataset record, the tutorials' datasets and generated 2-D datasets.

Features are kept as the user sees them (pounds, inches, coordinates); ``shift`` and
``scale`` say how the network sees them: ``(X - shift) / scale``. Generated datasets draw
from their own ``seed``, independent of the training seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


class DataError(ValueError):
    """Bad data where it enters; the message is one line a user can act on."""


@dataclass
class Dataset:
    """``X: (n, d)`` raw features, ``labels: (n,)`` class indices into ``class_names``,
    ``queries: (q, d)`` named points to predict, optional held-out ``X_val``/``labels_val``."""

    name: str
    X: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    class_names: list[str]
    queries: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    query_names: list[str] = field(default_factory=list)
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None
    X_val: np.ndarray | None = None
    labels_val: np.ndarray | None = None

    def __post_init__(self) -> None:
        d = self.X.shape[1]
        if self.queries.size == 0:
            self.queries = np.zeros((0, d))
        if self.shift is None:
            self.shift = np.zeros(d)
        if self.scale is None:
            self.scale = np.ones(d)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def two_d(self) -> bool:
        return self.n_features == 2

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Raw features (n, d) -> what the network sees (n, d)."""
        X = np.asarray(X, dtype=np.float64)
        return (X - self.shift) / self.scale


def boolean_triples() -> Dataset:
    # The output is the first input: [1, 0, 0] is the unseen query.
    X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=float)
    return Dataset(
        "boolean_triples",
        X,
        np.array([0, 1, 1, 0]),
        ["x1", "x2", "x3"],
        ["0", "1"],
        queries=np.array([[1.0, 0.0, 0.0]]),
        query_names=["[1 0 0]"],
    )


def gender() -> Dataset:
    # Pounds and inches; the tutorial shifts them by 135 and 66 before training.
    X = np.array([[133, 65], [160, 72], [152, 70], [120, 60]], dtype=float)
    return Dataset(
        "gender",
        X,
        np.array([1, 0, 0, 1]),
        ["weight", "height"],
        ["male", "female"],
        queries=np.array([[128.0, 63.0], [155.0, 68.0]]),
        query_names=["Emily", "Frank"],
        shift=np.array([135.0, 66.0]),
    )


def red_blue() -> Dataset:
    X = np.array(
        [
            [0, 0],
            [0, 1],
            [0, 2],
            [-1, 0],
            [-2, -2],
            [-2, -1],
            [-1, -1],
            [1, -1],
            [1, 0],
            [1, 1],
            [2, 0],
            [3, 0],
            [0, -3],
            [0, -2],
            [2, -2],
        ],
        dtype=float,
    )
    labels = np.array([0] * 7 + [1] * 8)
    return Dataset(
        "red_blue",
        X,
        labels,
        ["x", "y"],
        ["blue", "red"],
        queries=np.array([[2.0, -3.0]]),
        query_names=["(2, -3)"],
    )


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-5.0, 5.0, size=(n, 2))
    # Keep points off the axes so the quadrant of a point is never ambiguous.
    X += np.where(X > 0, 0.3, -0.3)
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    return X + noise * rng.standard_normal((n, 2)), labels


def circles(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 2
    # Inner disc of radius 2 is class 1, ring between 3.5 and 5 is class 0.
    radius = np.where(labels == 1, rng.uniform(0.0, 2.0, n), rng.uniform(3.5, 5.0, n))
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X + noise * rng.standard_normal((n, 2)), labels


def gaussians(
    n: int, noise: float, rng: np.random.Generator, classes: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % classes
    # Centres on a circle of radius 2*sqrt(2), class 0 at (-2, -2): two classes sit at
    # (-2, -2) and (2, 2) exactly (rounding drops cos/sin's last-bit error).
    angle = 1.25 * np.pi + 2.0 * np.pi * np.arange(classes) / classes
    centres = np.round(2.0 * np.sqrt(2.0) * np.column_stack([np.cos(angle), np.sin(angle)]), 12)
    return centres[labels] + (1.0 + noise) * rng.standard_normal((n, 2)), labels


def spiral(
    n: int, noise: float, rng: np.random.Generator, classes: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % classes
    t = rng.uniform(0.0, 1.0, n)
    radius = 5.0 * t
    # One arm a class, the arms turned evenly apart (half a turn for two).
    angle = 1.75 * 2.0 * np.pi * t + 2.0 * np.pi * labels / classes
    X = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return X + noise * rng.standard_normal((n, 2)), labels


BUILTIN: dict[str, Callable[[], Dataset]] = {
    "boolean_triples": boolean_triples,
    "gender": gender,
    "red_blue": red_blue,
}

# name -> (n, noise, rng[, classes]) -> X (n, 2), labels (n,)
GENERATED: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "xor": xor,
    "circles": circles,
    "gaussians": gaussians,
    "spiral": spiral,
}
# Generated datasets that take ``classes``; the others have two.
MULTICLASS = ("gaussians", "spiral")


def generate(kind: str, n: int, noise: float, seed: int, classes: int = 2) -> Dataset:
    extra = {"classes": classes} if kind in MULTICLASS else {}
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below
        X, labels = GENERATED[kind](n, noise, np.random.default_rng(seed), **extra)
    if not np.isfinite(X).all():
        raise DataError(
            f"dataset.noise={noise:g} makes {kind}'s points overflow to infinity: "
            "use a smaller dataset.noise (the points lie within about 5 of the origin)"
        )
    n_classes = classes if kind in MULTICLASS else 2
    return Dataset(kind, X, labels, ["x", "y"], [str(c) for c in range(n_classes)])


def parse_queries(queries: Any, features: list[str]) -> np.ndarray:
    """The points to predict -> (q, d); each must have one number per feature."""
    d = len(features)
    if queries is None or len(queries) == 0:
        return np.zeros((0, d))
    if isinstance(queries, (str, bytes)) or not isinstance(queries, (list, tuple)):
        raise DataError(
            f"dataset.queries={queries!r} is not a list of points: "
            f"write e.g. [[{', '.join(['0'] * d)}]]"
        )
    # A flat list of numbers is one point.
    points = [queries] if not any(isinstance(q, (list, tuple)) for q in queries) else queries
    rows = []
    for i, point in enumerate(points):
        if not isinstance(point, (list, tuple)) or len(point) != d:
            got = f"{len(point)} values" if isinstance(point, (list, tuple)) else repr(point)
            raise DataError(
                f"dataset.queries[{i}]: expected {d} numbers ({', '.join(features)}), got {got}"
            )
        rows.append([_query_number(i, f, v) for f, v in zip(features, point)])
    return np.array(rows, dtype=np.float64)


def _query_number(i: int, feature: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number):
        raise DataError(f"dataset.queries[{i}]: {feature}={value!r} is not a finite number")
    return number


def with_queries(data: Dataset, queries: Any) -> Dataset:
    """``data`` with the points to predict replaced by ``queries`` (as a config gives them:
    a list of points, or one flat point), each named by its values; None keeps the
    dataset's own, and so does an empty list."""
    if queries is None or queries in ([], ()):
        return data
    points = parse_queries(queries, data.feature_names)
    return replace(
        data,
        queries=points,
        query_names=["[" + ", ".join(f"{v:g}" for v in row) + "]" for row in points],
    )


def hold_out(data: Dataset, fraction: float, seed: int) -> Dataset:
    """Move a random ``fraction`` of the rows into the validation split."""
    n = len(data.X)
    n_val = int(round(fraction * n))
    if n_val == 0 and fraction > 0:
        # Training on silently without the asked-for split would hide that it is missing.
        enough = math.ceil(1000 / n) / 1000
        raise DataError(
            f"dataset.val_fraction={fraction:g} of {n} rows is {fraction * n:.3g} rows, "
            f"which rounds to none: use at least {enough:g} (one row), or 0 for no validation"
        )
    if n_val == 0:
        return data
    if n - n_val < 1:
        raise DataError(f"val_fraction={fraction} leaves no training rows out of {n}")
    order = np.random.default_rng(seed).permutation(n)
    val, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
    return replace(
        data,
        X=data.X[keep],
        labels=data.labels[keep],
        X_val=data.X[val],
        labels_val=data.labels[val],
    )


def standardized(data: Dataset) -> Dataset:
    """Shift and scale every feature to mean 0 and standard deviation 1 on the training
    rows (a constant column keeps scale 1)."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is handled below
        mean, std = data.X.mean(axis=0), data.X.std(axis=0)
    # Values near 1e300 overflow the squares (the scale would be inf and the feature
    # zeroed): such a column is measured in units of its largest value instead.
    huge = ~(np.isfinite(mean) & np.isfinite(std))
    if huge.any():
        unit = np.abs(data.X[:, huge]).max(axis=0)
        mean[huge] = (data.X[:, huge] / unit).mean(axis=0) * unit
        std[huge] = (data.X[:, huge] / unit).std(axis=0) * unit
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if len(bad):
        name = data.feature_names[bad[0]]
        raise DataError(
            f"dataset.standardize: feature {name!r} spans more than a float can hold "
            "(its standard deviation overflows): rescale the column"
        )
    return replace(data, shift=mean, scale=np.where(std > 0, std, 1.0))
