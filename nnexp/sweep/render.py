"""The sweep report as Markdown and as one HTML page: pure functions of a ``Page`` (the
collected table, its settings, the best one and the drawn figures), so the same page
can be rendered at the end of a sweep, by ``nnexp report`` or while a sweep runs.

Order, on both: the answer (the best setting, how it was chosen, its spread over seeds,
the counts), the plots, the decision boundaries of every setting (2-D datasets), the
settings table (aggregated over seeds), the per-job table (collapsed), the configuration
every job shared, and the command that reruns the sweep.

Links are relative paths only (percent-quoted, ``./`` in front); every text that came
from a folder, an override or an error is escaped, in Markdown as in HTML. The HTML page
is one file: CSS, script and figures inlined; the boundary thumbnails are the run
folders' own ``decision_boundary.png``, linked relatively.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from .figures import caption, fmt, heatmap_grid, same
from .resume import SWEEP_CONFIG
from .table import STATUS_RANK, Sweep, counts, describe_objective, href, jobs_by_setting


@dataclass
class Page:
    """Everything a report shows. ``errors``: figure name -> why it was not drawn."""

    sweep: Sweep
    settings: pd.DataFrame
    best: dict | None
    images: dict[str, bytes] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"Sweep report: {self.sweep.dir.name}"


# --- words shared by both formats ------------------------------------------------------


def setting_words(values: dict) -> str:
    """``lr=0.1 activation=tanh``. A parameter the setting's jobs left at its default (in
    a folder of several sweeps, one that did not set it) is not shown as ``epochs=``."""
    words = [f"{k}={fmt(v)}" for k, v in values.items() if fmt(v) != ""]
    return " ".join(words) or "the only setting"


def _boundary_run(sweep) -> str:
    """Whose decision boundary a setting shows: its best seed's, or its one run's."""
    return "best seed" if sweep.seeded else "run"


def _percent(value) -> str:
    return "" if value is None or not np.isfinite(value) else f"{100 * value:.1f}%"


def how_chosen(page: Page) -> str:
    sweep, top = page.sweep, page.best
    total = len(page.settings)
    eligible = int(page.settings.complete.sum())
    what = describe_objective(sweep.objective)
    over = " averaged over its seeds" if sweep.seeded else ""
    text = (
        f"Chosen by the lowest {what}{over} (`{sweep.short}` on the plots) among the "
        f"{eligible} of {total} setting{'s' if total != 1 else ''} whose "
        f"{'seeds all' if sweep.seeded else 'job'} finished ok"
    )
    if eligible < total:
        text += "; a setting with a diverged, failed or unfinished job is not eligible"
    text += ". Lower is better."
    if top is not None and top["provisional"]:
        text = (
            "No setting has finished all its jobs ok yet: this is the best so far among "
            f"settings with some jobs finished ok ({top['ok']} of {top['seeds']}), by "
            f"the mean {what}. Provisional."
        )
    return text


def answer_words(page: Page) -> tuple[str, str]:
    """-> (the best setting as plain words, the numbers that go with it)."""
    sweep, top = page.sweep, page.best
    if top is None:
        ok = int((sweep.table.status == "ok").sum())
        if ok:
            return "", f"{ok} job(s) finished ok, none with a finite objective."
        return "", "No job has finished ok yet."
    setting = setting_words(top["settings"])
    if sweep.seeded and top["seeds"] > 1:
        spread = "" if not np.isfinite(top["std"]) else f" ± {fmt(top['std'])}"
        numbers = (
            f"{sweep.short} {fmt(top['objective'])}{spread} (mean ± std over "
            f"{top['ok']} seeds; min {fmt(top['min'])}, max {fmt(top['max'])})"
        )
    else:
        numbers = f"{sweep.short} {fmt(top['objective'])} (job {top['job']})"
    if np.isfinite(top["accuracy"]):
        numbers += f", accuracy {_percent(top['accuracy'])}"
    return setting, numbers


def _warnings(page: Page) -> list[str]:
    """Plain-text warnings: losses that are not one scale, figures that failed."""
    found = []
    losses = unlike_losses(page.sweep)
    if losses:
        found.append(
            f"The jobs train with different losses ({', '.join(losses)}), whose values are "
            f"not on one scale: ranking them by {page.sweep.short} compares unlike numbers. "
            "Compare their accuracy instead."
        )
    return found + [
        f"The figure {name} could not be drawn ({error}); the rest of the report is complete."
        for name, error in page.errors.items()
    ]


def unlike_losses(sweep) -> list[str]:
    """The loss functions a sweep's jobs trained with, when it swept more than one: a
    summed loss (sse) against an averaged one (bce), or losses of unlike kinds, have
    values that no ranking can compare. [] otherwise."""
    if "loss" not in sweep.settings or "loss" not in sweep.table:
        return []
    names = sorted({str(v) for v in sweep.table["loss"].dropna()})
    return names if len(names) > 1 else []


def settings_display(page: Page) -> pd.DataFrame:
    """The settings table as shown: rank, the setting, how its jobs ended, the objective
    over seeds and the accuracy; the job numbers last."""
    s, sweep = page.settings, page.sweep
    frame = pd.DataFrame({"rank": s["rank"]})
    for k in sweep.settings:
        frame[k] = s[k]
    seeded = sweep.seeded
    frame["seeds" if seeded else "jobs"] = s["jobs"]
    for status in STATUS_RANK:
        if status == "ok" or s[status].any():
            frame[status] = s[status]
    frame[f"{sweep.short} mean" if seeded else sweep.short] = s["mean"]
    if seeded:
        frame["std"] = s["std"]
        frame["min"] = s["min"]
        frame["max"] = s["max"]
    frame["accuracy"] = s["accuracy"]
    frame["job numbers"] = [
        " ".join("" if j is None else str(j) for j in jobs) for jobs in s["job_list"]
    ]
    return frame


def jobs_display(page: Page) -> pd.DataFrame:
    """The jobs in the settings' order, the columns a reader wants."""
    sweep = page.sweep
    table = jobs_by_setting(sweep, page.settings)
    metrics = [c for c in table if c.startswith("final_")] + [
        c for c in ("best_val_loss", "best_loss") if c in table
    ][:1]
    columns = ["job", *sweep.swept, "status", "objective", *metrics]
    columns += ["epochs_completed", "seconds", "error", "run_dir"]
    frame = table[columns].rename(columns={"epochs_completed": "epochs"})
    if frame.error.isna().all():
        frame = frame.drop(columns="error")
    return frame


