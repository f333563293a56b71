"""A run's own pages, ``report.md`` and ``report.html``: what ran, how it went, its figures,
its query predictions and the command that reproduces it.

Both are rendered from one list of blocks (headings, paragraphs, tables, figures, code),
so they say the same thing; the HTML page is one small file that opens from disk, with
the figures linked relatively (no script, no CDN). Everything comes from the run's
summary (see ``execute.summarize`` and ``execute.provenance``) and from
``predictions.csv``, which is written before the pages; the pages are written before
``summary.json``, the file that marks the run finished.

Text that comes from outside nnexp (a dataset's, feature's, class's or query's name, an
override, an error message) is escaped in both: it shows as written and never acts as
Markdown or HTML.
"""

from __future__ import annotations

import csv
import html
import math
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ..core.losses import LOSSES
from . import artifacts

REPORT = artifacts.REPORT
PAGE = artifacts.REPORT_HTML
# Captions for the figures ``figures.run_figures`` (and ``learning.write``) draw; any
# other file gets its own name.
CAPTIONS = {
    artifacts.CURVES: "Training curves",
    artifacts.BOUNDARY: "Decision boundary",
    artifacts.LEARNING_GIF: "Watch it learn",
}
MISSING = "—"  # a number that is not there, or not a number (a diverged network's NaN)
SETTING_CHARS = 72  # with the dataset name, what a 10-inch bold title holds


# --- blocks: what a page says, before it is Markdown or HTML ---------------------------


@dataclass
class Text:
    """Inline text: plain (escaped when rendered), bold, code, or a link to ``href`` (a
    file of the run folder, named by nnexp: never text from outside)."""

    text: str
    style: str = ""  # "", "b", "code" or "a"
    href: str = ""


Inline = list[Text]


@dataclass
class Block:
    kind: str  # h1, h2, h3, p, note, table, figure, code
    inline: Inline = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # table: column names (plain text)
    rows: list[list[str]] = field(default_factory=list)  # table: cells (plain text)
    numeric: list[bool] = field(default_factory=list)  # table: right-aligned columns
    src: str = ""  # figure: a file in the run folder; code: the code


def _plain(*parts: str | Text) -> Inline:
    return [p if isinstance(p, Text) else Text(p) for p in parts]


# --- formatting --------------------------------------------------------------------------


def _number(value, percent: bool = False) -> str:
    """Six significant digits (accuracies as percentages); infinities spelled out; a
    missing value, an empty cell or NaN as MISSING."""
    if value is None or value == "":
        return MISSING
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.2%}" if percent else f"{value:.6g}"


def short_setting(command: str, limit: int = SETTING_CHARS, dataset: str = "") -> str:
    """The overrides that made a run, short, for titles: ``python -m nnexp seed=7 lr=10``
    -> ``seed=7 lr=10``. Hydra's own overrides are left out, a path keeps its file name,
    ``dataset=DATASET`` too (for a title that names the dataset already), and past
    ``limit`` characters the rest is cut with "…". "" when nothing was set."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: the words as they are
        words = command.split()
    while words and "=" not in words[0]:  # python, -m, nnexp, flags
        words.pop(0)
    kept = []
    for word in words:
        key, _, value = word.partition("=")
        if key.lstrip("+~").startswith("hydra") or (dataset and word == f"dataset={dataset}"):
            continue
        if "/" in value and not value.startswith("["):
            value = value.rstrip("/").rsplit("/", 1)[-1]
        kept.append(f"{key}={value}" if _ else key)
    text = " ".join(kept)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- the page's content ------------------------------------------------------------------


def blocks(out_dir: Path, summary: dict, dataset, net) -> list[Block]:
    """Everything the run's pages say, in order."""
    return [
        *_header(summary, dataset, net),
        *_results(summary),
        *_queries(Path(out_dir) / artifacts.PREDICTIONS, dataset, net),
        *_figures(summary, dataset),
        *_settings(summary.get("config", {}), summary.get("resolved") or {}),
        *_reproduce(summary),
    ]


