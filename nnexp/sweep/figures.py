"""The sweep's figures, drawn from the collected table (and the jobs' metrics.csv).

Every figure plots the one objective (named short on its axes) and follows the same
rules: a log axis only when every value is positive and they span a factor of 10 or
more — values at or below zero never switch it silently: they are drawn at the axis'
floor with their own marker and the title says so —; legends and colour bars sit
outside the axes; colours stay distinct past ten values.

A grid sweep gets ``curves.png`` (small multiples: a panel per setting, each seed a thin
line and the median bold), ``final_metrics.png`` (objective and accuracy against each
swept parameter) and, with exactly two parameters besides the seed, ``heatmap.png``.
A search (Optuna, or any sweep whose settings are not a grid) gets ``history.png``
(objective against trial, with the best so far), ``slices.png`` (one panel a parameter;
log axis for log-searched ones, categories as strips) and ``parallel.png`` (parallel
coordinates coloured by the objective), and ``curves.png`` for its best trials.
"""

from __future__ import annotations

import io
import logging
import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .table import STATUS_RANK, Sweep, accuracy, describe_objective

log = logging.getLogger("nnexp")

DPI = 100
MAX_PANELS = 36  # curve panels (settings) drawn, best first
MAX_HEATMAP = 12  # values a side, at most, for the heatmap to stay readable
TITLE_CHARS_PER_INCH = 11  # a bold 10 pt title: about 12 characters an inch, and a margin
MAX_LINES = 20  # more combinations of the other parameters than this: one marginal line
CAPTIONS = {
    "curves.png": "Learning curves, a panel per setting (best first): every seed thin, the median bold",
    "final_metrics.png": "Final objective and accuracy against each swept parameter",
    "heatmap.png": "Objective over the two swept parameters (mean over seeds)",
    "history.png": "Objective of each trial, with the best so far",
    "slices.png": "Objective against each searched parameter, coloured by trial",
    "parallel.png": "Parallel coordinates of every trial, coloured by objective",
}
# What a caption says only when some setting ran over several seeds.
OVER_SEEDS = {
    "curves.png": ": every seed thin, the median bold",
    "heatmap.png": " (mean over seeds)",
}


def caption(name: str, sweep: Sweep) -> str:
    """The figure's caption; a sweep of one job a setting has no seeds to speak of."""
    words = CAPTIONS[name]
    if sweep.seeded or name not in OVER_SEEDS:
        return words
    return words.replace(OVER_SEEDS[name], "")


# --- shared helpers --------------------------------------------------------------------