def boundary_cells(page: Page) -> tuple[list | None, list | None, list[dict]]:
    """The decision-boundary thumbnails: (row values, column values, cells) laid out as
    the heatmap when there is one (cells row by row, None where no setting), else
    (None, None, cells in the settings' order). A cell: setting words, image, link,
    objective, best. Empty when no job left a decision_boundary.png."""
    sweep = page.sweep
    if not sweep.boundaries:
        return None, None, []
    best_dir = page.best["run_dir"] if page.best else None
    cells = []
    for _, row in page.settings.iterrows():
        image = next((d for d in row.run_dirs if d in sweep.boundaries), None)
        cells.append(
            {
                "values": {k: row[k] for k in sweep.settings},
                "words": setting_words({k: row[k] for k in sweep.settings}),
                "image": sweep.boundaries.get(image) if image else None,
                "link": sweep.links.get(image) if image else None,
                "objective": row["mean"],
                "best": best_dir is not None and best_dir in row.run_dirs,
            }
        )
    grid = heatmap_grid(sweep)
    if grid is None:
        return None, None, cells
    rows, cols = grid
    a, b = sweep.settings
    laid: list = []
    for ra in rows:
        for cb in cols:
            laid.append(
                next(
                    (c for c in cells if same(c["values"][a], ra) and same(c["values"][b], cb)),
                    None,
                )
            )
    return rows, cols, laid


def _shared_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shared_value(v) for v in value) + "]"
    if value is None:
        return "null"
    return fmt(value)


# --- Markdown --------------------------------------------------------------------------