def _header(summary: dict, dataset, net) -> list[Block]:
    layers = "-".join(map(str, net.sizes))
    hidden = f"{net.activation} hidden layers" if net.hidden else "no hidden layer"
    seconds = summary.get("train_seconds")
    out = [
        Block("h1", _plain(f"{dataset.name}: {layers} network")),
        Block(
            "p",
            _plain(
                Text("Architecture:", "b"),
                f" layers {layers}, {hidden}, {net.output_activation} output, "
                f"{'with' if net.bias else 'no'} biases.",
            ),
        ),
    ]
    setting = short_setting(summary.get("command", ""), limit=10_000)
    if setting:
        out.append(Block("p", _plain(Text("Setting:", "b"), " ", Text(setting, "code"))))
    out.append(
        Block(
            "p",
            _plain(
                Text("Status:", "b"),
                f" {summary.get('status', 'unknown')}, "
                f"{summary.get('epochs_completed', '?')} epochs in "
                f"{f'{seconds:.3g}' if isinstance(seconds, (int, float)) else '?'} s of training.",
            ),
        )
    )
    kept = _kept_epoch(summary)
    if kept:
        out.append(Block("p", _plain(kept)))
    for warning in summary.get("warnings") or []:  # what the log warned of, said here too
        out.append(Block("note", _plain(Text("Warning:", "b"), f" {warning}")))
    if summary.get("status") == "diverged":
        final = summary.get("final", {}).get("loss")
        out.append(
            Block(
                "note",
                _plain(
                    Text(f"Diverged at epoch {summary.get('diverged_at')}:", "b"),
                    f" the loss became {_number(final)} and training stopped there. The "
                    "final numbers below are from that epoch; the best ones are from before "
                    "it. A smaller ",
                    Text("lr", "code"),
                    " usually helps.",
                ),
            )
        )
    failed = summary.get("figure_errors") or {}
    if failed:
        parts: list[str | Text] = [Text("Not drawn:", "b"), " "]
        for i, (name, error) in enumerate(failed.items()):
            parts += [("; " if i else ""), Text(name, "code"), f" ({error})"]
        parts.append(". The run's numbers, model and predictions are complete.")
        out.append(Block("note", _plain(*parts)))
    return out


def _kept_epoch(summary: dict) -> str | None:
    """How training ended, when the final numbers are not simply the last epoch's: an
    early stop, and the weights of an earlier (the best) epoch kept."""
    best, stopped = summary.get("best_epoch"), summary.get("stopped_at")
    restored = summary.get("restored_best") and best is not None and best != stopped
    kept = (
        f" The weights kept, and the final numbers below, are epoch {best}'s, its best "
        f"{summary.get('monitor', 'loss')}."
        if restored
        else ""
    )
    if summary.get("stop_reason") == "early_stopping":
        return f"Stopped early at epoch {stopped}: {summary.get('stop_message')}.{kept}"
    return kept.strip() or None


def _results(summary: dict) -> list[Block]:
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
                str(best.get(f"{metric}_epoch", MISSING)),
            ]
        )
    out = [
        Block("h2", _plain("Results")),
        Block(
            "table",
            header=["metric", "final", "best", "best at epoch"],
            rows=rows,
            numeric=[False, True, True, True],
        ),
    ]
    floor = summary.get("majority")
    if isinstance(floor, dict) and "accuracy" in floor:
        # The accuracy to beat: on 95/5 classes, 95 % is what answering "no" always scores.
        where = [f"{_number(floor['accuracy'], True)} on the training rows"]
        if "val_accuracy" in floor:
            where.insert(0, f"{_number(floor['val_accuracy'], True)} on the validation rows")
        out.append(
            Block(
                "p",
                _plain(
                    "Always answering the most common class, ",
                    Text(str(floor.get("class")), "code"),
                    f", scores {' and '.join(where)}: the accuracy to beat.",
                ),
            )
        )
    return out


