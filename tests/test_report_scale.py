"""The sweep report at the sizes where it used to stop being readable: a 36-job grid,
a 180-job seed × learning-rate sweep, 12 categorical values; and the report-building
benchmark on a tiny budget. Synthetic run folders (benchmarks/report_build.py), so the
sizes cost no training."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import report_build  # noqa: E402

from nnexp.sweep import figures, report, table  # noqa: E402


@pytest.mark.slow
def test_a_36_job_grid_gets_a_panel_a_setting_a_heatmap_and_boundaries_in_its_order(tmp_path):
    lrs = ["0.001", "0.003", "0.01", "0.03", "0.1", "0.3"]
    widths = ["[2]", "[4]", "[8]", "[16]", "[32]", "[64]"]
    sweep = report_build.grid_sweep(tmp_path / "s", {"lr": lrs, "model.hidden": widths})
    built = report.build(sweep)
    assert not built.sweep.search and len(built.sweep.table) == 36
    assert set(built.page.images) == {"curves.png", "final_metrics.png", "heatmap.png"}
    swept = built.sweep
    settings = table.settings_table(swept)
    curves = figures.curves_figure(swept, settings)
    panels = [ax for ax in curves.axes if ax.get_visible()]
    assert len(panels) == 36
    # Ranked "1.", not "#1": "#N" names job N's folder everywhere else (found: panel
    # "#1 lr=1 activation=tanh" was job 7's, and job 1 another setting).
    assert panels[0].get_title(loc="left").startswith("1. lr=0.001 model.hidden=[2]")
    assert "best first" in curves._suptitle.get_text()
    heatmap = figures.heatmap_figure(swept, settings).axes[0]
    assert heatmap.images[0].get_array().shape == (6, 6)
    page = (sweep / "report.html").read_text()
    thumbs = page.split('<div class="thumbs"')[1].split("</section>")[0]
    order = [int(n) for n in re.findall(r'src="\./(\d+)/decision_boundary\.png"', thumbs)]
    assert order == list(range(36))  # row by row: lr ascending, then widths in order


@pytest.mark.slow
def test_a_180_job_seed_by_lr_sweep_opens_with_the_answer_and_a_settings_table(tmp_path):
    sweep = report_build.seed_lr_sweep(tmp_path / "s", jobs=180, rows=20, seeds=10)
    built = report.build(sweep)
    assert built.sweep.seeded and len(built.sweep.table) == 180
    text = (sweep / "report.md").read_text()
    assert text.index("## Answer") < text.index("## Plots") < text.index("## Settings")
    assert "175 ok, 4 diverged, 1 failed" in text
    settings = text.split("## Settings across seeds, best first")[1].split("## Jobs")[0]
    assert len(re.findall(r"^\| \d+ \|", settings, flags=re.M)) == 18
    jobs = text.split("## Jobs")[1]
    assert jobs.index("<details>") < jobs.index("| job |") < jobs.index("</details>")
    assert len(re.findall(r"^\| \[?\d+", jobs, flags=re.M)) == 180
    top = built.best
    assert top["seeds"] == 10 and not top["provisional"]
    assert "among the 16 of 18 settings whose seeds all finished ok" in text
    curves = figures.curves_figure(built.sweep, table.settings_table(built.sweep))
    assert len([ax for ax in curves.axes if ax.get_visible()]) == 18


@pytest.mark.slow
def test_twelve_categorical_values_are_strips_with_a_tick_each(tmp_path):
    activations = [f"act{n}" for n in range(12)]
    sweep = report_build.grid_sweep(tmp_path / "s", {"activation": activations}, seeds=3, rows=10)
    built = report.build(sweep)
    swept = built.sweep
    fig = figures.final_figure(swept, table.settings_table(swept))
    ticks = [t.get_text() for t in fig.axes[1].get_xticklabels()]  # the bottom panel
    assert ticks == activations
    assert "final_metrics.png" in built.page.images


def test_the_report_building_benchmark_runs_on_a_tiny_budget(capsys):
    assert report_build.main(["--jobs", "20", "--rows", "10", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    row = re.search(
        r"\| report build, 20 jobs × 10 rows \| ([\d.]+) s \| goal < 3 s \| (met|NOT met) \|", out
    )
    assert row and float(row.group(1)) > 0, out


@pytest.mark.slow
def test_200_jobs_build_every_file(tmp_path):
    # Speed is the benchmark's claim (benchmarks/report_build.py), never a timed test.
    sweep = report_build.seed_lr_sweep(tmp_path / "s", jobs=200, rows=500)
    report.build(sweep)
    for name in ("summary.csv", "report.md", "report.html"):
        assert (sweep / name).is_file(), name
