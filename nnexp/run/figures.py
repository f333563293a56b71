"""Figures of one run: the training curves and, for 2-D data, the decision boundary.

Drawn with Matplotlib's object-oriented API on an Agg canvas, never pyplot: no global
figure state, so any worker process or thread can plot. Each PNG is rendered to bytes
and written through ``artifacts.write_bytes``, so a reader never sees half an image.

Plotting is on every run's critical path, and in Matplotlib the data is cheap while the
furniture is dear: an axes with its ticks costs more to build than its lines cost to
draw. So each thread builds its figures once and wipes their data for the next run (a
sweep of many jobs in one process pays for the axes once), the layout is fixed by hand
rather than by ``tight_layout`` (which draws everything once more to measure it), and
log axes carry no minor ticks.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator, PercentFormatter
from PIL import Image

from ..core.losses import LOSSES
from ..core.network import predict
from . import artifacts
from .colours import CLASS_COLOURS
from .report import loss_label, summed_over_rows

log = logging.getLogger("nnexp")

DPI = 100
GRID = 200  # decision-boundary grid points a side: smooth enough, 40 000 predictions
MARGIN = 0.1  # fraction of the points' span added on each side of the grid
LEVELS = np.linspace(0.0, 1.0, 11)  # filled-contour bands of P(class 1)
PROBABILITY_MAP = "RdBu_r"
# Class colours: nnexp/run/colours.py; classes 0 and 1 are this map's blue and red ends.

_figures = threading.local()  # this thread's reusable figures, by name


def run_figures(metrics, dataset, net, params, setting: str = "", loss: str | None = None):
    """The figures this run gets, by file name: ``{name: () -> PNG bytes}``, drawn only
    when called, so each can fail alone. ``setting``: the overrides that made the run
    (``seed=7 lr=10``), put in each title so the figures of a sweep's jobs tell apart.
    ``loss``: the loss's name, to plot a loss summed over rows per row."""
    title = f"{dataset.name}: {setting}" if setting else dataset.name
    rows = (len(dataset.X), 0 if dataset.X_val is None else len(dataset.X_val))
    figures = {artifacts.CURVES: lambda: curves_png(metrics, title, loss=loss, rows=rows)}
    if dataset.two_d:
        figures[artifacts.BOUNDARY] = lambda: boundary_png(dataset, net, params, setting)
    return figures


def run_plots(
    out_dir: Path, metrics, dataset, net, params, setting: str = "", loss: str | None = None
) -> tuple[list[Path], dict[str, str]]:
    """Write ``curves.png`` (and ``decision_boundary.png`` for 2-D data) into ``out_dir``.

    ``metrics``: the Table of ``artifacts.metrics_frame``, or a DataFrame (epoch, loss,
    accuracy, optionally val_loss and val_accuracy). Returns (the paths written, ``{file name:
    error}`` for each figure that failed). A figure that fails is logged as a warning and
    left out; it never takes the run's results, or the other figure, with it."""
    out_dir = Path(out_dir)
    paths, errors = [], {}
    for name, draw in run_figures(metrics, dataset, net, params, setting, loss).items():
        try:
            paths.append(artifacts.write_bytes(out_dir / name, draw()))
        except Exception as error:  # a figure is never worth a run's results
            errors[name] = f"{type(error).__name__}: {error}"
            log.warning("%s not drawn: %s", name, errors[name])
            (out_dir / name).unlink(missing_ok=True)  # no stale figure from an earlier try
    return paths, errors


PNG_LEVEL = 3  # zlib's: level 6 makes a tenth smaller files in twice the time


def png_bytes(pixels: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """(H, W, 3) uint8 RGB, or (H, W, 4) RGBA whose alpha is dropped -> a PNG of exactly
    those RGB pixels, written with NumPy and zlib.

    Every row is filtered with PNG's "Up" filter (its difference from the row above,
    modulo 256): a figure's rows repeat their neighbours (white space, flat bands), so
    the differences are mostly zeros and deflate well. Pillow tries all five filters on
    every row and keeps the best, which costs three times as long for a file of about
    the same size."""
    height, width, channels = pixels.shape
    rows = _scratch("rows", (height, 1 + width * 3))  # each row: its filter byte, its RGB
    rows[:, 0] = 2  # the filter type of each row: Up
    if channels == 4 and pixels.flags.c_contiguous:
        # A canvas's RGBA: the difference of whole pixels, then one gather of the RGB
        # bytes (and each row's filter byte); picking three channels of four first is
        # a strided copy, several times slower.
        whole = _scratch("whole", (height, 1 + width * 4))
        whole[:, 0] = 2
        filtered = whole[:, 1:].reshape(height, width, 4)  # a view into whole
        filtered[0] = pixels[0]
        np.subtract(pixels[1:], pixels[:-1], out=filtered[1:])  # uint8: wraps modulo 256
        np.take(whole, _rgb_bytes(width), axis=1, out=rows)
    else:
        rgb = np.ascontiguousarray(pixels[..., :3])  # a view's channels: slow to subtract
        filtered = rows[:, 1:].reshape(height, width, 3)  # a view into rows
        filtered[0] = rgb[0]
        np.subtract(rgb[1:], rgb[:-1], out=filtered[1:])

    def chunk(kind: bytes, data) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.data, level))
        + chunk(b"IEND", b"")
    )