def _query_columns(header: list[str], d: int) -> tuple[list[int], list[int]]:
    """(feature column indexes, probability column indexes) of predictions.csv with ``d``
    features, by position (see ``artifacts.predictions_frame``): a feature may be called
    ``p_a``, ``name`` or ``probability``, so names alone would mix them up."""
    features = list(range(2, 2 + d))  # after kind, name
    # After target: p_<class> a class when there are several outputs, then probability
    # and predicted; with one output, probability alone.
    probabilities = list(range(3 + d, len(header) - 2)) or [len(header) - 2]
    return features, probabilities


def _queries(path: Path, dataset, net) -> list[Block]:
    """The query rows of predictions.csv: features, predicted class, probabilities."""
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = [row for row in reader if row and row[0] == "query"]
    except (FileNotFoundError, StopIteration):
        return []
    if not rows:
        return []
    features, probabilities = _query_columns(header, len(dataset.feature_names))
    names = list(dataset.feature_names)
    # Several outputs: one p_<class> column a class. One output: ``probability`` is
    # P(last class).
    labels = (
        [f"P({c})" for c in dataset.class_names]
        if len(probabilities) > 1
        else [f"P({dataset.class_names[-1]})"]
    )
    if net.output_activation not in ("sigmoid", "softmax"):  # not probabilities
        labels = [label.replace("P(", "output(", 1) for label in labels]
    table = [
        [
            row[1],
            *(_number(row[i]) for i in features),
            row[-1] or MISSING,  # no class: the output was NaN
            *(_number(row[i]) for i in probabilities),
        ]
        for row in rows
    ]
    header_out = ["query", *names, "predicted", *labels]
    numeric = [False, *([True] * len(names)), False, *([True] * len(labels))]
    return [
        Block("h2", _plain("Query predictions")),
        Block("table", header=header_out, rows=table, numeric=numeric),
    ]


def _figures(summary: dict, dataset) -> list[Block]:
    drawn = summary.get("plots") or []
    if not drawn:
        return []
    out = [Block("h2", _plain("Plots"))]
    for name in drawn:
        caption = CAPTIONS.get(name, Path(name).stem.replace("_", " "))
        if name.endswith(".html"):  # a page to open, not an image to show
            continue
        heading = _plain(caption)
        if name == artifacts.LEARNING_GIF and artifacts.LEARNING_PAGE in drawn:
            link = Text("play it step by step", "a", artifacts.LEARNING_PAGE)
            heading += _plain(" (", link, ")")
        out += [Block("h3", heading), Block("figure", _plain(caption), src=name)]
        if name == artifacts.CURVES:
            out.append(Block("p", _plain(_curves_note(summary, dataset))))
    return out


def _curves_note(summary: dict, dataset) -> str:
    """What the curves figure plots, where it is not the numbers of the table above."""
    loss = (summary.get("config") or {}).get("loss")
    ranked = "validation loss" if "val_loss" in summary.get("final", {}) else "training loss"
    note = f"The ring and the dash-dot line mark the best epoch (lowest {ranked})."
    if loss in LOSSES and summed_over_rows(loss):
        rows = f"{len(dataset.X)} training"
        if dataset.X_val is not None:
            rows += f", {len(dataset.X_val)} validation"
        note = (
            f"{loss} is a sum over rows, so its curves are divided by each split's rows "
            f"({rows}) and read on one scale; the table above has the sums. " + note
        )
    return note


@cache
def summed_over_rows(loss: str) -> bool:
    """Whether ``loss`` grows with the number of rows (``sse``: half the summed squared
    error) rather than being a mean: asked of the loss itself, on one row and two."""
    one, two = (LOSSES[loss].value(np.ones((n, 1)), np.zeros((n, 1))) for n in (1, 2))
    return bool(np.isclose(two, 2.0 * one))


