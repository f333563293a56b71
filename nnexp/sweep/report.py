"""A sweep folder -> summary table -> comparison plots -> ``report.md`` and ``report.html``.

Everything is read from the run folders on disk, never from the jobs' return values:
each job folder's ``.hydra/overrides.yaml`` (written by Hydra when the job starts) says
what was set, its ``summary.json`` (written last, atomically) what came of it, and its
``metrics.csv`` the curves. A folder without ``summary.json`` is a job that was killed
or is still running: it is listed as ``incomplete``. So the same code serves the
multirun-end callback and ``nnexp report <sweep folder>``, which rebuilds the
report of any sweep, finished or interrupted.

The sweep folder gets:

- ``summary.csv``: one row a job, by job number: ``job``, one column per swept override
  (an override whose value differs between jobs, or that the sweep's command swept),
  ``status`` (ok, diverged, failed, incomplete), ``objective``, final and best loss and
  accuracy (and their validation twins when a split was held out), epochs completed,
  the epoch of divergence, training seconds, the error of a failed job and the run
  folder relative to the sweep folder (so two launchers give the same table).
- ``curves.png``: every job's objective curve (validation loss when held out, else
  training loss), one panel per swept parameter, coloured by its value. When ``seed``
  is swept, one line per setting: the mean across seeds with a ± one standard
  deviation band.
- ``final_metrics.png``: the final objective and accuracy against each swept numeric
  parameter (means and standard deviations across seeds when ``seed`` is swept).
- ``heatmap.png``: the objective over the grid, when exactly two parameters besides
  ``seed`` are swept (averaged over seeds), each with at most ``MAX_HEATMAP`` values.
- ``report.md`` and ``report.html`` (images embedded, so it opens from disk anywhere):
  the counts, the best setting, the jobs sorted by the objective with failures marked,
  the per-setting means across seeds, the plots, and the command that reruns the sweep.

The command is the sweep's own overrides (from ``multirun.yaml``, which Hydra's basic
sweeper and nnexp's callback save at the sweep's start) with ``hydra.sweep.dir`` set to
this folder: running it again resumes the sweep in place, redoing only unfinished jobs.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..run import artifacts
from ..run.artifacts import FINISHED, read_summary
from .resume import SWEEP_CONFIG, expected_jobs

SUMMARY_CSV = "summary.csv"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
STATUS_RANK = {"ok": 0, "diverged": 1, "failed": 2, "incomplete": 3}
SEED = "seed"  # the swept option whose values are replicates, not settings
MAX_PANELS = 4  # curve panels: one per swept parameter, at most this many
MAX_LEGEND = 10  # more distinct values than this get a colour bar instead of a legend
MAX_HEATMAP = 12  # values a side, at most, for the heatmap to stay readable
DPI = 100
CAPTIONS = {
    "curves.png": "Curves of every job, coloured by each swept value",
    "final_metrics.png": "Final metrics against each swept numeric parameter",
    "heatmap.png": "Objective over the two swept parameters",
}


class ReportError(ValueError):
    """A folder that holds no sweep; the message is the one line the user sees."""


# --- reading the sweep folder ----------------------------------------------------------


@dataclass
class Sweep:
    """What a sweep folder holds. ``table``: one row a job (summary.csv's content)."""

    dir: Path
    table: pd.DataFrame
    swept: list[str]
    objective: str  # the metric the objective is: "val_loss", "loss" or "mixed"
    command: str | None
    expected: int | None  # jobs the sweep launches, when that can be known
    metrics: dict = field(default_factory=dict)  # run_dir -> metrics.csv frame

    @property
    def settings(self) -> list[str]:
        """The swept parameters that make a setting (all but the seed)."""
        return [k for k in self.swept if k != SEED]

    @property
    def seeded(self) -> bool:
        return SEED in self.swept

    def curves(self, run_dir: str) -> pd.DataFrame | None:
        """A job's metrics.csv, by its run_dir: unique even where job numbers repeat (a
        folder holding several sweeps)."""
        if run_dir not in self.metrics:
            try:
                self.metrics[run_dir] = pd.read_csv(self.dir / run_dir / "metrics.csv")
            except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
                self.metrics[run_dir] = None
        return self.metrics[run_dir]


def job_folders(sweep_dir: Path) -> list[Path]:
    """Every folder under ``sweep_dir`` that Hydra started a job in."""
    return [p.parent.parent for p in sorted(Path(sweep_dir).rglob(".hydra/overrides.yaml"))]


def _job_number(folder: Path) -> int | None:
    if folder.name.isdigit():
        return int(folder.name)
    try:
        from omegaconf import OmegaConf

        return int(OmegaConf.load(folder / ".hydra" / "hydra.yaml").hydra.job.num)
    except Exception:
        return None


def _plain(value):
    """An override's value as a table cell: numbers, strings and booleans as they are,
    anything else (lists, dicts, null) as the text it was written with."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def parse_overrides(lines: list[str]) -> dict:
    """``["lr=0.1", "model.hidden=[4]"]`` -> ``{"lr": 0.1, "model.hidden": "[4]"}``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    values = {}
    for line in lines:
        try:
            override = parser.parse_override(line)
            value = _plain(override.value())
            if value is None:
                value = override.get_value_element_as_str()
            values[override.key_or_group] = value
        except Exception:  # anything the parser rejects is still worth a column
            key, _, value = line.partition("=")
            values[key.lstrip("+~")] = value
    return values


def _sweep_config(sweep_dir: Path, config=None):
    if config is not None:
        return config
    try:
        from omegaconf import OmegaConf

        return OmegaConf.load(sweep_dir / SWEEP_CONFIG)
    except Exception:
        return None


def _swept_in_command(saved) -> list[str]:
    """Keys the sweep's command (or its sweeper's params) swept: ``lr=0.1,1``,
    ``choice(...)``, ``interval(...)``."""
    if saved is None:
        return []
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        params = saved.hydra.sweeper.get("params") or {}
        lines = [f"{k}={v}" for k, v in params.items()] + list(saved.hydra.overrides.task)
        parsed = OverridesParser.create().parse_overrides(lines)
        return [o.key_or_group for o in parsed if o.is_sweep_override()]
    except Exception:
        return []


def reproduce_command(sweep_dir: Path, saved) -> str | None:
    """``python -m nnexp -m <the sweep's overrides> hydra.sweep.dir=<this folder>``."""
    if saved is None:
        return None
    try:
        task = list(saved.hydra.overrides.task)
        extra = [
            o
            for o in saved.hydra.overrides.hydra
            if not o.startswith(("hydra.mode=", "hydra.sweep.dir="))
        ]
    except Exception:
        return None
    args = [*task, *extra, f"hydra.sweep.dir={Path(sweep_dir).resolve()}"]
    return " ".join(["python -m nnexp -m", *map(shlex.quote, args)])


def _row(
    job: int | None, folder: Path, sweep_dir: Path, settings: dict, summary: dict | None
) -> dict:
    row = {"job": job, **settings}
    summary = summary or {"status": "incomplete"}
    row["status"] = summary.get("status", "incomplete")
    objective = summary.get("objective")
    if objective is None and row["status"] in ("diverged", "failed"):
        objective = math.inf  # what the task returned to the sweeper
    row["objective"] = objective
    for kind in ("final", "best"):
        for metric in METRICS:
            row[f"{kind}_{metric}"] = (summary.get(kind) or {}).get(metric)
    row["epochs_completed"] = summary.get("epochs_completed")
    row["diverged_at"] = summary.get("diverged_at")
    row["seconds"] = summary.get("train_seconds")
    row["error"] = summary.get("error")
    row["run_dir"] = folder.relative_to(sweep_dir).as_posix()
    return row


def collect(sweep_dir: Path, config=None) -> Sweep:
    """Read every job folder of ``sweep_dir``. ``config``: the sweep's config when the
    caller has it (the callback); otherwise ``multirun.yaml`` is read."""
    sweep_dir = Path(sweep_dir)
    folders = job_folders(sweep_dir)
    if not folders:
        raise ReportError(
            f"{sweep_dir} holds no job folders (no */.hydra/overrides.yaml): "
            "is it a sweep folder of python -m nnexp -m ...?"
        )
    from omegaconf import OmegaConf

    jobs = []
    for folder in folders:
        try:
            lines = list(OmegaConf.load(folder / ".hydra" / "overrides.yaml"))
        except Exception:
            lines = []
        jobs.append((_job_number(folder), folder, parse_overrides(lines), read_summary(folder)))
    saved = _sweep_config(sweep_dir, config)
    keys: list[str] = []
    for _, _, settings, _ in jobs:
        keys += [k for k in settings if k not in keys]
    in_command = _swept_in_command(saved)
    swept = [k for k in keys if k in in_command or len({repr(s.get(k)) for _, _, s, _ in jobs}) > 1]
    rows = [
        _row(num, folder, sweep_dir, {k: settings.get(k) for k in swept}, summary)
        for num, folder, settings, summary in jobs
    ]
    table = pd.DataFrame(rows)
    table = table.sort_values("job", kind="stable", na_position="last").reset_index(drop=True)
    table = _tidy(table)
    return Sweep(
        sweep_dir,
        table,
        swept,
        _objective_name(table),
        reproduce_command(sweep_dir, saved),
        expected_jobs(sweep_dir),
    )


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """Integer columns stay integers with gaps, and metrics no job has are dropped."""
    for column in ("job", "epochs_completed", "diverged_at"):
        table[column] = pd.array(table[column].astype("float"), dtype="Int64")
    for column in ["objective", "seconds"] + [
        c for c in table if c.startswith(("final_", "best_"))
    ]:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    empty = [
        f"{kind}_{m}"
        for kind in ("final", "best")
        for m in METRICS
        if m.startswith("val_") and table[f"{kind}_{m}"].isna().all()
    ]
    return table.drop(columns=empty)


def _objective_name(table: pd.DataFrame) -> str:
    done = table[table.status.isin(FINISHED)]
    if "final_val_loss" not in table or done.final_val_loss.isna().all():
        return "loss"
    return "val_loss" if done.final_val_loss.notna().all() else "mixed"


def describe_objective(name: str) -> str:
    return {
        "val_loss": "final validation loss",
        "loss": "final training loss",
        "mixed": "final validation loss where a split was held out, else training loss",
    }[name]


# --- ranking ---------------------------------------------------------------------------


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Jobs best first: finite objectives ascending, then diverged, failed, incomplete."""
    key = pd.DataFrame(
        {
            "bad": ~np.isfinite(table.objective.to_numpy(float)),
            "objective": table.objective.fillna(np.inf),
            "status": table.status.map(STATUS_RANK).fillna(9),
            "job": table.job.astype(float),
        }
    )
    order = key.sort_values(["bad", "objective", "status", "job"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def by_setting(sweep: Sweep) -> pd.DataFrame | None:
    """When ``seed`` is swept: one row a setting, best first, with the objective's mean
    and standard deviation across seeds (inf when any seed diverged or failed: such a
    setting is not to be trusted), and the seeds that finished ok."""
    if not sweep.seeded:
        return None
    table = sweep.table
    groups = (
        table.groupby(sweep.settings, sort=False, dropna=False) if sweep.settings else [((), table)]
    )
    rows = []
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        objective = group.objective.to_numpy(float)
        row = dict(zip(sweep.settings, values))
        row["seeds"] = len(group)
        row["ok"] = int((group.status == "ok").sum())
        row["mean_objective"] = float(np.mean(objective)) if len(objective) else np.nan
        row["std_objective"] = (
            float(np.std(objective, ddof=1))
            if len(objective) > 1 and np.all(np.isfinite(objective))
            else np.nan
        )
        accuracy = _accuracy_column(sweep)
        row["mean_accuracy"] = (
            float(np.nanmean(group[accuracy])) if group[accuracy].notna().any() else np.nan
        )
        row["jobs"] = " ".join(str(j) for j in group.job)
        rows.append(row)
    frame = pd.DataFrame(rows)
    bad = ~np.isfinite(frame.mean_objective.to_numpy(float))
    frame = frame.assign(_bad=bad).sort_values(["_bad", "mean_objective"], kind="stable")
    return frame.drop(columns="_bad").reset_index(drop=True)


def _accuracy_column(sweep: Sweep) -> str:
    return "final_val_accuracy" if sweep.objective == "val_loss" else "final_accuracy"


def best(sweep: Sweep) -> dict | None:
    """The best setting: the job (or, across seeds, the setting) with the lowest finite
    objective. None when no job has one."""
    settings = by_setting(sweep)
    if settings is not None:
        if not len(settings) or not math.isfinite(settings.mean_objective.iloc[0]):
            return None
        top = settings.iloc[0]
        return {
            "settings": {k: top[k] for k in sweep.settings},
            "objective": float(top.mean_objective),
            "std": top.std_objective,
            "accuracy": top.mean_accuracy,
            "seeds": int(top.seeds),
            "jobs": top.jobs,
        }
    top = ranked(sweep.table).iloc[0]
    if not math.isfinite(top.objective if pd.notna(top.objective) else math.nan):
        return None
    return {
        "settings": {k: top[k] for k in sweep.swept},
        "objective": float(top.objective),
        "accuracy": top[_accuracy_column(sweep)],
        "job": int(top.job),
        "run_dir": top.run_dir,
    }


# --- plots -----------------------------------------------------------------------------


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return str(value)


def _is_numeric(values) -> bool:
    return all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in values
    )


def _unique(values) -> list:
    """Distinct values in a stable, sensible order: numbers ascending, else as first seen."""
    seen = []
    for v in values:
        if not any(v == s and type(v) is type(s) for s in seen):
            seen.append(v)
    if _is_numeric(seen):
        return sorted(seen)
    if all(isinstance(v, str) for v in seen):  # natural order: [2] before [16]
        return sorted(
            seen,
            key=lambda v: [
                (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", v)
            ],
        )
    return seen


def _log_scale(values) -> bool:
    values = _finite(values)
    return len(values) > 1 and values.min() > 0 and values.max() / values.min() >= 10


def _palette(values):
    """value -> colour for a swept parameter, and a colour-bar mappable when there are
    too many numeric values for a legend (else None)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize

    levels = _unique(values)
    if _is_numeric(levels) and len(levels) > MAX_LEGEND:
        lo, hi = float(min(levels)), float(max(levels))
        norm = LogNorm(lo, hi) if _log_scale(levels) else Normalize(lo, hi if hi > lo else lo + 1)
        cmap = colormaps["viridis"]
        return (lambda v: cmap(norm(v))), ScalarMappable(norm=norm, cmap=cmap)
    if _is_numeric(levels):
        # viridis without its pale yellow end, which vanishes on white
        colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(levels)))
    else:
        colours = [colormaps["tab10"](i % 10) for i in range(len(levels))]
    lookup = list(zip(levels, colours))

    def colour(v):
        for level, c in lookup:
            if level == v and type(level) is type(v):
                return c
        return "grey"

    return colour, None