_scratches = threading.local()


def _scratch(name: str, shape: tuple[int, int]) -> np.ndarray:
    """A uint8 array of ``shape`` kept for this thread's next PNG of the same size: a
    figure's megabytes freshly allocated cost their pages again each time."""
    kept: dict[tuple[str, tuple[int, int]], np.ndarray]
    kept = _scratches.__dict__.setdefault("by_size", {})
    if (name, shape) not in kept:
        if len(kept) >= 6:  # a run's figures come in a few sizes; anything else, once
            kept.clear()
        kept[name, shape] = np.empty(shape, np.uint8)
    return kept[name, shape]


@lru_cache(maxsize=8)
def _rgb_bytes(width: int) -> np.ndarray:
    """The columns of a row of (filter byte, RGBA pixels) that a row of RGB keeps."""
    pixels = 1 + 4 * np.arange(width)[:, None] + np.arange(3)  # (width, 3)
    return np.concatenate([[0], pixels.ravel()])


def warm_up() -> None:
    """Draw this thread's curves figure once, empty: Matplotlib's fonts and renderer are
    then loaded, for this process and for any process forked from it."""
    fig, _, _ = _reused("curves", _build_curves)
    fig.canvas.draw()


def _reused(name: str, build):
    """``build()`` once per thread, then the same figure with its data wiped. ``build``
    returns ``(figure, axes to wipe, anything else kept)``."""
    cache = _figures.__dict__
    if name not in cache:
        cache[name] = build()
    fig, axes, kept = cache[name]
    for legend in list(fig.legends):
        legend.remove()
    for ax in axes:
        for artist in [*ax.lines, *ax.collections, *ax.images, *ax.texts]:
            artist.remove()
        if ax.legend_ is not None:
            ax.legend_.remove()
        ax.relim()
        ax.autoscale(True)
    return fig, axes, kept


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


# --- training curves -------------------------------------------------------------------

TRAIN, VALIDATION, BEST, DIVERGED = "C0", "C1", "C2", "C3"


def _build_curves():
    fig = _new_figure(10.0, 4.4)
    # The bottom strip holds the legend: below the panels, it covers no line.
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.22, top=0.9, wspace=0.22)
    loss_ax, acc_ax = axes = fig.subplots(1, 2)
    for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
    # Kept: the title, drawn on top of the kept background like the lines (curves_png).
    return fig, list(axes), fig.suptitle("", fontweight="bold")


def curves_figure(
    metrics, title: str, loss: str | None = None, rows: tuple[int, int] | None = None
) -> Figure:
    """Loss (log scale when it spans two decades or more) and accuracy over epochs,
    training solid and validation dashed, the best epoch (lowest validation loss, else
    training loss) ringed, one legend below both panels. NaN and inf rows (a diverged
    run) are left out, and the first of them is marked with a dotted line.

    ``loss`` names the loss; one summed over rows (``sse``) is divided by ``rows``
    (training rows, validation rows), so the training and validation curves, over
    different row counts, read on one scale."""
    fig = _curves_panels(metrics, title, loss, rows)
    _add_legend(fig)
    return fig


def _add_legend(fig: Figure) -> None:
    """One legend serves both panels (they share their line styles), under them."""
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)


# What a legend entry's pixels depend on, besides its label: its line's style.
_ENTRY_STYLE = (
    "color",
    "linestyle",
    "linewidth",
    "marker",
    "markersize",
    "markerfacecolor",
    "markeredgecolor",
    "markeredgewidth",
    "alpha",
    "drawstyle",
    "fillstyle",
    "dash_capstyle",
    "dash_joinstyle",
    "solid_capstyle",
    "solid_joinstyle",
)