def md_text(text: str) -> str:
    """Text from outside (a folder, an override, an error) made inert in Markdown: HTML
    characters as entities, Markdown's punctuation backslashed, one line."""
    text = html.escape(str(text), quote=False).replace("\n", " ").replace("\r", " ")
    return re.sub(r"([\\`*_\[\]|#!~])", r"\\\1", text)


def md_code(text: str) -> str:
    """A code span that holds any text: fenced with more backticks than it contains."""
    text = str(text).replace("\n", " ")
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_link(text: str, relative: str | None) -> str:
    return md_text(text) if relative is None else f"[{md_text(text)}]({href(relative)})"


def _md_table(frame: pd.DataFrame, cell=None) -> str:
    cell = cell or (lambda column, row: md_text(fmt(row[column])))
    lines = [
        "| " + " | ".join(md_text(str(c)) for c in frame.columns) + " |",
        "| " + " | ".join("---" for _ in frame.columns) + " |",
    ]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(cell(c, row) for c in frame.columns) + " |")
    return "\n".join(lines)


def _md_jobs(page: Page) -> str:
    marks = {"failed": "**{}**", "diverged": "*{}*", "incomplete": "_{}_"}
    links = page.sweep.links
    frame = jobs_display(page)

    def cell(column, row):
        text = md_text(fmt(row[column]))
        if column == "job":
            return md_link(fmt(row[column]), links.get(row.run_dir))
        if column == "status" and text in marks:
            return marks[text].format(text)
        return text

    return _md_table(frame, cell)


def _md_settings(page: Page) -> str:
    frame = settings_display(page)
    links = page.sweep.links
    s = page.settings

    def cell(column, row):
        if column == "job numbers":
            jobs, dirs = s.job_list[row.name], s.run_dirs[row.name]
            return " ".join(
                md_link("" if j is None else str(j), links.get(d)) for j, d in zip(jobs, dirs)
            )
        if column == "accuracy":
            return _percent(row[column])
        return md_text(fmt(row[column]))

    return _md_table(frame, cell)


def _md_boundaries(page: Page) -> str | None:
    rows, cols, cells = boundary_cells(page)
    if not cells or not any(c and c["image"] for c in cells):
        return None

    def thumb(c) -> str:
        # Markdown's own image and link: a reader shows them as any other image, and the
        # paths are percent-quoted (href), so no bracket or parenthesis can end them early.
        if c is None or c["image"] is None:
            return ""
        img = f"![{md_text(c['words'])}]({href(c['image'])})"
        return f"[{img}]({href(c['link'])})" if c["link"] else img

    if rows is not None and cols is not None:
        a, b = page.sweep.settings
        frame_head = [f"{a} \\ {b}", *(fmt(v) for v in cols)]
        lines = [
            "| " + " | ".join(md_text(h) for h in frame_head) + " |",
            "| " + " | ".join("---" for _ in frame_head) + " |",
        ]
        for i, ra in enumerate(rows):
            row_cells = cells[i * len(cols) : (i + 1) * len(cols)]
            lines.append(
                "| " + " | ".join([md_text(fmt(ra)), *(thumb(c) for c in row_cells)]) + " |"
            )
        return "\n".join(lines)
    width = min(6, len(cells))
    lines = ["| " + " | ".join("" for _ in range(width)) + " |"]
    lines.append("| " + " | ".join("---" for _ in range(width)) + " |")
    for start in range(0, len(cells), width):
        chunk = cells[start : start + width]
        pics = [f"{thumb(c)} {md_text(c['words'])}" for c in chunk]
        lines.append("| " + " | ".join(pics + [""] * (width - len(chunk))) + " |")
    return "\n".join(lines)


def _command_notes(sweep: Sweep) -> list[str]:
    notes = []
    if sweep.unsafe:
        notes.append(
            "Left out of this command: "
            + ", ".join(md_code(u) for u in sweep.unsafe)
            + ". The sweep overrode `hydra.callbacks`, which makes Hydra run code the "
            "command chose (it can write any file); add them back only if you trust them."
        )
    notes.append(
        "Running it again resumes the sweep in this folder: finished jobs are skipped, "
        "unfinished and failed ones run. Leave out `hydra.sweep.dir` to run the sweep "
        "afresh in a new folder."
    )
    return notes