def _legend_handles(values, colour):
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=colour(v), lw=2, label=_fmt(v)) for v in _unique(values)]


def _curve(frame: pd.DataFrame, metric: str) -> pd.Series | None:
    if frame is None or metric not in frame:
        return None
    series = pd.Series(frame[metric].to_numpy(float), index=frame.epoch.to_numpy())
    series = series.replace([np.inf, -np.inf], np.nan)
    return series.dropna()


def curves_figure(sweep: Sweep):
    """The objective's curve of every finished job, a panel per swept parameter, each
    coloured by that parameter's value; with ``seed`` swept, mean ± std across seeds.
    Diverged jobs are dashed and leave through the top: the y range is that of the
    jobs that did not diverge (and every curve's start)."""
    metric = "loss" if sweep.objective == "mixed" else sweep.objective
    done = sweep.table[sweep.table.status.isin(FINISHED)]
    curves = {d: _curve(sweep.curves(d), metric) for d in done.run_dir}
    curves = {d: c for d, c in curves.items() if c is not None and len(c)}
    if not curves:
        return None
    done = done[done.run_dir.isin(list(curves))]
    params = sweep.settings[:MAX_PANELS] or [None]
    cols = min(len(params), 2)
    rows = math.ceil(len(params) / cols)
    fig = _figure(6.4 * cols, 4.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    lines = _setting_lines(sweep, done, curves)
    calm = [mean for _, mean, _, diverged in lines if not diverged] or [
        mean for _, mean, _, _ in lines
    ]
    shown = np.concatenate([_finite(m) for m in calm] + [[m.iloc[0]] for _, m, _, _ in lines])
    log = _log_scale(shown)
    lo, hi = shown.min(), shown.max()
    span = hi - lo + 1e-12
    limits = (lo / 2, hi * 3) if log else (lo - 0.05 * span, hi + 0.1 * span)
    for ax, param in zip(axes, params):
        colour, bar = (lambda v: "C0"), None
        if param is not None:
            colour, bar = _palette(list(done[param]))
        for setting, mean, std, diverged in lines:
            c = colour(setting.get(param)) if param else "C0"
            x, y = mean.index.to_numpy(), np.minimum(mean.to_numpy(), limits[1] * 10)
            ax.plot(x, y, color=c, lw=1.4, alpha=0.9, ls="--" if diverged else "-")
            if std is not None:
                lower, upper = (mean - std).to_numpy(), (mean + std).to_numpy()
                if log:
                    lower = np.maximum(lower, mean.to_numpy() / 10)
                ax.fill_between(
                    x, lower, np.minimum(upper, limits[1] * 10), color=c, alpha=0.2, lw=0
                )
        if log:
            ax.set_yscale("log")
            _plain_log_ticks(ax.yaxis)
        ax.set_ylim(*limits)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric + (" (mean ± std over seeds)" if sweep.seeded else ""))
        ax.grid(True, alpha=0.3)
        if param is not None:
            ax.set_title(f"coloured by {param}")
            if bar is not None:
                fig.colorbar(bar, ax=ax, label=param)
            else:
                ax.legend(
                    handles=_legend_handles(list(done[param]), colour),
                    title=param,
                    fontsize="small",
                )
    for ax in axes[len(params) :]:
        ax.set_visible(False)
    dashed = " (dashed: diverged)" if any(d for *_, d in lines) else ""
    fig.suptitle(f"{metric} of every job{dashed}", fontweight="bold")
    return fig