def _legend_key(fig: Figure) -> tuple:
    """Everything the legend's pixels depend on: each entry's label and style."""
    handles, labels = fig.axes[0].get_legend_handles_labels()
    return tuple(
        (label, type(handle).__name__, *(repr(getattr(handle, f"get_{p}")()) for p in _ENTRY_STYLE))
        for handle, label in zip(handles, labels)
    )


def _curves_panels(
    metrics, title: str, loss: str | None = None, rows: tuple[int, int] | None = None
) -> Figure:
    """``curves_figure`` without its legend, whose entries are the loss panel's labelled
    lines (curves_png makes it only when its kept background has none alike)."""
    fig, (loss_ax, acc_ax), suptitle = _reused("curves", _build_curves)
    suptitle.set_text(title)
    per_row = rows is not None and loss in LOSSES and summed_over_rows(loss)
    divisor = {"loss": rows[0], "val_loss": rows[1]} if per_row and rows else {}
    loss_ax.set_ylabel(loss_label(loss) if loss else "loss")
    epoch = np.asarray(metrics["epoch"], dtype=float)
    series = {
        c: np.asarray(metrics[c], dtype=float) / max(divisor.get(c, 1), 1)
        for c in ("loss", "accuracy", "val_loss", "val_accuracy")
        if c in metrics
    }
    losses = np.concatenate([series[c] for c in ("loss", "val_loss") if c in series])
    wide = _wide(losses)
    # A log axis left by the run before stays for a wide loss (setting a scale costs as
    # much as drawing a line); a linear one is set before anything is plotted on it.
    if not wide and loss_ax.get_yscale() != "linear":
        loss_ax.set_yscale("linear")  # resetting the scale resets the tick formatter too
    diverged = None
    for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        for column, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if column not in series:
                continue
            values = series[column]
            finite = np.isfinite(values)
            # A handful of logged epochs would be invisible as a bare line.
            marker = "o" if finite.sum() < 20 else None
            ax.plot(
                epoch[finite],
                values[finite],
                style,
                marker=marker,
                markersize=3,
                linewidth=1.5,
                label=label,
                color=TRAIN if label == "train" else VALIDATION,
            )
            if name == "loss" and not finite.all():
                first = epoch[~finite][0]
                diverged = first if diverged is None else min(diverged, first)
    if wide:
        _log_scale(loss_ax, losses)
    else:
        _round_limits(loss_ax, losses)
    best = _best_epoch(series, epoch)
    if best is not None:
        column, at, value = best
        for ax in (loss_ax, acc_ax):
            ax.axvline(at, color=BEST, linestyle="-.", linewidth=1.0, alpha=0.7)
        # A colour of its own, though only its ring shows: else the axes' colour cycle
        # gives it the next one, which changes from run to run on a reused figure.
        loss_ax.plot(
            [at],
            [value],
            "o",
            color=BEST,
            markersize=9,
            markerfacecolor="none",
            markeredgecolor=BEST,
            markeredgewidth=2,
            label=f"best {column.replace('val_loss', 'validation loss')} (epoch {at:g})",
        )
    if diverged is not None:
        labels: tuple[str | None, ...] = (f"diverged (epoch {diverged:g})", None)
        for ax, entry in zip((loss_ax, acc_ax), labels):
            ax.axvline(diverged, color=DIVERGED, linestyle=":", linewidth=1.5, label=entry)
    acc_ax.set_ylim(-0.03, 1.03)
    acc_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


def _best_epoch(series: dict, epoch: np.ndarray) -> tuple[str, float, float] | None:
    """(the column ranked, its best epoch, its value there): the lowest finite validation
    loss where a split was held out, else the lowest training loss; None when no value
    is finite. Ties go to the earliest epoch, as in the run's summary."""
    for column in ("val_loss", "loss"):
        values = series.get(column)
        if values is None or not np.isfinite(values).any():
            continue
        i = int(np.nanargmin(np.where(np.isfinite(values), values, np.nan)))
        return column, float(epoch[i]), float(values[i])
    return None


# Renderings of the curves figure without its lines and title, by everything that decides
# their pixels: a sweep's runs mostly share axes limits (see _round_limits) and legend
# entries (the best epoch is mostly the last).
BACKGROUNDS_KEPT = 8