def markdown(page: Page) -> str:
    sweep = page.sweep
    setting, numbers = answer_words(page)
    # the setting's words came from overrides: escaped; the numbers are nnexp's own
    answer = f"**{md_text(setting)}**: {numbers}." if setting else numbers
    parts = [
        f"# {md_text(page.title)}",
        "## Answer",
        answer,
        how_chosen(page) if page.best else "",  # nnexp's own words and numbers
        md_text(counts(sweep.table, sweep.expected)) + ".",
        *(f"> **Warning**: {md_text(w)}" for w in _warnings(page)),
    ]
    if page.images:
        parts.append("## Plots")
        parts += [f"![{md_text(caption(name, sweep))}]({href(name)})" for name in page.images]
    boundaries = _md_boundaries(page)
    if boundaries:
        parts += [
            "## Decision boundaries",
            f"Each setting's {_boundary_run(sweep)}; click for its run.",
            boundaries,
        ]
    parts += [
        "## Settings" + (" across seeds" if sweep.seeded else "") + ", best first",
        _md_settings(page),
        "## Jobs",
        f"<details><summary>{len(sweep.table)} jobs, in the settings' order</summary>",
        "Failed, diverged and incomplete jobs are marked; `incomplete` means the job was "
        "interrupted or is still running.",
        _md_jobs(page),
        "</details>",
    ]
    if sweep.shared:
        frame = pd.DataFrame(
            {
                "option": list(sweep.shared),
                "value": [_shared_value(v) for v in sweep.shared.values()],
            }
        )
        parts += ["## Configuration every job shared", _md_table(frame)]
    parts.append("## Reproduce")
    if sweep.command is None:
        parts.append(f"Unknown: the folder has no {SWEEP_CONFIG}.")
    else:
        notes = _command_notes(sweep)
        if sweep.unsafe:
            parts.append(f"> **Warning**: {notes[0]}")
        fence = "```" + "`" * max((len(m) for m in re.findall(r"`+", sweep.command)), default=0)
        parts += [f"{fence}\n{sweep.command}\n{fence}", notes[-1]]
    return "\n\n".join(p for p in parts if p) + "\n"


# --- HTML ------------------------------------------------------------------------------