def loss_label(loss: str | None) -> str:
    """A loss's name on an axis: one summed over rows is plotted per row, and says so."""
    if loss is None or loss not in LOSSES:
        return "loss"
    return f"{loss} per row" if summed_over_rows(loss) else loss


def _settings(config: dict, resolved: dict) -> list[Block]:
    """The settings table; an option given as ``auto`` shows what it became (resolved:
    {"loss": "bce", ...}) as ``bce (auto)``."""
    if not config:
        return []
    model, optimizer, data = (config.get(k) or {} for k in ("model", "optimizer", "dataset"))

    def shown(value, option: str):
        return f"{resolved[option]} (auto)" if value == "auto" and option in resolved else value

    batch = optimizer.get("batch_size")
    rows = [
        ["dataset", data.get("name", MISSING)],
        ["optimizer", optimizer.get("name", MISSING)],
        ["learning rate", config.get("lr", MISSING)],
        ["epochs", config.get("epochs", MISSING)],
        ["batch size", "full batch" if batch is None else batch],
        ["loss", shown(config.get("loss", MISSING), "loss")],
        ["initialisation", shown(model.get("init", MISSING), "model.init")],
        ["seed", config.get("seed", MISSING)],
        ["random generator", config.get("rng", MISSING)],
        ["dtype", config.get("dtype", MISSING)],
    ]
    fraction = shown(data.get("val_fraction"), "dataset.val_fraction")
    if fraction and fraction != "0.0 (auto)":
        rows.insert(1, ["validation fraction", fraction])
    return [
        Block("h2", _plain("Settings")),
        Block(
            "table",
            header=["setting", "value"],
            rows=[[k, str(v)] for k, v in rows],
            numeric=[False, False],
        ),
        Block(
            "p",
            _plain(
                "The full configuration is in ",
                Text(artifacts.SUMMARY, "code"),
                " and ",
                Text(artifacts.HYDRA_CONFIG, "code"),
                ".",
            ),
        ),
    ]


def _reproduce(summary: dict) -> list[Block]:
    versions = summary.get("versions", {})
    made_with = ", ".join(f"{name} {v}" for name, v in versions.items())
    commit = summary.get("git_commit")
    seed = summary.get("seed", (summary.get("config") or {}).get("seed", MISSING))
    said = f"Seed {seed}; {made_with or 'versions unknown'}; "
    # An installed wheel has no commit to record: say why, not "commit unknown".
    provenance = (
        _plain(said + "nnexp commit ", Text(commit, "code"), ".")
        if commit
        else _plain(said + "nnexp installed, not run from a git checkout (no commit recorded).")
    )
    return [
        Block("h2", _plain("Reproduce")),
        Block("code", src=summary.get("command", "python -m nnexp")),
        Block("p", provenance),
    ]


# --- Markdown ----------------------------------------------------------------------------