def _agg(fig: Figure) -> FigureCanvasAgg:
    """The figure's canvas, an Agg one (every figure here is made on one)."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    return canvas


def curves_png(
    metrics, title: str, loss: str | None = None, rows: tuple[int, int] | None = None
) -> bytes:
    """``curves_figure`` as PNG bytes, drawn with Matplotlib's blitting: everything but
    the lines and the title (axes, ticks, labels, the legend: most of the drawing) is
    rendered once for each set of axes limits and legend entries and kept; a run with the
    same ones restores it and draws only its own lines and title on top. The lines stay
    inside the axes and the legend and title outside them, so which is drawn first makes
    no pixel differ."""
    fig = _curves_panels(metrics, title, loss, rows)
    canvas = _agg(fig)
    own: list[tuple[Any, Any]] = [(ax, artist) for ax in fig.axes for artist in ax.lines]
    own.append((fig, _figures.curves[2]))
    key = (
        tuple((ax.get_xlim(), ax.get_ylim(), ax.get_yscale(), ax.get_ylabel()) for ax in fig.axes),
        _legend_key(fig),
    )
    kept = _figures.__dict__.setdefault("curves_backgrounds", {})
    if key not in kept:
        _add_legend(fig)  # made while the lines show: its entries copy their visibility
        for _, artist in own:
            artist.set_visible(False)
        canvas.draw()
        for _, artist in own:
            artist.set_visible(True)
        if len(kept) >= BACKGROUNDS_KEPT:
            del kept[next(iter(kept))]  # the oldest
        kept[key] = canvas.copy_from_bbox(fig.bbox)
    canvas.restore_region(kept[key])
    for owner, artist in own:
        owner.draw_artist(artist)
    return png_bytes(np.asarray(canvas.buffer_rgba()))


def _round_limits(ax, values: np.ndarray) -> None:
    """Linear y limits at the tick values just outside the data (Matplotlib's
    "round_numbers" autolimits), so runs of a sweep share them and their background."""
    values = values[np.isfinite(values)]
    if not values.size or not np.all(np.abs(values) < 1e100):
        return
    low, high = ax.yaxis.get_major_locator().nonsingular(values.min(), values.max())
    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    # On a span of a few ulps (a loss settled at 0.9999999999999999) the ticks are
    # rounded too and may all miss one side: the data's own edge is then the limit.
    below, above = ticks[ticks <= low], ticks[ticks >= high]
    ax.set_autoscaley_on(False)
    ax.set_ylim(below.max() if below.size else low, above.min() if above.size else high)


def _wide(values: np.ndarray) -> bool:
    """Whether the loss axis (of the training and validation ``values``) goes
    logarithmic. Under two decades a log axis shows one or two labels; a linear one reads
    better. Beyond 1e100 only a log axis is safe: Matplotlib's autoscale overflows near
    1e308."""
    values = values[np.isfinite(values) & (values > 0)]  # a loss of exactly 0 sits on the floor
    return bool(values.size and (values.max() > 1e100 or values.max() >= 100 * values.min()))


def _log_scale(ax, values: np.ndarray) -> None:
    """A log loss axis over whole decades of the positive finite ``values``, within
    1e-100..1e100, where the tick locator is safe too. Whole decades, so the runs of a
    sweep share their limits (see curves_png)."""
    values = values[np.isfinite(values) & (values > 0)]
    low = np.clip(np.floor(np.log10(values.min())), -100.0, 99.0)
    high = np.clip(np.ceil(np.log10(values.max())), low + 1.0, 100.0)
    ax.set_autoscaley_on(False)  # or set_ylim autoscales the old data first
    ax.set_ylim(10.0**low, 10.0**high)
    if ax.get_yscale() != "log":
        ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())


# --- decision boundary -----------------------------------------------------------------
#
# Everything in the figure but the map depends on the dataset and the architecture
# alone: axes, ticks, labels, points, queries, legend, colour bar, title. That layer is
# drawn once by Matplotlib onto a transparent canvas and kept; each run then paints its
# probability map into the axes' pixels with NumPy and lays the kept layer on top, so a
# sweep of a hundred seeds renders the text and markers once instead of a hundred times.


def boundary_png(dataset, net, params, setting: str = "") -> bytes:
    """The decision-boundary PNG of a 2-D dataset: the network's prediction over a grid
    covering every point with a margin, under the training points (circles), validation
    points (triangles) and named queries (stars). One output or two: bands of
    P(class 1) and the 0.5 line. More classes: the argmax class's colour, fading to white
    as confidence falls, with lines between classes. ``setting`` (the run's overrides)
    is the title's second line."""
    xx, yy = _grid(dataset)  # (G, G) each
    grid = np.column_stack([xx.ravel(), yy.ravel()])  # (G*G, 2)
    out = predict(net, params, dataset.transform(grid))  # (G*G, k)
    two = out.shape[1] <= 2
    overlay = _overlay(dataset, net, two)
    top, bottom, left, right = overlay.box  # the axes' pixel rows and columns
    fine = _resample(out.reshape(*xx.shape, -1), bottom - top, right - left)  # (h, w, k)
    if two:
        p = np.clip(np.nan_to_num(fine[..., -1], nan=0.5), 0.0, 1.0)  # (h, w)
        band = np.clip(np.searchsorted(LEVELS, p, side="right") - 1, 0, len(LEVELS) - 2)
        image = _composite_inks(overlay, np.where(_edges(p >= 0.5), BLACK_INK, band))
    else:
        rgb, winner = _many_class_colours(fine, CLASS_COLOURS)
        rgb[_edges(winner)] = 0.0
        image = _composite(overlay, rgb)
    picture = Image.fromarray(image)
    if setting:
        _subtitle(picture, setting, overlay.subtitle_at)
    return png_bytes(np.asarray(picture))


def _composite(overlay: _Overlay, rgb: np.ndarray) -> np.ndarray:
    """The figure: the fixed layer over ``rgb`` (h, w, 3) float32, the map of the axes'
    box -> (H, W, 3) uint8. The layer over white is ready-made; only the box is
    composited anew."""
    top, bottom, left, right = overlay.box
    image = overlay.over_white.copy()  # (H, W, 3) uint8
    covered = overlay.premultiplied[top:bottom, left:right]  # (h, w, 3)
    see_through = overlay.transparency[top:bottom, left:right]  # (h, w, 1)
    image[top:bottom, left:right] = np.round(255.0 * (covered + rgb * see_through))
    return image


def _composite_inks(overlay: _Overlay, ink: np.ndarray) -> np.ndarray:
    """``_composite`` of the map ``_TWO_CLASS_INKS[ink]`` (``ink``: (h, w) indices), the
    same pixels in a fraction of the time: where the fixed layer is clear (most of the
    box) a pixel is its ink's own colour, looked up; only the pixels under a point or a
    label are composited."""
    top, bottom, left, right = overlay.box
    image = overlay.over_white.copy()  # (H, W, 3) uint8
    box = image[top:bottom, left:right]
    # Straight into the box: a fancy-indexed lookup makes a (h, w, 3) array first, then
    # copies it. Every index is one of the inks ("clip" skips the buffered bounds check).
    np.take(_TWO_CLASS_PAINT, ink, axis=0, out=box, mode="clip")
    rows, cols = overlay.drawn
    covered = overlay.premultiplied[top:bottom, left:right][rows, cols]  # (n, 3)
    see_through = overlay.transparency[top:bottom, left:right][rows, cols]  # (n, 1)
    box[rows, cols] = np.round(255.0 * (covered + _TWO_CLASS_INKS[ink[rows, cols]] * see_through))
    return image


SUBTITLE_PX = 14  # Matplotlib's 10 points at DPI 100


@lru_cache(maxsize=1)
def _font():
    """Matplotlib's own sans-serif (DejaVu Sans ships with it) for Pillow to draw with."""
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), SUBTITLE_PX)