def _plain_log_ticks(axis, values=None) -> None:
    """A log axis without minor tick labels (they collide), ticked at the swept values
    when there are few enough of them."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    axis.set_minor_formatter(NullFormatter())
    if values is not None and len(values) <= MAX_HEATMAP:
        axis.set_minor_locator(NullLocator())
        axis.set_ticks([float(v) for v in values], [_fmt(v) for v in values])
    else:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=12))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _setting_lines(sweep: Sweep, done: pd.DataFrame, curves: dict):
    """[(setting values, mean curve, std curve or None, diverged)]: one per job, or one
    per setting across seeds when ``seed`` is swept (diverged when any seed did)."""
    if not sweep.seeded:
        return [
            ({k: row[k] for k in sweep.swept}, curves[row.run_dir], None, row.status == "diverged")
            for _, row in done.iterrows()
        ]
    lines = []
    groups = done.groupby(sweep.settings, sort=False) if sweep.settings else [((), done)]
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        frame = pd.concat([curves[d] for d in group.run_dir], axis=1)
        std = frame.std(axis=1) if frame.shape[1] > 1 else None
        lines.append(
            (
                dict(zip(sweep.settings, values)),
                frame.mean(axis=1),
                std,
                bool((group.status == "diverged").any()),
            )
        )
    return lines


def final_figure(sweep: Sweep):
    """Final objective (top) and accuracy (bottom) of the jobs that finished ok against
    each swept numeric parameter; one line per combination of the other parameters,
    means ± std across seeds."""
    table = sweep.table
    numeric = [
        p for p in sweep.settings if _is_numeric(list(table[p].dropna())) and table[p].nunique() > 1
    ]
    if not numeric:
        return None
    accuracy = _accuracy_column(sweep)
    rows = [("objective", describe_objective(sweep.objective)), (accuracy, accuracy)]
    fig = _figure(5.2 * len(numeric) + (4.0 if len(sweep.settings) > 1 else 0.5), 7.0)
    axes = fig.subplots(2, len(numeric), squeeze=False, sharex="col")
    legend = None  # one for the figure, beside the panels, where it hides no point
    for col, param in enumerate(numeric):
        others = [p for p in sweep.settings if p != param]
        groups = list(table.groupby(others, sort=False, dropna=False)) if others else [((), table)]
        connect = len(groups) <= MAX_LEGEND
        # one other parameter: the same colours as its panel of curves.png
        palette = _palette(list(table[others[0]]))[0] if len(others) == 1 else None
        for (name, label), ax in zip(rows, axes[:, col]):
            hidden = 0
            for i, (values, group) in enumerate(groups):
                values = values if isinstance(values, tuple) else (values,)
                xs, means, stds = [], [], []
                for x, points in group.groupby(param, sort=True):
                    finite = _finite(points[name][points.status == "ok"])
                    hidden += len(points) - len(finite)
                    if len(finite):
                        xs.append(x)
                        means.append(finite.mean())
                        stds.append(finite.std(ddof=1) if len(finite) > 1 else 0.0)
                if not xs:
                    continue
                text = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(others, values)) or None
                colour = (palette(values[0]) if palette else f"C{i % 10}") if connect else "C0"
                if sweep.seeded:
                    ax.errorbar(
                        xs,
                        means,
                        yerr=stds,
                        color=colour,
                        marker="o",
                        ms=4,
                        capsize=3,
                        ls="-" if connect else "none",
                        label=text,
                    )
                else:
                    ax.plot(
                        xs,
                        means,
                        color=colour,
                        marker="o",
                        ms=4,
                        ls="-" if connect else "none",
                        label=text,
                    )
            xs_all = _finite(table[param])  # the whole swept range, even where jobs failed
            if _log_scale(xs_all):
                ax.set_xscale("log")
                ax.set_xlim(xs_all.min() / 1.5, xs_all.max() * 1.5)
                _plain_log_ticks(ax.xaxis, _unique(list(table[param].dropna())))
            else:
                pad = 0.05 * (xs_all.max() - xs_all.min())
                ax.set_xlim(xs_all.min() - pad, xs_all.max() + pad)
            if name == "objective" and _log_scale(table[name]):
                ax.set_yscale("log")
                _plain_log_ticks(ax.yaxis)
            ax.set_xlabel(param)
            ax.set_ylabel(label)
            ax.grid(True, alpha=0.3)
            if hidden:
                ax.set_title(
                    f"{hidden} diverged, failed or unfinished job(s) not shown", fontsize="small"
                )
            if connect and others and not legend and ax.get_legend_handles_labels()[0]:
                legend = ax.get_legend_handles_labels()
    if legend:
        fig.legend(*legend, loc="outside right center", fontsize="small")
    fig.suptitle("final metrics against each swept parameter", fontweight="bold")
    return fig


def heatmap_figure(sweep: Sweep):
    """The objective over the grid of exactly two swept parameters (seeds averaged);
    a cell whose jobs did not all finish ok is grey and names their status."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Rectangle

    if len(sweep.settings) != 2:
        return None
    a, b = sweep.settings
    table = sweep.table
    rows, cols = _unique(list(table[a])), _unique(list(table[b]))
    if len(rows) > MAX_HEATMAP or len(cols) > MAX_HEATMAP:
        return None
    values = np.full((len(rows), len(cols)), np.nan)
    notes = [["" for _ in cols] for _ in rows]
    for i, ra in enumerate(rows):
        for j, cb in enumerate(cols):
            cell = table[
                (table[a].map(lambda v, ra=ra: v == ra and type(v) is type(ra)))
                & (table[b].map(lambda v, cb=cb: v == cb and type(v) is type(cb)))
            ]
            objective = cell.objective.to_numpy(float)
            if len(cell) and np.all(np.isfinite(objective)):
                values[i, j] = objective.mean()
                notes[i][j] = f"{values[i, j]:.3g}"
            elif len(cell):
                worst = max(cell.status, key=lambda s: STATUS_RANK.get(s, 9))
                notes[i][j] = worst if worst != "ok" else "inf"
    fig = _figure(1.1 * len(cols) + 3.2, 0.6 * len(rows) + 2.4)
    ax = fig.subplots()
    finite = _finite(values)
    cmap = colormaps["viridis_r"].with_extremes(bad="#d9d9d9")
    norm = None
    if len(finite):
        lo, hi = finite.min(), finite.max()
        norm = LogNorm(lo, hi) if _log_scale(finite) else Normalize(lo, hi if hi > lo else lo + 1)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            dark = norm is not None and np.isfinite(values[i, j]) and norm(values[i, j]) > 0.55
            ax.text(
                j,
                i,
                notes[i][j],
                ha="center",
                va="center",
                fontsize="small",
                color="white" if dark else "black",
            )
    if len(finite):
        i, j = np.unravel_index(np.nanargmin(values), values.shape)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    if len(finite) > 1:
        fig.colorbar(
            image,
            ax=ax,
            label=describe_objective(sweep.objective)
            + (" (mean over seeds)" if sweep.seeded else ""),
        )
    ax.set_xticks(range(len(cols)), [_fmt(v) for v in cols])
    ax.set_yticks(range(len(rows)), [_fmt(v) for v in rows])
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    ax.set_title("objective (best outlined in red)", fontweight="bold")
    return fig


