"""The classes' colours, defined once for every picture of a run: ``decision_boundary.png``
(and so the sweep's grid of them), ``learning.html`` and ``learning.gif``. Class 0 is
blue and class 1 red whatever the number of classes, the ends of the two-class
probability map (Matplotlib's RdBu_r, white at 0.5); the rest follow tab10 without its
red, which class 1 already is."""

from __future__ import annotations

CLASS_COLOURS = (
    "#2166ac",
    "#b2182b",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` -> (r, g, b), 0-255."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