def _subtitle(picture: Image.Image, text: str, centre_y: int) -> None:
    """Draw ``text`` centred on row ``centre_y``, cut with "…" to the picture's width.
    Drawn by Pillow onto the finished pixels: the rest of the figure is the same for
    every run of a sweep and kept (see _overlay); only this line differs."""
    from PIL import ImageDraw

    font, room = _font(), picture.width - 20
    if font.getlength(text) > room:
        while text and font.getlength(text + "…") > room:
            text = text[:-1]
        text += "…"
    ImageDraw.Draw(picture).text(
        (picture.width / 2, centre_y), text, fill=(40, 40, 40), font=font, anchor="mm"
    )


def _band_colours() -> np.ndarray:
    """The colour of each band of P(class 1), half-transparent over white: (bands, 3)."""
    centres = (LEVELS[:-1] + LEVELS[1:]) / 2.0
    colours = np.asarray(colormaps[PROBABILITY_MAP](centres))[:, :3]
    return (0.5 * colours + 0.5).astype(np.float32)


_TWO_CLASS_BANDS = _band_colours()
# The two-class map's inks: the bands, then black for the 0.5 line; and each ink as the
# pixel it makes where nothing is drawn over it (0 + ink * 1, rounded as _composite does).
_TWO_CLASS_INKS = np.vstack([_TWO_CLASS_BANDS, np.zeros((1, 3), np.float32)])
BLACK_INK = len(_TWO_CLASS_INKS) - 1
_TWO_CLASS_PAINT = np.round(255.0 * _TWO_CLASS_INKS).astype(np.uint8)