PLOTS = (
    ("curves.png", curves_figure),
    ("final_metrics.png", final_figure),
    ("heatmap.png", heatmap_figure),
)


def write_plots(sweep: Sweep) -> dict[str, bytes]:
    """Draw and write the comparison plots; -> file name -> PNG bytes, for those drawn.
    A plot that does not apply to this sweep is removed if an earlier build left it."""
    images = {}
    for name, draw in PLOTS:
        fig = draw(sweep)
        if fig is None:
            (sweep.dir / name).unlink(missing_ok=True)
            continue
        images[name] = _png(fig)
        artifacts.write_bytes(sweep.dir / name, images[name])
    return images


# --- the report ------------------------------------------------------------------------


def _counts(table: pd.DataFrame, expected: int | None) -> str:
    counts = table.status.value_counts()
    parts = [f"{counts[s]} {s}" for s in STATUS_RANK if s in counts]
    text = f"{len(table)} job{'' if len(table) == 1 else 's'}: " + ", ".join(parts)
    if expected and expected > len(table):
        text += f"; {expected - len(table)} of the sweep's {expected} not started"
    return text


def _settings_text(settings: dict) -> str:
    return " ".join(f"{k}={_fmt(v)}" for k, v in settings.items()) or "the only setting"


def _best_text(sweep: Sweep, top: dict | None) -> str:
    if top is None:
        return "No job finished with a finite objective."
    text = f"`{_settings_text(top['settings'])}`: {describe_objective(sweep.objective)} "
    if "seeds" in top:
        std = "" if pd.isna(top["std"]) else f" ± {top['std']:.4g}"
        text += (
            f"{top['objective']:.6g}{std} (mean ± std over {top['seeds']} seeds, "
            f"jobs {top['jobs']})"
        )
    else:
        text += f"{top['objective']:.6g} (job {top['job']}, folder `{top['run_dir']}/`)"
    if pd.notna(top.get("accuracy")):
        text += f", accuracy {top['accuracy']:.4f}"
    return text + "."


