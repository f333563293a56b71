"""``report.md`` of one run: the page a person reads to learn what ran and how it went.

Everything comes from the run's summary (see ``app.summarize`` and ``app.provenance``)
and from ``predictions.csv``, which is written before the report; the report is written
before ``summary.json``, the file that marks the run finished.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from . import artifacts

# Captions for the figures a run draws; any other file gets its own name.
CAPTIONS = {
    artifacts.CURVES: "Training curves",
    artifacts.BOUNDARY: "Decision boundary",
    artifacts.LEARNING_GIF: "Watch it learn",
}


def write_report(out_dir: Path, summary: dict, dataset, net) -> Path:
    """Write ``out_dir/report.md`` atomically and return its path."""
    out_dir = Path(out_dir)
    sections = [
        _header(summary, dataset, net),
        _results(summary),
        _queries(out_dir / artifacts.PREDICTIONS, dataset, net),
        _plots(summary),
        _settings(summary.get("config", {})),
        _reproduce(summary),
    ]
    text = "\n\n".join(s for s in sections if s) + "\n"
    return artifacts.write_text(out_dir / artifacts.REPORT, text)


# --- formatting --------------------------------------------------------------------------


def _number(value, percent: bool = False) -> str:
    """Six significant digits (accuracies as percentages); NaN and inf spelled out."""
    if value is None:
        return "–"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.2%}" if percent else f"{value:.6g}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- sections ----------------------------------------------------------------------------


def _header(summary: dict, dataset, net) -> str:
    layers = "-".join(map(str, net.sizes))
    hidden = f"{net.activation} hidden layers" if net.hidden else "no hidden layer"
    lines = [
        f"# {dataset.name}: {layers} network",
        "",
        f"**Architecture:** layers {layers}, {hidden}, {net.output_activation} output, "
        f"{'with' if net.bias else 'no'} biases.  ",
        f"**Status:** {summary.get('status', 'unknown')}, "
        f"{summary.get('epochs_completed', '?')} epochs in "
        f"{summary.get('train_seconds', math.nan):.3g} s of training.",
    ]
    if summary.get("status") == "diverged":
        final = summary.get("final", {}).get("loss")
        lines += [
            "",
            f"> **Diverged at epoch {summary.get('diverged_at')}:** the loss became "
            f"{_number(final)} and training stopped there. The final numbers below are "
            "from that epoch; the best ones are from before it. A smaller `lr` usually "
            "helps.",
        ]
    return "\n".join(lines)


def _results(summary: dict) -> str:
    final, best = summary.get("final", {}), summary.get("best", {})
    rows = []
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if metric not in final and metric not in best:
            continue
        percent = metric.endswith("accuracy")
        rows.append(
            [
                metric.replace("_", " "),
                _number(final.get(metric), percent),
                _number(best.get(metric), percent),
                best.get(f"{metric}_epoch", "–"),
            ]
        )
    return "## Results\n\n" + _table(["metric", "final", "best", "best at epoch"], rows)


def _queries(path: Path, dataset, net) -> str:
    """The query rows of predictions.csv: features, predicted class, probabilities."""
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.DictReader(f) if row["kind"] == "query"]
    except FileNotFoundError:
        return ""
    if not rows:
        return ""
    columns = list(rows[0])
    features = [c for c in columns if c in dataset.feature_names]
    # More than one output: one p_<class> column a class. One output: ``probability``
    # is P(last class).
    probabilities = [c for c in columns if c.startswith("p_")] or ["probability"]
    names = (
        [f"P({c[2:]})" for c in probabilities]
        if probabilities[0] != "probability"
        else [f"P({dataset.class_names[-1]})"]
    )
    if net.output_activation not in ("sigmoid", "softmax"):  # not probabilities
        names = [name.replace("P(", "output(") for name in names]
    table = [
        [
            row["name"],
            *(_number(row[c]) for c in features),
            row["predicted"],
            *(_number(row[c]) for c in probabilities),
        ]
        for row in rows
    ]
    return "## Query predictions\n\n" + _table(["query", *features, "predicted", *names], table)


def _plots(summary: dict) -> str:
    figures = summary.get("plots") or []
    if not figures:
        return ""
    parts = ["## Plots"]
    for name in figures:
        caption = CAPTIONS.get(name, Path(name).stem.replace("_", " "))
        if name.endswith(".html"):  # a page to open, not an image to show
            continue
        heading = caption
        if name == artifacts.LEARNING_GIF and artifacts.LEARNING_PAGE in figures:
            heading += f" ([play it step by step]({artifacts.LEARNING_PAGE}))"
        parts.append(f"### {heading}\n\n![{caption}]({name})")
    return "\n\n".join(parts)


def _settings(config: dict) -> str:
    if not config:
        return ""
    model, optimizer, data = (config.get(k, {}) for k in ("model", "optimizer", "dataset"))
    batch = optimizer.get("batch_size")
    rows = [
        ["dataset", data.get("name", "–")],
        ["optimizer", optimizer.get("name", "–")],
        ["learning rate", config.get("lr", "–")],
        ["epochs", config.get("epochs", "–")],
        ["batch size", "full batch" if batch is None else batch],
        ["loss", config.get("loss", "–")],
        ["initialisation", model.get("init", "–")],
        ["seed", config.get("seed", "–")],
        ["random generator", config.get("rng", "–")],
        ["dtype", config.get("dtype", "–")],
    ]
    if data.get("val_fraction"):
        rows.insert(1, ["validation fraction", data["val_fraction"]])
    return (
        "## Settings\n\n"
        + _table(["setting", "value"], rows)
        + f"\n\nThe full configuration is in `{artifacts.SUMMARY}` and `{artifacts.HYDRA_CONFIG}`."
    )


def _reproduce(summary: dict) -> str:
    versions = summary.get("versions", {})
    made_with = ", ".join(f"{name} {v}" for name, v in versions.items())
    commit = summary.get("git_commit") or "unknown"
    return (
        "## Reproduce\n\n"
        f"```sh\n{summary.get('command', 'python -m nnexp')}\n```\n\n"
        f"Seed {summary.get('seed', summary.get('config', {}).get('seed', '–'))}; "
        f"{made_with or 'versions unknown'}; nnexp commit `{commit}`."
    )