def _figure(width: float, height: float, layout: Literal["constrained"] | None = "constrained"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def fmt(value) -> str:
    """A value as the reports print it: 6 significant digits, never ``-0``."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return f"{float(value) + 0.0:.6g}"
    return str(value)


def is_numeric(values) -> bool:
    return all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in values
    )


def unique(values) -> list:
    """Distinct values in a stable, sensible order: numbers ascending, else natural."""
    seen: list = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if not any(v == s and type(v) is type(s) for s in seen):
            seen.append(v)
    if is_numeric(seen):
        return sorted(seen)
    if all(isinstance(v, str) for v in seen):  # natural order: [2] before [16]
        return sorted(
            seen,
            key=lambda v: [
                (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", v)
            ],
        )
    return seen


def same(a, b) -> bool:
    return a == b and type(a) is type(b)


def finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def colours(n: int) -> list:
    """``n`` distinct colours: tab10, then tab20 (its dark ten first), then turbo."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        tab20 = colormaps["tab20"]
        return [tab20(2 * i) for i in range(10)] + [tab20(2 * i + 1) for i in range(n - 10)]
    return [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]


@dataclass
class Scale:
    """How a set of values is put on an axis. ``log`` only when every shown value is
    positive or when the values at or below zero are few and named: they are drawn
    at ``floor`` and ``note`` says so."""

    log: bool
    floor: float = 0.0
    note: str = ""

    @classmethod
    def of(cls, values, what: str = "value") -> Scale:
        values = finite(values)
        positive = values[values > 0]
        if len(positive) < 2 or positive.max() / positive.min() < 10:
            return cls(False)
        floor = positive.min() / 3
        low = int((values <= 0).sum())
        note = f"{low} {what}{'s' if low != 1 else ''} ≤ 0 drawn at the bottom edge" if low else ""
        return cls(True, floor, note)

    def clip(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        return np.where(values > 0, values, self.floor) if self.log else values

    def apply(self, axis_setter, axis) -> None:
        if self.log:
            axis_setter("log")
            plain_log_ticks(axis)


def plain_log_ticks(axis, values=None) -> None:
    """A log axis without minor tick labels (they collide), ticked at the swept values
    when there are few enough of them."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    axis.set_minor_formatter(NullFormatter())
    if values is not None and len(values) <= MAX_HEATMAP:
        axis.set_minor_locator(NullLocator())
        axis.set_ticks([float(v) for v in values], [fmt(v) for v in values])
    else:
        low, high = sorted(abs(v) for v in axis.get_view_interval())
        decades = np.log10(high / low) if low > 0 else 3
        axis.set_major_locator(
            LogLocator(subs=(1.0, 2.0, 5.0) if decades < 2 else (1.0,), numticks=8)
        )
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _curve(frame: pd.DataFrame | None, metrics: tuple[str, ...]) -> pd.Series | None:
    """The first of ``metrics`` the frame has, by epoch, non-finite values dropped."""
    if frame is None or "epoch" not in frame:
        return None
    for metric in metrics:
        if metric in frame:
            series = pd.Series(
                pd.to_numeric(frame[metric], errors="coerce").to_numpy(float),
                index=frame.epoch.to_numpy(),
            )
            series = series[np.isfinite(series.to_numpy())]
            if len(series):
                return series
    return None


# --- grid sweeps -----------------------------------------------------------------------


def curves_figure(sweep: Sweep, settings: pd.DataFrame):
    """Small multiples: one panel per setting, best first (at most ``MAX_PANELS``), each
    seed's objective curve thin, the median over seeds bold; a diverged seed dashed red
    and ending in a cross where it left the finite numbers. One y axis for all panels,
    ranged on the curves that did not diverge."""
    metrics = ("val_loss", "loss") if sweep.objective != "loss" else ("loss",)
    status = dict(zip(sweep.table.run_dir, sweep.table.status))
    panels = []
    for _, row in settings.iterrows():
        lines = []
        for run_dir in row.run_dirs:
            if status[run_dir] not in ("ok", "diverged"):
                continue
            curve = _curve(sweep.curves(run_dir), metrics)
            if curve is not None and len(curve):
                lines.append((curve, status[run_dir] == "diverged"))
        if lines:
            panels.append((row, lines))
    if not panels:
        return None
    shown_all = len(panels)
    panels = panels[:MAX_PANELS]
    calm = [c.to_numpy() for _, lines in panels for c, d in lines if not d]
    starts = [c.to_numpy()[:1] for _, lines in panels for c, _ in lines]
    values = np.concatenate(calm + starts) if calm else np.concatenate(starts)
    scale = Scale.of(values, "loss value")
    lo, hi = float(values.min()), float(values.max())
    if scale.log:
        limits = (max(scale.floor, lo) / 1.5, hi * 1.5)
    else:
        span = hi - lo if hi > lo else 1.0
        limits = (lo - 0.05 * span, hi + 0.05 * span)
    n = len(panels)
    cols = min(n, 6 if n > 16 else 4 if n > 4 else n)
    rows = math.ceil(n / cols)
    heads = {id(row): _panel_title(sweep, row) for row, _ in panels}
    two_lines = any("\n" in h for h in heads.values())
    # A fixed layout: constrained layout measures every tick of every panel, which at
    # 36 panels costs more than drawing them.
    width = 2.6 * cols + 0.9
    title = f"{sweep.short} per epoch, a panel per setting, best first"
    if sweep.seeded:
        title += ": each seed thin, median bold"
    if shown_all > n:
        title += f" (best {n} of {shown_all} settings)"
    if any(d for _, lines in panels for _, d in lines):
        title += "; red dashed: diverged"
    # Wrapped to the figure's width: one or two panels are narrower than the title.
    title_lines = textwrap.wrap(title, max(24, int(width * TITLE_CHARS_PER_INCH)))
    if scale.note:
        title_lines.append(scale.note)
    height = (2.15 if two_lines else 2.0) * rows + 1.0 + 0.2 * (len(title_lines) - 1)
    fig = _figure(width, height, layout=None)
    top = 0.75 + 0.2 * (len(title_lines) - 1)
    fig.subplots_adjust(
        left=0.7 / width,
        right=1 - 0.15 / width,
        bottom=0.5 / height,
        top=1 - top / height,
        wspace=0.12,
        hspace=0.5 if two_lines else 0.38,
    )
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    for ax, (row, lines) in zip(axes, panels):
        for curve, diverged in lines:
            y = np.minimum(scale.clip(curve.to_numpy()), limits[1] * 10)
            x = curve.index.to_numpy()
            if diverged:
                ax.plot(x, y, color="#d62728", lw=0.8, ls="--", alpha=0.8)
                ax.plot(x[-1:], y[-1:], "x", color="#d62728", ms=5)
            elif len(lines) == 1:  # one seed: its line is the setting's, drawn bold
                ax.plot(x, y, color="#1a1a4d", lw=1.6)
            else:
                ax.plot(x, y, color="#4c72b0", lw=0.7, alpha=0.55)
        calm_lines = [c for c, d in lines if not d]
        if len(calm_lines) > 1:
            frame = pd.concat(calm_lines, axis=1).dropna()
            if len(frame):
                ax.plot(
                    frame.index.to_numpy(),
                    scale.clip(frame.median(axis=1).to_numpy()),
                    color="#1a1a4d",
                    lw=2.0,
                )
        ax.set_title(heads[id(row)], fontsize=8, loc="left")
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    scale.apply(axes[0].set_yscale, axes[0].yaxis)
    if scale.log:
        from matplotlib.ticker import NullLocator

        axes[0].yaxis.set_minor_locator(NullLocator())  # minor ticks: slow, and unlabelled
    axes[0].set_ylim(*limits)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[(rows - 1) * cols :]:
        ax.set_xlabel("epoch", fontsize=8)
    for ax in axes[::cols]:
        ax.set_ylabel(sweep.short, fontsize=8)
    fig.suptitle("\n".join(title_lines), fontweight="bold", fontsize=10)
    return fig


def _panel_title(sweep: Sweep, row) -> str:
    """``rank. setting`` (a search adds its trial), numbers to 3 digits, on two lines
    (cut short on the second) when one does not fit a small panel. The rank is written
    ``1.``, not ``#1``: ``#N`` is Hydra's job number everywhere else (logs, folders)."""
    words = [f"{k}={_short(row[k])}" for k in sweep.settings] or ["the only setting"]
    head = f"{row['rank']}." + (f" (trial {row['job_list'][0]})" if sweep.search else "")
    lines = [head]
    for word in words:
        if len(lines[-1]) + 1 + len(word) <= 36 or len(lines) == 1 and lines[-1] == head:
            lines[-1] += " " + word
        elif len(lines) < 2:
            lines.append(word)
        else:
            lines[-1] = lines[-1][:33] + "…" if len(lines[-1]) > 34 else lines[-1] + " …"
            break
    return "\n".join(line if len(line) <= 36 else line[:35] + "…" for line in lines)


def _short(value) -> str:
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return f"{float(value) + 0.0:.3g}"
    return fmt(value)


def _x_positions(values, numeric: bool, levels: list) -> np.ndarray:
    if numeric:
        return np.asarray(values, dtype=float)
    index = [next((i for i, l in enumerate(levels) if same(l, v)), -1) for v in values]
    return np.asarray(index, dtype=float)


def _jitter(n: int, width: float = 0.25) -> np.ndarray:
    """Fixed offsets (no randomness: the same table draws the same figure)."""
    if n <= 1:
        return np.zeros(n)
    return (np.arange(n) / (n - 1) - 0.5) * width


def _spread(x: np.ndarray, width: float) -> np.ndarray:
    """Offsets that fan out the points of each category (x: (n,) its index) across
    ``width``, centred on it, so the median's tick is in the middle of its dots."""
    offsets = np.zeros(len(x))
    for value in np.unique(x):
        at = np.flatnonzero(x == value)
        offsets[at] = _jitter(len(at), width)
    return offsets


def _set_x(ax, param: str, levels: list, numeric: bool, log: bool, at_values: bool = True) -> None:
    """The x axis of a parameter: its numbers (ticked at the swept values when there are
    few and ``at_values``; a search's values are not worth a tick each), or its
    categories in order."""
    if numeric:
        xs = np.asarray(levels, dtype=float)
        few = at_values and len(levels) <= MAX_HEATMAP
        if log:
            ax.set_xscale("log")
            ax.set_xlim(xs.min() / 1.5, xs.max() * 1.5)
            plain_log_ticks(ax.xaxis, levels if few else None)
        elif len(xs) > 1:
            pad = 0.05 * (xs.max() - xs.min())
            ax.set_xlim(xs.min() - pad, xs.max() + pad)
    else:
        ax.set_xticks(range(len(levels)), [fmt(v) for v in levels])
        ax.set_xlim(-0.6, len(levels) - 0.4)
        if len(levels) > 4 or max(len(fmt(v)) for v in levels) > 6:
            for label in ax.get_xticklabels():
                label.set_rotation(40)
                label.set_horizontalalignment("right")
    ax.set_xlabel(param)


def final_figure(sweep: Sweep, settings: pd.DataFrame):
    """Objective (top) and accuracy in % (bottom) of the jobs that finished ok, against
    each swept parameter (numbers on their axis, categories as strips): every job a
    dot, the median over seeds joined by a line along a number (a short tick in each
    category's strip, never a line across categories), one line or set of ticks per
    combination of the other parameters when there are at most ``MAX_LINES`` (side by
    side in a strip), else one over all of them."""
    table = sweep.table
    params = [p for p in sweep.settings if len(unique(table[p])) > 1]
    ok = table[(table.status == "ok") & np.isfinite(table.objective.to_numpy(float))]
    if not params or not len(ok):
        return None
    acc = accuracy(table) * 100
    rows = [("objective", sweep.short), ("accuracy", "accuracy (%)")]
    objective_scale = Scale.of(ok.objective, "objective")
    lines_max = max(
        (len(ok.groupby([o for o in sweep.settings if o != p], sort=False)) for p in params)
        if len(sweep.settings) > 1
        else [0]
    )
    legend_rows = math.ceil(min(lines_max, MAX_LINES) / 2) if lines_max <= MAX_LINES else 0
    fig = _figure(max(6.5, 4.4 * len(params) + 0.8), 6.0 + 0.22 * legend_rows)
    axes = fig.subplots(2, len(params), squeeze=False, sharex="col")
    for col, param in enumerate(params):
        handles: dict[str, object] = {}
        levels = unique(table[param])
        numeric = is_numeric(levels)
        log = numeric and Scale.of(levels).log and min(levels) > 0
        others = [p for p in sweep.settings if p != param]
        combos = [(k, g) for k, g in ok.groupby(others, sort=False, dropna=False)] if others else []
        split = others and len(combos) <= MAX_LINES
        groups = combos if split else [((), ok)]
        palette = colours(len(groups))
        dodge = _jitter(len(groups), 0.7 - 0.7 / len(groups))  # each group's slot, categories
        for (name, _), ax in zip(rows, axes[:, col]):
            for g, (key, group) in enumerate(groups):
                values = group.objective if name == "objective" else acc[group.index]
                y = values.to_numpy(float)
                x = _x_positions(list(group[param]), numeric, levels)
                keep = np.isfinite(y) & (x >= 0) if not numeric else np.isfinite(y)
                x, y = x[keep], y[keep]
                if name == "objective":
                    y = objective_scale.clip(y)
                colour = palette[g] if split else "#4c72b0"
                medians = pd.Series(y).groupby(x).median() if len(x) else pd.Series(dtype=float)
                if numeric:
                    ax.plot(x, y, "o", color=colour, ms=3, alpha=0.5, mec="none", clip_on=False)
                else:
                    # Categories have no order to draw a line along: each group sits in its
                    # own slot of the category's strip, its median a short tick there.
                    slot, width = dodge[g], 0.7 / len(groups)
                    spread = _spread(x, 0.6 * width)
                    ax.plot(
                        x + slot + spread,
                        y,
                        "o",
                        color=colour,
                        ms=3,
                        alpha=0.5,
                        mec="none",
                        clip_on=False,
                    )
                if len(medians):
                    label = ", ".join(
                        f"{k}={fmt(v)}"
                        for k, v in zip(others, key if isinstance(key, tuple) else (key,))
                    )
                    at = medians.index.to_numpy()
                    (line,) = ax.plot(
                        at if numeric else at + dodge[g],
                        medians.to_numpy(),
                        ls="-" if numeric else "none",
                        color=colour if split else "#1a1a4d",
                        lw=1.6,
                        ms=5 if numeric else max(6.0, 16.0 / len(groups) ** 0.5),
                        mew=2,
                        marker="o" if numeric else "_",
                        clip_on=False,
                    )
                    if split and label:
                        handles.setdefault(label, line)
            if name == "objective":
                objective_scale.apply(ax.set_yscale, ax.yaxis)
            else:
                low = acc[ok.index].min()
                ax.set_ylim(max(0.0, (low if np.isfinite(low) else 0) - 5), 100)
            ax.set_ylabel(dict(rows)[name])
            ax.grid(True, alpha=0.3)
            _set_x(ax, param, levels, numeric, log)
            if name == "objective":
                ax.set_xlabel("")
        if handles:
            # under its own column, below the axis label: it hides no point
            axes[1, col].legend(
                list(handles.values()),
                list(handles.keys()),
                loc="upper center",
                bbox_to_anchor=(0.5, -0.32 if numeric else -0.45),
                ncols=2,
                fontsize="small",
                frameon=False,
                title=("median over seeds, " if sweep.seeded else "") + f"by {', '.join(others)}",
                title_fontsize="small",
            )
    hidden = len(table) - len(ok)
    title = f"final {sweep.short} and accuracy"
    if sweep.seeded:
        kinds = {is_numeric(unique(table[p])) for p in params}
        median = "line" if kinds == {True} else "tick" if kinds == {False} else "line or tick"
        title += f" (dots: seeds, {median}: median)"
    if hidden:
        title += f"\n{hidden} diverged, failed or unfinished job(s) not shown"
    if objective_scale.note:
        title += f"\n{objective_scale.note}"
    fig.suptitle(title, fontweight="bold", fontsize=10)
    return fig


def heatmap_grid(sweep: Sweep) -> tuple[list, list] | None:
    """The heatmap's row and column values (the first and second setting parameter),
    or None when the sweep is not a grid of exactly two parameters of a readable size."""
    if sweep.search or len(sweep.settings) != 2:
        return None
    a, b = sweep.settings
    rows, cols = unique(sweep.table[a]), unique(sweep.table[b])
    if not rows or not cols or len(rows) > MAX_HEATMAP or len(cols) > MAX_HEATMAP:
        return None
    return rows, cols


def heatmap_figure(sweep: Sweep, settings: pd.DataFrame):
    """The mean objective over seeds on the grid of the two setting parameters; a cell
    whose seeds did not all finish ok is grey and names the worst status; a value at or
    below zero (below a log colour scale) is hatched and printed."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Rectangle

    grid = heatmap_grid(sweep)
    if grid is None:
        return None
    rows, cols = grid
    a, b = sweep.settings
    values = np.full((len(rows), len(cols)), np.nan)
    notes = [["" for _ in cols] for _ in rows]
    for _, s in settings.iterrows():
        i = next((k for k, v in enumerate(rows) if same(v, s[a])), None)
        j = next((k for k, v in enumerate(cols) if same(v, s[b])), None)
        if i is None or j is None:
            continue
        if s.complete:
            values[i, j] = s["mean"]
            notes[i][j] = fmt(float(f"{s['mean']:.3g}"))
        else:
            worst = max(
                (st for st in STATUS_RANK if s[st]), key=lambda st: STATUS_RANK[st], default=""
            )
            notes[i][j] = worst
    scale = Scale.of(values, "cell")
    fig = _figure(1.0 * len(cols) + 3.4, 0.55 * len(rows) + 2.2)
    ax = fig.subplots()
    shown = finite(values)
    cmap = colormaps["viridis_r"].with_extremes(bad="#d9d9d9")
    norm: Normalize | None = None
    if len(shown):
        if scale.log:
            positive = shown[shown > 0]
            norm = LogNorm(positive.min(), positive.max())
        else:
            lo, hi = shown.min(), shown.max()
            norm = Normalize(lo, hi if hi > lo else lo + 1)
    drawn = scale.clip(values) if scale.log else values
    image = ax.imshow(np.ma.masked_invalid(drawn), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = values[i, j]
            if scale.log and np.isfinite(v) and v <= 0:
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", ec="#555", lw=0)
                )
            dark = norm is not None and np.isfinite(v) and norm(drawn[i, j]) > 0.55
            ax.text(
                j,
                i,
                notes[i][j],
                ha="center",
                va="center",
                fontsize="small",
                color="white" if dark else "black",
            )
    if len(shown):
        bi, bj = np.unravel_index(np.nanargmin(values), values.shape)
        ax.add_patch(Rectangle((bj - 0.5, bi - 0.5), 1, 1, fill=False, ec="red", lw=2))
    if len(shown) > 1:
        label = sweep.short + (" (mean over seeds)" if sweep.seeded else "")
        fig.colorbar(image, ax=ax, label=label)
    ax.set_xticks(range(len(cols)), [fmt(v) for v in cols])
    ax.set_yticks(range(len(rows)), [fmt(v) for v in rows])
    if len(cols) > 5 or max(len(fmt(v)) for v in cols) > 6:
        for label in ax.get_xticklabels():
            label.set_rotation(40)
            label.set_horizontalalignment("right")
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    title = f"{sweep.short} (best outlined in red)"
    if scale.note:
        title += f"\n{scale.note.replace('drawn at the bottom edge', 'hatched')}"
    ax.set_title(title, fontweight="bold", fontsize=10)
    return fig


# --- search sweeps ---------------------------------------------------------------------


def _trials(sweep: Sweep) -> pd.DataFrame:
    return sweep.table[sweep.table.job.notna()].sort_values("job", kind="stable")


def history_figure(sweep: Sweep, settings: pd.DataFrame):
    """Objective against trial number: each finished trial a dot, the best so far a
    step line, trials that diverged or failed a red cross on the top edge."""
    trials = _trials(sweep)
    y = trials.objective.to_numpy(float)
    good = (trials.status == "ok").to_numpy() & np.isfinite(y)
    if not good.any():
        return None
    x = trials.job.to_numpy(float)
    scale = Scale.of(y[good], "objective")
    fig = _figure(7.5, 4.0)
    ax = fig.subplots()
    ax.plot(x[good], scale.clip(y[good]), "o", color="#4c72b0", ms=4, label="trial")
    best = np.minimum.accumulate(np.where(good, y, np.inf))
    started = np.isfinite(best)
    ax.step(
        x[started],
        scale.clip(best[started]),
        where="post",
        color="#d62728",
        lw=1.8,
        label="best so far",
    )
    scale.apply(ax.set_yscale, ax.yaxis)
    bad = (trials.status.isin(["diverged", "failed"])).to_numpy()
    if bad.any():
        top = ax.get_ylim()[1]
        ax.plot(
            x[bad],
            np.full(bad.sum(), top),
            "x",
            color="#d62728",
            ms=6,
            clip_on=False,
            label="diverged or failed",
        )
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("trial (job number)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trial 2.5 is no trial
    ax.set_ylabel(sweep.short)
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside right upper", fontsize="small")
    title = f"{sweep.short} of each trial"
    if scale.note:
        title += f"\n{scale.note}"
    ax.set_title(title, fontweight="bold", fontsize=10)
    return fig


def _param_is_log(sweep: Sweep, param: str, levels: list) -> bool:
    if not is_numeric(levels) or not levels or min(levels) <= 0:
        return False
    if param in sweep.log_params:
        return True
    return max(levels) / min(levels) >= 100


def slices_figure(sweep: Sweep, settings: pd.DataFrame):
    """One panel a parameter: each finished trial's objective against the parameter's
    value (log axis where it was searched log-uniformly, categories as strips),
    coloured by trial number."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    trials = _trials(sweep)
    trials = trials[(trials.status == "ok") & np.isfinite(trials.objective.to_numpy(float))]
    params = [p for p in sweep.settings if len(unique(sweep.table[p])) > 0]
    if not params or not len(trials):
        return None
    scale = Scale.of(trials.objective, "objective")
    cols = min(len(params), 3)
    rows_n = math.ceil(len(params) / cols)
    fig = _figure(3.8 * cols + 1.2, 3.2 * rows_n + 0.6)
    axes = fig.subplots(rows_n, cols, squeeze=False, sharey=True).ravel()
    jobs = trials.job.to_numpy(float)
    norm = Normalize(jobs.min(), jobs.max() if jobs.max() > jobs.min() else jobs.min() + 1)
    cmap = colormaps["viridis"]
    y = scale.clip(trials.objective.to_numpy(float))
    for ax, param in zip(axes, params):
        levels = unique(sweep.table[param])
        numeric = is_numeric(levels)
        x = _x_positions(list(trials[param]), numeric, levels)
        if not numeric:
            # a strip a category: trials spread across its width in trial order
            spread = np.zeros(len(x))
            for level in np.unique(x):
                where = np.flatnonzero(x == level)
                spread[where] = _jitter(len(where), 0.4)
            x = x + spread
        ax.scatter(x, y, c=cmap(norm(jobs)), s=18, edgecolors="none")
        _set_x(ax, param, levels, numeric, _param_is_log(sweep, param, levels), at_values=False)
        ax.grid(True, alpha=0.3)
    scale.apply(axes[0].set_yscale, axes[0].yaxis)
    for ax in axes[::cols]:
        ax.set_ylabel(sweep.short)
    for ax in axes[len(params) :]:
        ax.set_visible(False)
    bar = fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap), ax=list(axes[: len(params)]), label="trial"
    )
    from matplotlib.ticker import MaxNLocator

    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    title = f"{sweep.short} against each searched parameter"
    if scale.note:
        title += f"\n{scale.note}"
    fig.suptitle(title, fontweight="bold", fontsize=10)
    return fig