def _resample(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """(G, G, k) values on the grid, row 0 at the bottom -> (height, width, k) at the
    axes' pixel centres, row 0 at the top: bilinear, one axis at a time."""
    rows, row_frac = _positions(values.shape[0], height)
    cols, col_frac = _positions(values.shape[1], width)
    rows, row_frac = rows[::-1], row_frac[::-1, None, None]  # images count rows from the top
    tall = values[rows] * (1.0 - row_frac) + values[rows + 1] * row_frac  # (height, G, k)
    col_frac = col_frac[None, :, None]
    return tall[:, cols] * (1.0 - col_frac) + tall[:, cols + 1] * col_frac  # (height, width, k)


def _positions(points: int, pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel centre's grid interval (its lower grid point) and where in it it lies."""
    at = np.clip((np.arange(pixels) + 0.5) / pixels * (points - 1), 0, points - 1)
    low = np.minimum(at.astype(int), points - 2)
    return low, (at - low).astype(np.float32)


def _edges(regions: np.ndarray) -> np.ndarray:
    """(h, w) bool: pixels where the region changes from the pixel right or below."""
    edge = np.zeros(regions.shape, bool)
    edge[:, :-1] |= regions[:, :-1] != regions[:, 1:]
    edge[:-1, :] |= regions[:-1, :] != regions[1:, :]
    return edge


def _many_class_colours(out: np.ndarray, colours) -> tuple[np.ndarray, np.ndarray]:
    """out: (..., k) class probabilities -> (RGB of the argmax class's colour blended with
    white by how far its probability rises above a k-way tie, the argmax class)."""
    k = out.shape[-1]
    out = np.nan_to_num(out, nan=1.0 / k)
    winner = out.argmax(axis=-1)
    strength = np.clip((out.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    palette = np.array(
        [to_rgb(colours[c % len(colours)]) for c in range(k)], dtype=np.float32
    )  # (k, 3)
    # Never fully saturated, so the points drawn on top keep standing out.
    weight = 0.1 + 0.4 * strength[..., None]
    return 1.0 - weight * (1.0 - palette[winner]), winner


@dataclass
class _Overlay:
    """The figure without its map, ready to lay over one: ``over_white`` (H, W, 3) uint8
    is the layer on white paper; ``premultiplied`` (colour times opacity) and
    ``transparency`` (1 - opacity), float32 in [0, 1], composite it over a map."""

    over_white: np.ndarray
    premultiplied: np.ndarray
    transparency: np.ndarray
    box: tuple[int, int, int, int]  # the axes' pixels: top, bottom, left, right
    subtitle_at: int  # the pixel row the title's second line (the setting) is centred on
    # (rows, columns) in the box where the layer is not clear: points, labels, frame.
    drawn: tuple[np.ndarray, np.ndarray]


_overlays = threading.local()


def _overlay(dataset, net, two: bool) -> _Overlay:
    """The figure's fixed layer for this dataset and architecture, drawn once a thread."""
    key = (
        dataset.name,
        dataset.X.tobytes(),
        dataset.labels.tobytes(),
        None if dataset.X_val is None else dataset.X_val.tobytes(),
        dataset.queries.tobytes(),
        tuple(dataset.query_names),
        tuple(dataset.class_names),
        tuple(dataset.feature_names),
        tuple(net.sizes),
        net.activation,
        two,
    )
    cache = _overlays.__dict__.setdefault("by_key", {})
    if key not in cache:
        if len(cache) >= 8:
            cache.clear()
        cache[key] = _overlay_from(*_kept_overlay(key, lambda: _draw_overlay(dataset, net, two)))
    return cache[key]


# The fixed layer is the same for every run of a dataset and architecture, and drawing it
# is most of a short run's boundary figure (Matplotlib builds and draws the axes, colour
# bar, points and legend), so it is also kept on disk: in NNEXP_CACHE_DIR, by default
# nnexp/ in the user's cache folder (XDG_CACHE_HOME, else ~/.cache); NNEXP_CACHE_DIR=""
# keeps nothing. A file is named by a hash of everything that decides the layer's pixels:
# the key above, this module's and the colours' source, Matplotlib's and FreeType's
# versions and every Matplotlib setting (a matplotlibrc may change fonts).
CACHE_VARIABLE = "NNEXP_CACHE_DIR"


def _cache_dir() -> Path | None:
    where = os.environ.get(CACHE_VARIABLE)
    if where is not None:
        return Path(where) if where else None
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "nnexp"


def _kept_overlay(key: tuple, draw) -> tuple[np.ndarray, tuple[int, int, int, int], int]:
    """``draw()``'s (RGBA (H, W, 4) uint8, axes box, subtitle row), read from the disk
    cache when kept there, else drawn and kept. A cache that cannot be read or written
    is passed by: the layer is drawn as without one."""
    folder = _cache_dir()
    if folder is None:
        return draw()
    import hashlib
    import pickle

    import matplotlib
    from matplotlib import ft2font

    from . import colours

    digest = hashlib.sha256(pickle.dumps(key))
    for source in (__file__, colours.__file__):
        digest.update(Path(source).read_bytes())
    # Read as a plain dict: RcParams' own lookup of "backend" may import pyplot to pick one
    # (no matter here: the figures draw on Agg canvases of their own).
    settings = sorted((k, repr(v)) for k, v in dict.items(matplotlib.rcParams) if k != "backend")
    digest.update(repr((matplotlib.__version__, ft2font.__freetype_version__, settings)).encode())
    path = folder / f"boundary-layer-{digest.hexdigest()[:32]}.npz"
    try:
        with np.load(path, allow_pickle=False) as kept:
            rgba, box, subtitle_at = kept["rgba"], kept["box"], kept["subtitle_at"]
        os.utime(path)  # recently used: kept longest (see _prune)
        return rgba, tuple(int(v) for v in box), int(subtitle_at)  # type: ignore[return-value]
    except Exception:  # not kept yet, or damaged: draw it
        pass
    rgba, box, subtitle_at = draw()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, rgba=rgba, box=np.array(box), subtitle_at=subtitle_at)
        artifacts.write_bytes(path, buffer.getvalue())
        _prune(folder)
    except OSError as error:
        log.debug("boundary layer not kept in %s: %s", folder, error)
    return rgba, box, subtitle_at


# Layers kept at most: a sweep over generated data's seeds makes a new layer a seed, and a
# cache in the user's home must not grow without end. The least recently used go first.
KEPT_LAYERS = 64


def _prune(folder: Path) -> None:
    layers = []
    for path in folder.glob("boundary-layer-*.npz"):
        try:
            layers.append((path.stat().st_mtime_ns, path))
        except OSError:  # removed meanwhile by another run
            continue
    for _, path in sorted(layers, reverse=True)[KEPT_LAYERS:]:
        path.unlink(missing_ok=True)


def _overlay_from(rgba: np.ndarray, box: tuple[int, int, int, int], subtitle_at: int) -> _Overlay:
    """The layer ready to composite, from its RGBA pixels (H, W, 4) uint8, top row first."""
    top, bottom, left, right = box
    colour = np.asarray(rgba, dtype=np.float32) / 255.0
    opacity = colour[..., 3:]
    premultiplied = colour[..., :3] * opacity
    transparency = 1.0 - opacity
    over_white = np.round(255.0 * (premultiplied + transparency)).astype(np.uint8)
    clear = (transparency == 1.0) & (premultiplied == 0.0).all(axis=-1, keepdims=True)
    rows, cols = np.nonzero(~clear[top:bottom, left:right, 0])
    return _Overlay(over_white, premultiplied, transparency, box, subtitle_at, (rows, cols))


# Where a query's label may sit, tried in this order: (dx, dy) points from the star, and
# the text's alignment there.
LABEL_PLACES = (
    (8, 8, "left", "bottom"),
    (-8, 8, "right", "bottom"),
    (8, -8, "left", "top"),
    (-8, -8, "right", "top"),
    (0, 12, "center", "bottom"),
    (0, -12, "center", "top"),
    (12, 0, "left", "center"),
    (-12, 0, "right", "center"),
)


def _draw_overlay(dataset, net, two: bool) -> tuple[np.ndarray, tuple[int, int, int, int], int]:
    """The fixed layer drawn by Matplotlib: (RGBA, the axes' box, the subtitle's row)."""
    names = list(dataset.class_names)
    colours = CLASS_COLOURS
    fig = _new_figure(7.2, 6.2)
    fig.patch.set_alpha(0.0)
    # Top: the title's two lines. Bottom: the axis label, then the legend: outside the
    # axes, it covers no point and no part of the boundary.
    fig.subplots_adjust(left=0.1, right=0.9 if two else 0.97, bottom=0.165, top=0.88)
    ax = fig.subplots()
    ax.patch.set_alpha(0.0)
    if two:
        # The colour bar shows the bands painted under the points, from the same map.
        scale = ScalarMappable(BoundaryNorm(LEVELS, 256), PROBABILITY_MAP)
        bar = fig.colorbar(scale, ax=ax, ticks=LEVELS[::2], fraction=0.05, pad=0.02, alpha=0.5)
        bar.set_label(f"P({names[-1]})")
    size = 40 if len(dataset.X) <= 300 else 12
    for c, name in enumerate(names):
        x, y = dataset.X[dataset.labels == c].T
        ax.scatter(
            x,
            y,
            s=size,
            color=colours[c % len(colours)],
            edgecolors="black",
            linewidths=0.6,
            label=name,
            zorder=3,
        )
    if dataset.X_val is not None:
        for c, name in enumerate(names):
            x, y = dataset.X_val[dataset.labels_val == c].T
            ax.scatter(
                x,
                y,
                s=size * 1.3,
                marker="^",
                color=colours[c % len(colours)],
                edgecolors="black",
                linewidths=0.6,
                label=f"{name} (validation)",
                zorder=3,
            )
    if len(dataset.queries):
        x, y = dataset.queries.T
        ax.scatter(
            x,
            y,
            s=260,
            marker="*",
            color="gold",
            edgecolors="black",
            linewidths=0.9,
            label="query",
            zorder=4,
        )
    xx, yy = _grid(dataset)
    ax.set_xlim(xx[0, 0], xx[0, -1])
    ax.set_ylim(yy[0, 0], yy[-1, 0])
    ax.set_xlabel(dataset.feature_names[0])
    ax.set_ylabel(dataset.feature_names[1])
    title = fig.suptitle(
        f"{dataset.name}: decision boundary of a {'-'.join(map(str, net.sizes))} "
        f"{net.activation} network",
        fontweight="bold",
        y=0.985,
        va="top",
    )
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(len(handles), 4),
        fontsize=9,
        frameon=False,
        borderaxespad=0.3,
    )
    _label_queries(fig, ax, dataset)
    canvas = _agg(fig)
    canvas.draw()
    rgba = np.array(canvas.buffer_rgba())  # (H, W, 4) uint8, top row first
    x0, y0, x1, y1 = np.round(ax.get_window_extent().extents).astype(int)  # y from the bottom
    height = rgba.shape[0]
    # The second title line: halfway between the first line's foot and the axes' top.
    title_foot = height - title.get_window_extent().y0
    subtitle_at = int(round((title_foot + (height - y1)) / 2))
    return rgba, (int(height - y1), int(height - y0), int(x0), int(x1)), subtitle_at


def _label_queries(fig, ax, dataset) -> None:
    """Name each query beside its star, at the first of LABEL_PLACES where the label's box
    covers no training, validation or query point, no earlier label and stays inside the
    axes; failing that, where it covers the fewest points. Judged in pixels, with the
    figure's layout final."""
    if not len(dataset.queries):
        return
    renderer = fig.canvas.get_renderer()
    points = [dataset.X, dataset.queries] + ([dataset.X_val] if dataset.X_val is not None else [])
    pixels = ax.transData.transform(np.concatenate([p for p in points if len(p)]))  # (m, 2)
    frame = ax.get_window_extent(renderer)
    taken: list = []
    for (x, y), name in zip(dataset.queries, dataset.query_names):
        label = ax.annotate(
            name,
            (x, y),
            xytext=LABEL_PLACES[0][:2],
            textcoords="offset points",
            fontsize=9,
            zorder=5,
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.5", alpha=0.75),
        )
        scores: list[tuple[int, int]] = []
        for dx, dy, ha, va in LABEL_PLACES:
            label.set_position((dx, dy))
            label.set_ha(ha)
            label.set_va(va)
            box = label.get_window_extent(renderer).padded(3)
            inside = (pixels >= [box.x0, box.y0]) & (pixels <= [box.x1, box.y1])  # (m, 2)
            covered = int(inside.all(axis=1).sum())
            outside = not (frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1))
            overlaps = sum(box.overlaps(other) for other in taken)
            scores.append((covered + overlaps + 100 * outside, len(scores)))
            if scores[-1][0] == 0:
                break
        dx, dy, ha, va = LABEL_PLACES[min(scores)[1]]
        label.set_position((dx, dy))
        label.set_ha(ha)
        label.set_va(va)
        taken.append(label.get_window_extent(renderer).padded(3))


def _grid(dataset) -> tuple[np.ndarray, np.ndarray]:
    """A GRID x GRID mesh over every training, validation and query point plus MARGIN."""
    parts = [dataset.X, dataset.queries]
    if dataset.X_val is not None:
        parts.append(dataset.X_val)
    points = np.concatenate([p for p in parts if len(p)])  # (m, 2)
    lo, hi = points.min(axis=0), points.max(axis=0)
    # A point or a line of points has no span: give it one unit around it.
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - MARGIN * span, hi + MARGIN * span
    return np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