@cache
def asset(name: str) -> str:
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def _sort_value(value) -> str | None:
    """A number as the script sorts it; None for text."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if np.isnan(v):
            return ""
        return "Infinity" if v == np.inf else "-Infinity" if v == -np.inf else repr(v)
    if value is None or value is pd.NA:
        return ""
    return None


WIDE = {"error": "error", "job numbers": "jobs"}  # columns whose text wraps


def _html_table(
    frame: pd.DataFrame, table_id: str, row_classes: list[str] | None = None, cells=None
) -> str:
    """A sortable, filterable table in a scrolling box. ``cells``: column -> function
    (row index, row) -> inner HTML (escaped by the function), for linked columns."""
    cells = cells or {}
    numeric = {
        c: all(_sort_value(v) is not None for v in frame[c]) and c not in cells for c in frame
    }
    head = "".join(
        f'<th class="{"num" if numeric[c] else "text"}" scope="col">{esc(c)}</th>'
        for c in frame.columns
    )
    body = []
    for i, (index, row) in enumerate(frame.iterrows()):
        tds = []
        for column in frame.columns:
            value = row[column]
            sort = _sort_value(value)
            attrs = f' data-v="{esc(sort)}"' if sort is not None else ""
            inner = cells[column](index, row) if column in cells else esc(fmt(value))
            kind = "" if sort is not None else ' class="text"'
            if column in WIDE:
                kind = f' class="{WIDE[column]}"'
            tds.append(f"<td{attrs}{kind}>{inner}</td>")
        cls = f' class="{esc(row_classes[i])}"' if row_classes else ""
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    count = f"{table_id}-count"
    return (
        f'<div class="tools"><input class="filter" type="search" data-table="{table_id}" '
        f'data-count="{count}" placeholder="filter rows: type any words" '
        f'aria-label="filter rows"><span class="muted" id="{count}"></span></div>'
        f'<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _a(text: str, relative: str | None) -> str:
    return esc(text) if relative is None else f'<a href="{esc(href(relative))}">{esc(text)}</a>'


def _html_answer(page: Page) -> str:
    sweep = page.sweep
    setting, numbers = answer_words(page)
    tally = sweep.table.status.value_counts()
    badges = "".join(
        f'<span class="{s}">{int(tally[s])} {s}</span>' for s in STATUS_RANK if s in tally
    )
    not_started = ""
    if sweep.expected and sweep.expected > len(sweep.table):
        not_started = (
            f'<span class="incomplete">{sweep.expected - len(sweep.table)} not started</span>'
        )
    parts = ['<div class="card answer">']
    if setting:
        link = sweep.links.get(page.best["run_dir"]) if page.best else None
        parts.append(f'<div class="setting"><code>{esc(setting)}</code></div>')
        parts.append(
            f"<p>{esc(numbers)}." + (f" Best run: {_a('its page', link)}." if link else "") + "</p>"
        )
        parts.append(f'<p class="muted">{_inline_code(how_chosen(page))}</p>')
    else:
        parts.append(f"<p>{esc(numbers)}</p>")
    parts.append(f'<div class="badges">{badges}{not_started}</div>')
    parts.append("</div>")
    parts += [f'<div class="warn">{esc(w)}</div>' for w in _warnings(page)]
    return "\n".join(parts)


def _inline_code(text: str) -> str:
    pieces = esc(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _html_boundaries(page: Page) -> str | None:
    rows, cols, cells = boundary_cells(page)
    if not cells or not any(c and c["image"] for c in cells):
        return None

    def thumb(c) -> str:
        if c is None:
            return '<div class="missing">not run</div>'
        tip = f"{c['words']}: {fmt(c['objective']) or 'no finite objective'}"
        if c["image"] is None:
            return f'<div class="missing" title="{esc(tip)}">no figure</div>'
        img = f'<img src="{esc(href(c["image"]))}" alt="{esc(c["words"])}">'
        best = ' class="best"' if c["best"] else ""
        label = esc(fmt(float(f"{c['objective']:.3g}")) if np.isfinite(c["objective"]) else "")
        if c["link"]:
            return f'<a{best} href="{esc(href(c["link"]))}" title="{esc(tip)}">{img}{label}</a>'
        return f'<a{best} title="{esc(tip)}">{img}{label}</a>'

    if rows is not None and cols is not None:
        a, b = page.sweep.settings
        style = f"grid-template-columns: max-content repeat({len(cols)}, minmax(70px, 150px));"
        items = [f'<div class="head">{esc(a)} \\ {esc(b)}</div>']
        items += [f'<div class="head">{esc(fmt(v))}</div>' for v in cols]
        for i, ra in enumerate(rows):
            items.append(f'<div class="head">{esc(fmt(ra))}</div>')
            items += [thumb(c) for c in cells[i * len(cols) : (i + 1) * len(cols)]]
    else:
        style = "grid-template-columns: repeat(auto-fill, minmax(120px, 1fr));"
        items = [
            thumb(c).replace("</a>", f"<br>{esc(c['words'])}</a>", 1) if c["image"] else thumb(c)
            for c in cells
        ]
    return f'<div class="thumbs" style="{style}">{"".join(items)}</div>'


def _html_config(sweep: Sweep) -> str:
    items = "".join(
        f"<dt>{esc(k)}</dt><dd>{esc(_shared_value(v))}</dd>" for k, v in sweep.shared.items()
    )
    return f'<div class="card"><dl class="config">{items}</dl></div>'


def html_page(page: Page) -> str:
    sweep = page.sweep
    sections: list[tuple[str, str, str]] = [("answer", "Answer", _html_answer(page))]
    if page.images:
        figures = []
        for name, data in page.images.items():
            encoded = base64.b64encode(data).decode("ascii")
            words = esc(caption(name, sweep))
            # embedded, so the page is one file; the caption links the full-size PNG
            figures.append(
                f'<figure><img src="data:image/png;base64,{encoded}" alt="{words}">'
                f'<figcaption>{words} (<a href="{esc(href(name))}">{esc(name)}</a>)'
                "</figcaption></figure>"
            )
        sections.append(("plots", "Plots", "\n".join(figures)))
    boundaries = _html_boundaries(page)
    if boundaries:
        order = "laid out as the heatmap" if heatmap_grid(sweep) else "best first"
        sections.append(
            (
                "boundaries",
                "Decision boundaries",
                f'<p class="muted">Every setting\'s {_boundary_run(sweep)}, {order}; the winner outlined '
                "in red; click one for its run.</p>" + boundaries,
            )
        )
    links = sweep.links
    s = page.settings
    settings_cells = {
        "job numbers": lambda i, row: " ".join(
            _a("" if j is None else str(j), links.get(d))
            for j, d in zip(s.job_list[i], s.run_dirs[i])
        ),
        "accuracy": lambda i, row: esc(_percent(row["accuracy"])),
    }
    settings = settings_display(page)
    best_rank = 1 if page.best is not None else 0
    settings_classes = ["best" if r == best_rank else "" for r in settings["rank"]]
    sections.append(
        (
            "settings",
            "Settings" + (" across seeds" if sweep.seeded else ""),
            '<p class="muted">Best first; click a column to sort, type to filter.</p>'
            + _html_table(settings, "settings-table", settings_classes, settings_cells),
        )
    )
    jobs = jobs_display(page)
    best_dir = page.best["run_dir"] if page.best else None
    classes = [st + (" best" if d == best_dir else "") for st, d in zip(jobs.status, jobs.run_dir)]
    job_cells = {"job": lambda i, row: _a(fmt(row.job), links.get(row.run_dir))}
    sections.append(
        (
            "jobs",
            "Jobs",
            f"<details><summary>{len(jobs)} jobs, in the settings' order (click to open)"
            '</summary><p class="muted">Failed (red), diverged (yellow) and incomplete '
            "(grey, interrupted or still running) jobs are marked; the job number opens its "
            "run's page.</p>" + _html_table(jobs, "jobs-table", classes, job_cells) + "</details>",
        )
    )
    if sweep.shared:
        sections.append(("config", "Configuration every job shared", _html_config(sweep)))
    if sweep.command is None:
        reproduce = f"<p>Unknown: the folder has no {esc(SWEEP_CONFIG)}.</p>"
    else:
        notes = _command_notes(sweep)
        reproduce = f"<pre><code>{esc(sweep.command)}</code></pre>"
        if sweep.unsafe:
            reproduce = (
                '<div class="warn">Left out of this command: '
                + ", ".join(f"<code>{esc(u)}</code>" for u in sweep.unsafe)
                + ". The sweep overrode <code>hydra.callbacks</code>, which makes Hydra run "
                "code the command chose (it can write any file); add them back only if you "
                "trust them.</div>" + reproduce
            )
        reproduce += f"<p>{_inline_code(notes[-1])}</p>"
    sections.append(("reproduce", "Reproduce", reproduce))
    nav = "".join(f'<a href="#{key}">{esc(name)}</a>' for key, name, _ in sections)
    body = "\n".join(
        f'<section id="{key}"><h2>{esc(name)}</h2>\n{content}</section>'
        for key, name, content in sections
    )
    lead = (
        f'<p class="muted">{esc(counts(sweep.table, sweep.expected))}. Objective: '
        f"{esc(describe_objective(sweep.objective))} (<code>{esc(sweep.short)}</code>), "
        "lower is better.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(page.title)}</title><style>{asset('report.css')}</style></head>\n<body>\n"
        f'<nav class="contents"><strong>{esc(page.title)}</strong>{nav}</nav>\n<main>\n'
        f"<h1>{esc(page.title)}</h1>{lead}\n{body}\n</main>\n"
        f"<script>{asset('report.js')}</script>\n</body></html>\n"
    )