def md_text(text: str) -> str:
    """Outside text made inert in Markdown: HTML characters as entities, Markdown's
    punctuation backslashed (an underscore inside a word, as in ``red_blue``, is no
    emphasis and stays as it is), one line."""
    text = html.escape(str(text), quote=False).replace("\n", " ").replace("\r", " ")
    return re.sub(r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\\g<0>", text)


def _md_fence(text: str, least: int) -> str:
    """More backticks than any run of them in ``text``, and at least ``least``."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(run + 1, least)


def _md_inline(parts: Inline) -> str:
    out = []
    for part in parts:
        if part.style == "code":
            text = part.text.replace("\n", " ")
            fence = _md_fence(text, 1)
            pad = " " if text.startswith("`") or text.endswith("`") else ""
            out.append(f"{fence}{pad}{text}{pad}{fence}")
        elif part.style == "b":
            out.append(f"**{md_text(part.text)}**")
        elif part.style == "a":
            out.append(f"[{md_text(part.text)}]({part.href})")
        else:
            out.append(md_text(part.text))
    return "".join(out)


def _md_block(block: Block) -> str:
    if block.kind in ("h1", "h2", "h3"):
        return "#" * int(block.kind[1]) + " " + _md_inline(block.inline)
    if block.kind == "p":
        return _md_inline(block.inline)
    if block.kind == "note":
        return "> " + _md_inline(block.inline)
    if block.kind == "table":
        lines = [
            "| " + " | ".join(md_text(c) for c in block.header) + " |",
            "|" + "---|" * len(block.header),
        ]
        lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if block.kind == "figure":
        return f"![{_md_inline(block.inline)}]({block.src})"
    if block.kind == "code":
        fence = _md_fence(block.src, 3)
        return f"{fence}sh\n{block.src}\n{fence}"
    raise ValueError(f"unknown block kind {block.kind!r}")


def markdown(page: list[Block]) -> str:
    return "\n\n".join(_md_block(b) for b in page) + "\n"


# --- HTML --------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;
max-width:62rem;margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0 .6rem}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1rem;margin:1rem 0 .3rem}
p{margin:.35rem 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
pre{background:#f6f8fa;border:1px solid #e2e2e2;padding:.6rem .8rem;overflow-x:auto;
white-space:pre-wrap;word-break:break-all}
.note{border-left:4px solid #d9822b;background:#fdf6ec;padding:.4rem .8rem;margin:.6rem 0}
.wide{overflow-x:auto}table{border-collapse:collapse;margin:.3rem 0}
th,td{border:1px solid #ddd;padding:.2rem .6rem;text-align:left;white-space:nowrap}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;border:1px solid #eee}
""".strip()


def _html_inline(parts: Inline) -> str:
    tags = {"b": "strong", "code": "code"}
    out = []
    for part in parts:
        text = html.escape(part.text)
        if part.style == "a":
            out.append(f'<a href="{html.escape(part.href)}">{text}</a>')
        else:
            out.append(f"<{tags[part.style]}>{text}</{tags[part.style]}>" if part.style else text)
    return "".join(out)


def _html_block(block: Block) -> str:
    if block.kind in ("h1", "h2", "h3"):
        return f"<{block.kind}>{_html_inline(block.inline)}</{block.kind}>"
    if block.kind == "p":
        return f"<p>{_html_inline(block.inline)}</p>"
    if block.kind == "note":
        return f'<p class="note">{_html_inline(block.inline)}</p>'
    if block.kind == "table":
        head = "".join(f"<th>{html.escape(c)}</th>" for c in block.header)
        numeric = block.numeric or [False] * len(block.header)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="num">{html.escape(c)}</td>' if n else f"<td>{html.escape(c)}</td>"
                for c, n in zip(row, numeric)
            )
            + "</tr>"
            for row in block.rows
        )
        return (
            f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )
    if block.kind == "figure":
        # A file of the run folder, linked relatively: the page opens from disk, and from
        # a sweep's report that links to <job>/report.html.
        src = html.escape(block.src)
        alt = html.escape("".join(p.text for p in block.inline))
        return f'<p><a href="{src}"><img src="{src}" alt="{alt}"></a></p>'
    if block.kind == "code":
        return f"<pre><code>{html.escape(block.src)}</code></pre>"
    raise ValueError(f"unknown block kind {block.kind!r}")


def page_html(page: list[Block]) -> str:
    title = "".join(p.text for p in page[0].inline) if page else "nnexp run"
    body = "\n".join(_html_block(b) for b in page)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


# --- writing -------------------------------------------------------------------------------

# The run's pages, by file name, each rendered from the same blocks.
RENDERERS = {REPORT: markdown, PAGE: page_html}


def write_report(out_dir: Path, summary: dict, dataset, net, name: str = REPORT) -> Path:
    """Write ``out_dir/<name>`` (``report.md`` or ``report.html``) atomically; -> its path."""
    out_dir = Path(out_dir)
    text = RENDERERS[name](blocks(out_dir, summary, dataset, net))
    return artifacts.write_text(out_dir / name, text)
