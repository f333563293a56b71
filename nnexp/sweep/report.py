"""A sweep folder -> ``summary.csv``, its figures, ``report.md`` and ``report.html``;
and ``nnexp report SWEEP_DIR``, which rebuilds them at any time.

The work is split by what it needs: ``table`` reads the run folders into one table of
jobs and aggregates settings over seeds (pandas), ``figures`` draws from that table
(Matplotlib), ``render`` turns both into Markdown and HTML (pure functions of the
collected table, so a page can be rendered mid-sweep). This module writes the files,
each atomically; a figure that fails is logged, named in the report, and the rest of
the report is written all the same.

The sweep folder gets:

- ``summary.csv``: one row per job, by job number: ``job``, one column per swept override
  (an override whose value differs between jobs, or that the sweep's command swept),
  ``status`` (ok, diverged, failed, incomplete), ``objective``, final and best loss and
  accuracy (and their validation twins when a split was held out), epochs completed,
  the epoch of divergence, training seconds, the error of a failed job and the run
  folder relative to the sweep folder (so two launchers give the same table).
- the figures of ``figures`` (a grid's, or a search's);
- ``report.md`` and ``report.html``.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..run import artifacts
from ..run.usage import Parser
from . import figures, render
from .figures import CAPTIONS, fmt
from .render import Page
from .table import (
    REPORT_HTML,
    REPORT_MD,
    SUMMARY_CSV,
    ReportError,
    Sweep,
    best,
    collect,
    counts,
    describe_objective,
    parse_overrides,
    ranked,
    settings_table,
)

log = logging.getLogger("nnexp")


__all__ = [
    "CAPTIONS",
    "REPORT_HTML",
    "REPORT_MD",
    "SUMMARY_CSV",
    "Report",
    "ReportError",
    "Sweep",
    "best",
    "build",
    "collect",
    "describe_objective",
    "main",
    "page",
    "parse_overrides",
    "ranked",
    "settings_table",
]


def page(sweep: Sweep) -> Page:
    """Everything the reports show, figures drawn (in memory), nothing written."""
    settings = settings_table(sweep)
    drawn = figures.draw(sweep, settings)
    return Page(sweep, settings, best(sweep, settings), drawn.images, drawn.errors)


@dataclass
class Report:
    page: Page
    paths: list[Path]
    seconds: float = 0.0

    @property
    def sweep(self) -> Sweep:
        return self.page.sweep

    @property
    def best(self) -> dict | None:
        return self.page.best

    def headline(self, seconds: float | None = None) -> str:
        took = "" if seconds is None else f" in {seconds:.1f} s"
        text = f"sweep{took}: {counts(self.sweep.table, self.sweep.expected)}"
        best = self.best
        if best is not None:
            value = f"{self.sweep.short} {fmt(best['objective'])}"
            if best["seeds"] > 1:
                value += f", mean of {best['seeds']} seeds"
            if best["provisional"]:
                value += ", provisional"
            if best["settings"]:
                text += f"; best {render.setting_words(best['settings'])} ({value})"
            else:  # a sweep of seeds alone: no "best the only setting (...)"
                text += f"; one setting: {value}"
        if render.unlike_losses(self.sweep):
            text += "; losses differ in scale: compare accuracy (see the report)"
        for name in self.page.errors:
            text += f"; figure {name} failed"
        return text + f"; report: {self.sweep.dir / REPORT_HTML}"


def write(result: Page) -> list[Path]:
    """Write summary.csv, the figures, report.md and report.html; remove a figure an
    earlier build left that this one did not draw (it would describe other jobs)."""
    folder = result.sweep.dir
    paths = [artifacts.write_frame(folder / SUMMARY_CSV, result.sweep.table)]
    for name in figures.ALL_NAMES:
        if name in result.images:
            paths.append(artifacts.write_bytes(folder / name, result.images[name]))
        else:
            (folder / name).unlink(missing_ok=True)
    paths.append(artifacts.write_text(folder / REPORT_MD, render.markdown(result)))
    paths.append(artifacts.write_text(folder / REPORT_HTML, render.html_page(result)))
    return paths


def build(sweep_dir: Path, config=None, before_writing=None) -> Report:
    """Write summary.csv, the figures, report.md and report.html into ``sweep_dir`` from
    its run folders. ``config``: the sweep's config, when the caller has it;
    ``before_writing``: called once everything is drawn, before any file is written."""
    started = time.perf_counter()
    result = page(collect(Path(sweep_dir), config))
    if before_writing is not None:
        before_writing()
    paths = write(result)
    return Report(result, paths, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="nnexp report",
        description="Rebuild a sweep folder's summary.csv, figures, report.md and "
        "report.html from its run folders (also for an interrupted or running sweep).",
    )
    parser.add_argument("sweep_dir", type=Path, help="the sweep folder (hydra.sweep.dir)")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"nnexp report: error: {args.sweep_dir} is not a folder", file=sys.stderr)
        return 2
    if (args.sweep_dir / artifacts.HYDRA_OVERRIDES).is_file():
        # A run's own folder: a sweep report there would replace its report and figures.
        print(
            f"nnexp report: error: {args.sweep_dir} is one run's folder, whose report is "
            f"its {REPORT_HTML}: nnexp report takes a sweep folder (outputs/multirun/"
            "<date>/<time>)",
            file=sys.stderr,
        )
        return 2
    try:
        report = build(args.sweep_dir)
    except ReportError as error:
        print(f"nnexp report: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A rename names its target second; the run folders are left as they were.
        path = getattr(error, "filename2", None) or error.filename or args.sweep_dir
        print(
            f"nnexp report: error: cannot write {path}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    print(report.headline())
    return 0


if __name__ == "__main__":
    sys.exit(main())