def _display(sweep: Sweep) -> pd.DataFrame:
    """The jobs table as shown in the reports: best first, the columns a reader wants."""
    table = ranked(sweep.table)
    metrics = [c for c in table if c.startswith("final_")] + [
        c for c in ("best_val_loss", "best_loss") if c in table
    ][:1]
    columns = [
        "job",
        *sweep.swept,
        "status",
        "objective",
        *metrics,
        "epochs_completed",
        "seconds",
        "error",
    ]
    frame = table[columns].rename(columns={"epochs_completed": "epochs"})
    if frame.error.isna().all():
        frame = frame.drop(columns="error")
    return frame


def _cell(value) -> str:
    if value is pd.NA:
        return ""
    return _fmt(value)


def _md_table(frame: pd.DataFrame, marks: dict | None = None) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(esc(str(c)) for c in frame.columns) + " |",
        "| " + " | ".join("---" for _ in frame.columns) + " |",
    ]
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            text = esc(_cell(row[column]))
            if column == "status" and marks and text in marks:
                text = marks[text].format(text)
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _seed_table(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(
        columns={
            "mean_objective": "objective (mean)",
            "std_objective": "objective (std)",
            "mean_accuracy": "accuracy (mean)",
        }
    )


def markdown(sweep: Sweep, top: dict | None, images: dict) -> str:
    marks = {"failed": "**{}**", "diverged": "*{}*", "incomplete": "_{}_"}
    parts = [
        f"# Sweep report: {sweep.dir.name}",
        f"{_counts(sweep.table, sweep.expected)}. Objective: "
        f"{describe_objective(sweep.objective)}, lower is better.",
        "## Best setting",
        _best_text(sweep, top),
    ]
    settings = by_setting(sweep)
    if settings is not None:
        parts += ["## Settings across seeds, best first", _md_table(_seed_table(settings))]
    parts += [
        "## Jobs, best first",
        "Failed and diverged jobs are marked and listed last; `incomplete` means the "
        "job was interrupted (rerun the command below to finish it).",
        _md_table(_display(sweep), marks),
    ]
    if images:
        parts.append("## Plots")
        parts += [f"![{CAPTIONS[name]}]({name})" for name in images]
    parts += ["## Reproduce", _command_text(sweep)]
    return "\n\n".join(parts) + "\n"


def _command_text(sweep: Sweep) -> str:
    if sweep.command is None:
        return f"Unknown: the folder has no {SWEEP_CONFIG}."
    return (
        f"```\n{sweep.command}\n```\n\nRunning it again resumes the sweep in this folder: "
        "finished jobs are skipped, unfinished and failed ones run. Leave out "
        "`hydra.sweep.dir` to run the sweep afresh in a new folder."
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td.text { text-align: left; }
tr.diverged td { background: #fff4d6; } tr.failed td { background: #fde0e0; }
tr.incomplete td { background: #eeeeee; color: #666; } tr.best td { font-weight: bold; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; white-space: pre-wrap; }
figure { margin: 1em 0; } img { max-width: 100%; } figcaption { color: #555; }
"""


def _html_table(
    frame: pd.DataFrame, row_classes: list[str] | None = None, links: dict | None = None
) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for column in frame.columns:
            value = row[column]
            text = html.escape(_cell(value))
            if links and column in links:
                text = f'<a href="{html.escape(links[column](row))}">{text}</a>'
            kind = "" if isinstance(value, (int, float, np.number)) else ' class="text"'
            cells.append(f"<td{kind}>{text}</td>")
        cls = f' class="{row_classes[i]}"' if row_classes else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _inline_md(text: str) -> str:
    """The few markdown bits the best-setting line uses: `code`."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def html_page(sweep: Sweep, top: dict | None, images: dict) -> str:
    jobs = _display(sweep)
    classes = list(jobs.status)
    if top is not None and "job" in top:
        classes = [c + (" best" if j == top["job"] else "") for c, j in zip(classes, jobs.job)]
    run_dirs = dict(zip(sweep.table.job, sweep.table.run_dir))
    parts = [
        f"<h1>Sweep report: {html.escape(sweep.dir.name)}</h1>",
        f"<p>{html.escape(_counts(sweep.table, sweep.expected))}. Objective: "
        f"{html.escape(describe_objective(sweep.objective))}, lower is better.</p>",
        "<h2>Best setting</h2>",
        f"<p>{_inline_md(_best_text(sweep, top))}</p>",
    ]
    settings = by_setting(sweep)
    if settings is not None:
        parts += ["<h2>Settings across seeds, best first</h2>", _html_table(_seed_table(settings))]
    parts += [
        "<h2>Jobs, best first</h2>",
        "<p>Failed (red) and diverged (yellow) jobs are listed last; incomplete (grey) "
        "jobs were interrupted. The job number links to its run folder.</p>",
        _html_table(jobs, classes, {"job": lambda row: f"{run_dirs[row.job]}/"}),
    ]
    if images:
        parts.append("<h2>Plots</h2>")
        for name, png in images.items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(CAPTIONS[name])}"><figcaption>'
                f"{html.escape(CAPTIONS[name])}</figcaption></figure>"
            )
    parts.append("<h2>Reproduce</h2>")
    if sweep.command is None:
        parts.append(f"<p>Unknown: the folder has no {SWEEP_CONFIG}.</p>")
    else:
        parts.append(
            f"<pre><code>{html.escape(sweep.command)}</code></pre><p>Running it "
            "again resumes the sweep in this folder: finished jobs are skipped, "
            "unfinished and failed ones run. Leave out <code>hydra.sweep.dir</code> "
            "to run the sweep afresh in a new folder.</p>"
        )
    title = html.escape(f"Sweep report: {sweep.dir.name}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


@dataclass
class Report:
    sweep: Sweep
    best: dict | None
    paths: list[Path]

    def headline(self, seconds: float | None = None) -> str:
        took = "" if seconds is None else f" in {seconds:.1f} s"
        text = f"sweep{took}: {_counts(self.sweep.table, self.sweep.expected)}"
        if self.best is not None:
            text += (
                f"; best {_settings_text(self.best['settings'])} "
                f"(objective {self.best['objective']:.6g})"
            )
        return text + f"; report: {self.sweep.dir / REPORT_HTML}"


def build(sweep_dir: Path, config=None) -> Report:
    """Write summary.csv, the plots, report.md and report.html into ``sweep_dir`` from
    its run folders. ``config``: the sweep's config, when the caller has it."""
    sweep = collect(Path(sweep_dir), config)
    paths = [artifacts.write_frame(sweep.dir / SUMMARY_CSV, sweep.table)]
    images = write_plots(sweep)
    paths += [sweep.dir / name for name in images]
    top = best(sweep)
    paths.append(artifacts.write_text(sweep.dir / REPORT_MD, markdown(sweep, top, images)))
    paths.append(artifacts.write_text(sweep.dir / REPORT_HTML, html_page(sweep, top, images)))
    return Report(sweep, top, paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nnexp report",
        description="Rebuild a sweep folder's summary.csv, comparison plots, report.md and "
        "report.html from its run folders (also for an interrupted sweep).",
    )
    parser.add_argument("sweep_dir", type=Path, help="the sweep folder (hydra.sweep.dir)")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"nnexp report: error: {args.sweep_dir} is not a folder", file=sys.stderr)
        return 2
    try:
        report = build(args.sweep_dir)
    except ReportError as error:
        print(f"nnexp report: error: {error}", file=sys.stderr)
        return 2
    print(report.headline())
    return 0


if __name__ == "__main__":
    sys.exit(main())