def parallel_figure(sweep: Sweep, settings: pd.DataFrame):
    """Parallel coordinates: an axis a parameter and one for the objective, a line a
    finished trial coloured by its objective (best darkest, drawn on top)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize

    trials = _trials(sweep)
    trials = trials[(trials.status == "ok") & np.isfinite(trials.objective.to_numpy(float))]
    params = list(sweep.settings)
    if not params or len(trials) < 2:
        return None
    scale = Scale.of(trials.objective, "objective")
    objective = scale.clip(trials.objective.to_numpy(float))
    columns, ticks = [], []
    for param in params:
        levels = unique(sweep.table[param])
        numeric = is_numeric(levels)
        if numeric:
            v = np.asarray(list(trials[param]), dtype=float)
            log = _param_is_log(sweep, param, levels)
            lo, hi = float(min(levels)), float(max(levels))
            if log:
                v, lo, hi = np.log10(v), math.log10(lo), math.log10(hi)
            pos = (v - lo) / (hi - lo) if hi > lo else np.full(len(v), 0.5)
            marks = [0.0, 0.5, 1.0] if hi > lo else [0.5]
            labels = [
                fmt(float(f"{(10 ** (lo + m * (hi - lo)) if log else lo + m * (hi - lo)):.3g}"))
                for m in marks
            ]
            ticks.append((marks, labels))
        else:
            index = _x_positions(list(trials[param]), False, levels)
            pos = index / (len(levels) - 1) if len(levels) > 1 else np.full(len(index), 0.5)
            marks = [i / (len(levels) - 1) if len(levels) > 1 else 0.5 for i in range(len(levels))]
            ticks.append((marks, [fmt(v) for v in levels]))
        columns.append(pos)
    o = np.log10(objective) if scale.log else objective
    span = o.max() - o.min()
    columns.append((o - o.min()) / span if span > 0 else np.full(len(o), 0.5))
    marks = [0.0, 0.5, 1.0]
    ticks.append(
        (
            marks,
            [
                fmt(
                    float(
                        f"{(10 ** (o.min() + m * span) if scale.log else o.min() + m * span):.3g}"
                    )
                )
                for m in marks
            ],
        )
    )
    data = np.column_stack(columns)  # (trials, params + 1), each in [0, 1]
    names = [*params, sweep.short]
    fig = _figure(max(6.0, 1.9 * len(names) + 2.0), 4.4)
    ax = fig.subplots()
    cmap = colormaps["viridis_r"]
    norm = (
        LogNorm(objective.min(), objective.max())
        if scale.log
        else Normalize(
            objective.min(),
            objective.max() if objective.max() > objective.min() else objective.min() + 1,
        )
    )
    xs = np.arange(len(names))
    for k in np.argsort(-objective):  # worst first, so the best lie on top
        ax.plot(xs, data[k], color=cmap(norm(objective[k])), lw=1.1, alpha=0.8)
    for x, (marks, labels) in zip(xs, ticks):
        ax.axvline(x, color="#333", lw=0.8)
        for m, label in zip(marks, labels):
            ax.text(x + 0.04, m, label, fontsize=7, va="center", ha="left", color="#222")
    ax.set_xticks(xs, names)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(names) - 0.4)
    ax.set_ylim(-0.05, 1.05)
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=sweep.short)
    if scale.log:
        plain_log_ticks(bar.ax.yaxis)
    title = "every finished trial, coloured by objective"
    if scale.note:
        title += f"\n{scale.note}"
    ax.set_title(title, fontweight="bold", fontsize=10)
    return fig


# --- drawing them all ------------------------------------------------------------------

GRID_FIGURES: tuple[tuple[str, Callable], ...] = (
    ("curves.png", curves_figure),
    ("final_metrics.png", final_figure),
    ("heatmap.png", heatmap_figure),
)
SEARCH_FIGURES: tuple[tuple[str, Callable], ...] = (
    ("history.png", history_figure),
    ("slices.png", slices_figure),
    ("parallel.png", parallel_figure),
    ("curves.png", curves_figure),
)
ALL_NAMES = tuple(dict.fromkeys(n for n, _ in GRID_FIGURES + SEARCH_FIGURES))


@dataclass
class Drawn:
    """Figures drawn: file name -> PNG bytes; and those that failed: name -> error."""

    images: dict[str, bytes] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def draw(sweep: Sweep, settings: pd.DataFrame) -> Drawn:
    """Every figure that applies to this sweep, as PNG bytes. A figure that raises is
    logged as a warning and recorded; the others are drawn all the same."""
    drawn = Drawn()
    for name, function in SEARCH_FIGURES if sweep.search else GRID_FIGURES:
        try:
            fig = function(sweep, settings)
            if fig is not None:
                drawn.images[name] = png(fig)
        except Exception as error:  # a figure must never take the report down
            drawn.errors[name] = f"{type(error).__name__}: {error}"
            log.warning("sweep figure %s could not be drawn: %s", name, drawn.errors[name])
    return drawn


__all__ = ["CAPTIONS", "Drawn", "caption", "draw", "describe_objective", "fmt", "unique"]
