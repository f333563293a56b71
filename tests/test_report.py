"""The sweep report on sweep folders made by hand: what it reads from run folders, how
it groups jobs into settings and chooses the best, which figures it draws, the two
reports, and the ``nnexp report`` command that rebuilds them (also for an interrupted
sweep). One test per defect found by trying it, named by its reproduction."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli import nnexp
from omegaconf import OmegaConf

from nnexp.sweep import figures, render, report, table

BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _tiny_png()


def make_sweep(root: Path, task: list[str], extra: list[str] = ()) -> Path:
    """A sweep folder with the multirun.yaml Hydra's basic sweeper saves."""
    root.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(
        {
            "hydra": {
                "sweeper": {"_target_": BASIC, "params": None},
                "overrides": {
                    "hydra": [f"hydra.sweep.dir={root}", "hydra.mode=MULTIRUN", *extra],
                    "task": task,
                },
            }
        },
        root / "multirun.yaml",
    )
    return root


def make_job(
    sweep: Path,
    num: int,
    overrides: list[str],
    status: str | None = "ok",
    loss: float = 0.5,
    epochs: int = 10,
    val: bool = False,
    error: str | None = None,
    objective: float | None = None,
    folder: str | None = None,
    boundary: bool = False,
    page: str | None = None,
):
    """A job folder as nnexp leaves it; ``status=None``: killed before summary.json.
    ``objective`` replaces the objective the curve ends at; ``boundary`` writes a
    decision_boundary.png, ``page`` a run page of that name (report.html, report.md)."""
    run = sweep / (folder or str(num))
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), run / ".hydra" / "overrides.yaml")
    epoch = np.arange(epochs + 1)
    curve = 2.0 * (loss / 2.0) ** (epoch / epochs)  # from 2 down to loss
    if status == "diverged":
        curve[epochs // 2 :] = np.inf
    metrics = {"epoch": epoch, "loss": curve, "accuracy": np.linspace(0.5, 0.9, epochs + 1)}
    if val:
        metrics.update(val_loss=curve * 1.1, val_accuracy=np.linspace(0.5, 0.8, epochs + 1))
    if status != "failed":
        pd.DataFrame(metrics).to_csv(run / "metrics.csv", index=False)
    if boundary:
        (run / "decision_boundary.png").write_bytes(PNG)
    if page:
        (run / page).write_text("a run page")
    if status is None:
        return run
    names = ["loss", "accuracy"] + (["val_loss", "val_accuracy"] if val else [])
    final = {m: float(metrics[m][-1]) for m in names}
    if objective is None:
        objective = final["val_loss" if val else "loss"]
    summary = {"status": status, "objective": objective if math.isfinite(objective) else None}
    if status == "failed":
        summary.update(objective=None, error=error or "boom")
    else:
        summary.update(
            final=final,
            best={m: float(np.nanmin(metrics[m])) for m in names},
            epochs_completed=epochs if status == "ok" else epochs // 2,
            diverged_at=epochs // 2 if status == "diverged" else None,
            train_seconds=0.25,
        )
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def csv(sweep: Path) -> pd.DataFrame:
    return pd.read_csv(
        sweep / "summary.csv", keep_default_na=False, na_values=[""], dtype={"run_dir": str}
    )


# Lines the plain-number path reads and lines it must leave to Hydra's parser.
NUMBER_LINES = [
    "seed=0",
    "seed=7",
    "seed=-3",
    "seed=12345678901234567890",
    "lr=0.1",
    "lr=-0.25",
    "lr=10.0",
    "lr=0.10",
    "optimizer.beta2=0.999",
    "model.init_scale=2.5",
    "my-key=3",
    "seed=007",
    "seed=1_000",
    "lr=1e-3",
    "lr=1.",
    "lr=.5",
    "seed=+1",
    "lr=inf",
    "lr=nan",
    "seed= 3",
    "seed=3 ",
    "model.hidden.0=5",
    "+seed=3",
    "~seed=3",
    "seed@pkg=3",
    "dataset/x=1",
    "lr=0.1,1",
    "seed=range(3)",
    "lr=1.5e2",
    "x=true",
    "x=null",
    "x=3x",
]


def test_plain_numbers_read_as_hydras_parser_reads_them():
    """The fast path for ``key=number`` lines (a seed sweep has a new one a job) gives
    what Hydra's grammar gives, type included; everything else still goes to it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()

    def by_hydra(line: str):  # the path every line took before the fast one
        key, _, text = line.partition("=")
        try:
            override = parser.parse_override(line)
            value = table._plain(override.value())
            if value is None:
                value = override.get_value_element_as_str()
            return override.key_or_group, value
        except Exception:
            return key.lstrip("+~"), text

    for line in NUMBER_LINES:
        table._parsed.pop(line, None)
        got, expected = table._parse_line(line), by_hydra(line)
        assert repr(got) == repr(expected), line  # repr: nan equals nan
        assert type(got[1]) is type(expected[1]), line
    taken = [line for line in NUMBER_LINES if table._PLAIN_NUMBER.fullmatch(line)]
    assert taken == NUMBER_LINES[:11]


def test_overrides_files_read_as_omegaconf_reads_them(tmp_path):
    """overrides.yaml through libyaml: the same lines as through OmegaConf; a file of
    anything else falls back to OmegaConf."""
    hydra = tmp_path / ".hydra"
    hydra.mkdir()
    path = hydra / "overrides.yaml"
    cases = [
        ["seed=3", "lr=0.1", "experiment=red_blue", "model.hidden=[4,4]", "+note=${oc.env:HOME}"],
        ["x='quoted: yes'", 'y="a b"', "z=1e3", "w=2001-12-14", "v=a=b", "~seed"],
        [],
    ]
    for lines in cases:
        OmegaConf.save(OmegaConf.create(lines), path)
        expected = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        assert table._read_override_lines(path) == expected == lines
    for text in ("- 1e3\n- 2001-12-14\n", "a: 1\n", "- [1, 2]\n", "- x: 1\n", ": bad [\n"):
        path.write_text(text)
        assert table._read_override_lines(path) == table._read_yaml(path), text


def test_parse_overrides_keeps_numbers_and_strings_and_writes_lists_as_text():
    assert report.parse_overrides(
        [
            "lr=0.1",
            "epochs=5",
            "activation=tanh",
            "model.hidden=[4,4]",
            "+extra=x",
            "dataset=circles",
            "+note=${oc.env:HOME}",
        ]
    ) == {
        "lr": 0.1,
        "epochs": 5,
        "activation": "tanh",
        "model.hidden": "[4,4]",
        "extra": "x",
        "dataset": "circles",
        "note": "${oc.env:HOME}",
    }


def test_summary_csv_has_a_column_per_swept_override_and_marks_every_status(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10", "loss=mse,bce", "epochs=10"])
    settings = [
        f"lr={lr} loss={loss} epochs=10".split()
        for lr in ("0.1", "1", "10")
        for loss in ("mse", "bce")
    ]
    make_job(sweep, 0, settings[0], loss=0.3, page="report.html")
    make_job(sweep, 1, settings[1], loss=0.1, page="report.md")
    make_job(sweep, 2, settings[2], status="diverged")
    make_job(sweep, 3, settings[3], status="failed", error="loss=bce needs a sigmoid output")
    make_job(sweep, 4, settings[4], status=None)  # killed mid-run
    built = report.build(sweep)
    rows = csv(sweep)
    assert list(rows.columns[:4]) == ["job", "lr", "loss", "status"]
    assert "epochs" not in rows
    assert list(rows.status) == ["ok", "ok", "diverged", "failed", "incomplete"]
    assert rows.error[3] == "loss=bce needs a sigmoid output"
    assert list(rows.run_dir) == ["0", "1", "2", "3", "4"]
    assert rows.final_loss[1] == pytest.approx(0.1) and rows.best_loss[0] == pytest.approx(0.3)
    assert rows.diverged_at[2] == 5 and rows.epochs_completed[0] == 10
    assert "final_val_loss" not in rows  # no job held data out
    assert list(report.ranked(built.sweep.table).job) == [1, 0, 2, 3, 4]
    assert built.best["settings"] == {"lr": 0.1, "loss": "bce"}

    text = (sweep / "report.md").read_text()
    assert (
        "5 jobs: 2 ok, 1 diverged, 1 failed, 1 incomplete; 1 of the sweep's 6 not started" in text
    )
    assert "**lr=0.1 loss=bce**: loss 0.1 (job 1), accuracy 90.0%." in text
    assert "among the 2 of 5 settings whose job finished ok" in text
    jobs = text.split("## Jobs")[1]
    # Each job links to its run's page: report.html, else report.md, else summary.json.
    assert (
        jobs.index("| [1](./1/report.md) | 0.1 | bce | ok |")
        < jobs.index("| [0](./0/report.html) | 0.1 | mse | ok |")
        < jobs.index("| [2](./2/summary.json) | 1 | mse | *diverged* |")
        < jobs.index("**failed**")
        < jobs.index("| 4 | 10 | mse | _incomplete_ |")
    )
    assert f"python -m nnexp -m lr=0.1,1,10 loss=mse,bce epochs=10 hydra.sweep.dir={sweep}" in text


def test_the_page_opens_with_the_answer_then_plots_settings_and_collapsed_jobs(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1"])
    for n, (lr, seed) in enumerate([(lr, s) for lr in ("0.1", "1") for s in (0, 1)]):
        make_job(sweep, n, [f"lr={lr}", f"seed={seed}"], loss=0.1 * (n + 1))
    report.build(sweep)
    for name in ("report.md", "report.html"):
        text = (sweep / name).read_text()
        marks = ["Answer", "Plots", "Settings across seeds", "Jobs", "Reproduce"]
        found = [text.index(f"{'## ' if name.endswith('md') else '<h2>'}{m}") for m in marks]
        assert found == sorted(found), name
        jobs = text[found[3] :]
        assert jobs.index("<details>") < jobs.index("| job |" if name.endswith("md") else "<table")


def test_an_override_swept_on_the_command_line_is_a_column_even_with_one_job(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "epochs=10"])
    make_job(sweep, 0, ["lr=0.1", "epochs=10"])
    report.build(sweep)
    assert list(csv(sweep).columns[:3]) == ["job", "lr", "status"]


def test_heatmap_only_when_exactly_two_parameters_are_swept(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "activation=tanh,relu"])
    for n, (lr, act) in enumerate([(lr, a) for lr in ("0.1", "1") for a in ("tanh", "relu")]):
        make_job(sweep, n, [f"lr={lr}", f"activation={act}"], loss=0.1 * (n + 1))
    images = report.build(sweep).paths
    assert {p.name for p in images} >= {"curves.png", "final_metrics.png", "heatmap.png"}
    # A third swept parameter: no heatmap, and the one an earlier build left goes.
    make_job(sweep, 4, ["lr=1", "activation=relu", "model.hidden=[8]"])
    report.build(sweep)
    assert not (sweep / "heatmap.png").exists()
    assert (sweep / "curves.png").exists()


@pytest.mark.parametrize("seeds", [1, 2])
def test_captions_speak_of_seeds_only_when_seeds_were_swept(tmp_path, seeds):
    # Found: a grid of one job a setting was captioned "every seed thin, the median bold"
    # and "(mean over seeds)".
    seed = ["seed=0,1"] if seeds > 1 else []
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "activation=tanh,relu", *seed])
    grid = [(lr, a, s) for lr in ("0.1", "1") for a in ("tanh", "relu") for s in range(seeds)]
    for n, (lr, act, s) in enumerate(grid):
        make_job(sweep, n, [f"lr={lr}", f"activation={act}", *([f"seed={s}"] if seed else [])])
    report.build(sweep)
    page, md = (sweep / "report.html").read_text(), (sweep / "report.md").read_text()
    for words in ("Learning curves, a panel per setting (best first)", "two swept parameters"):
        assert words in page and words in md
    for words in ("every seed thin, the median bold", "(mean over seeds)"):
        assert (words in page, words in md) == (seeds > 1, seeds > 1)


def test_a_seed_a_job_is_shown_as_resolved_and_averages_nothing(tmp_path):
    # seed=${hydra:job.num} over a grid: each job's own seed, as its run resolved it (the
    # column read "${hydra:job.num}"), and no setting has seeds to average.
    sweep = make_sweep(tmp_path / "s", ["seed=${hydra:job.num}", "lr=0.1,1"])
    for n, lr in enumerate((0.1, 1)):
        run = make_job(sweep, n, ["seed=${hydra:job.num}", f"lr={lr}"], loss=0.5 - n * 0.4,
                       boundary=True)  # fmt: skip
        summary = json.loads((run / "summary.json").read_text())
        summary["config"] = {"seed": n, "lr": lr}
        (run / "summary.json").write_text(json.dumps(summary))
    built = report.build(sweep)
    assert csv(sweep).seed.tolist() == [0, 1]
    assert not built.sweep.seeded
    text = (sweep / "report.md").read_text()
    assert "## Settings, best first" in text and "Each setting's run; click" in text
    assert "; best lr=1 (loss 0.1); report: " in built.headline()


def test_seeds_are_averaged_per_setting(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1,2"])
    losses = {
        ("0.1", 0): 0.4,
        ("0.1", 1): 0.5,
        ("0.1", 2): 0.6,
        ("1", 0): 0.1,
        ("1", 1): 0.2,
        ("1", 2): 0.3,
    }
    for n, ((lr, seed), loss) in enumerate(losses.items()):
        make_job(sweep, n, [f"lr={lr}", f"seed={seed}"], loss=loss, val=True)
    built = report.build(sweep)
    settings = report.settings_table(built.sweep)
    assert list(settings.lr) == [1, 0.1]
    assert settings["mean"].tolist() == pytest.approx([0.22, 0.55])  # val = 1.1 x
    assert settings["std"].tolist() == pytest.approx([0.11, 0.11])
    assert built.best["settings"] == {"lr": 1} and built.best["seeds"] == 3
    text = (sweep / "report.md").read_text()
    assert "val_loss 0.22 ± 0.11 (mean ± std over 3 seeds; min 0.11, max 0.33)" in text
    assert "averaged over its seeds" in text
    assert "## Settings across seeds, best first" in text
    assert not (sweep / "heatmap.png").exists()  # one setting parameter besides the seed
    assert (sweep / "final_metrics.png").exists()
    # The command's last line says the best is a mean (found: it gave the number alone).
    assert "; best lr=1 (val_loss 0.22, mean of 3 seeds); report: " in built.headline()


def test_the_last_line_of_a_seed_sweep_names_its_one_setting(tmp_path):
    # Found: "best the only setting (loss 1.3928e-05)" ended a 100-seed sweep.
    sweep = make_sweep(tmp_path / "s", ["seed=0,1"])
    for n in range(2):
        make_job(sweep, n, [f"seed={n}"], loss=0.1 * (n + 1))
    line = report.build(sweep).headline(1.25)
    assert line.startswith("sweep in 1.2 s: 2 jobs: 2 ok; one setting: loss 0.15, mean of 2")


def test_best_is_chosen_over_settings_whose_seeds_all_finished_by_their_mean(tmp_path):
    # lr=1 has the single lowest job and the lowest mean of its finished seeds, but one
    # of its seeds diverged: lr=0.1 is the answer, and the report says why.
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10", "seed=0,1"])
    make_job(sweep, 0, ["lr=0.1", "seed=0"], loss=0.5)
    make_job(sweep, 1, ["lr=0.1", "seed=1"], loss=0.5)
    make_job(sweep, 2, ["lr=1", "seed=0"], loss=0.01)
    make_job(sweep, 3, ["lr=1", "seed=1"], status="diverged")
    make_job(sweep, 4, ["lr=10", "seed=0"], loss=0.02)
    make_job(sweep, 5, ["lr=10", "seed=1"], loss=2.0)  # mean 1.01: worse than lr=0.1
    built = report.build(sweep)
    assert built.best["settings"] == {"lr": 0.1} and not built.best["provisional"]
    settings = report.settings_table(built.sweep)
    assert list(settings.lr) == [0.1, 10, 1] and list(settings.complete) == [True, True, False]
    assert list(settings.ok) == [2, 2, 1]
    text = (sweep / "report.md").read_text()
    assert "among the 2 of 3 settings whose seeds all finished ok" in text
    assert "a setting with a diverged, failed or unfinished job is not eligible" in text
    # The per-job table follows the settings: the best setting's jobs first, not the
    # lucky seed of another setting.
    jobs = text.split("## Jobs")[1]
    first = re.findall(r"^\| \[(\d+)\]", jobs, flags=re.M)
    assert first[:2] == ["0", "1"] and first[2:4] == ["4", "5"]


def test_an_interrupted_sweep_names_its_best_so_far_not_no_job_finished(tmp_path):
    # Found: "No job finished with a finite objective" above a table with an ok job.
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1,2"])
    make_job(sweep, 0, ["lr=0.1", "seed=0"], loss=0.3)
    make_job(sweep, 1, ["lr=0.1", "seed=1"], status=None)
    built = report.build(sweep)
    assert built.best["settings"] == {"lr": 0.1} and built.best["provisional"]
    text = (sweep / "report.md").read_text()
    assert "No job finished" not in text and "No job has finished" not in text
    assert "best so far" in text and "Provisional" in text
    assert "(1 of 2)" in text
    assert "provisional" in built.headline()


def test_a_setting_with_a_diverged_seed_ranks_last(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1"])
    make_job(sweep, 0, ["lr=0.1", "seed=0"], loss=0.5)
    make_job(sweep, 1, ["lr=0.1", "seed=1"], loss=0.5)
    make_job(sweep, 2, ["lr=1", "seed=0"], loss=0.01)
    make_job(sweep, 3, ["lr=1", "seed=1"], status="diverged")
    built = report.build(sweep)
    assert built.best["settings"] == {"lr": 0.1}
    assert list(report.settings_table(built.sweep).ok) == [2, 1]


def test_html_report_is_one_file_with_inline_script_and_relative_links(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2, page="report.html")
    make_job(sweep, 1, ["lr=1"], status="failed", error="a <bad> value")
    report.build(sweep)
    page = (sweep / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "<script src" not in page and "http" not in page
    assert "<script>" in page and 'class="sortable"' in page and 'class="filter"' in page
    assert '<tr class="failed">' in page and "a &lt;bad&gt; value" in page
    assert '<a href="./0/report.html">0</a>' in page
    assert '<nav class="contents">' in page and 'href="#settings"' in page
    assert '<div class="scroll"><table' in page


def test_everything_failed_still_gives_a_report(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], status="failed")
    make_job(sweep, 1, ["lr=1"], status=None)
    built = report.build(sweep)
    assert built.best is None
    assert "No job has finished ok yet." in (sweep / "report.md").read_text()
    assert not (sweep / "curves.png").exists()


def test_a_figure_that_fails_is_a_warning_and_the_rest_of_the_report_is_written(
    tmp_path, monkeypatch, caplog
):
    def broken(sweep, settings):
        raise ValueError("zero-size array to reduction operation maximum")

    grid = tuple((n, broken if n == "curves.png" else f) for n, f in figures.GRID_FIGURES)
    monkeypatch.setattr(figures, "GRID_FIGURES", grid)
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2)
    make_job(sweep, 1, ["lr=1"], loss=0.1)
    (sweep / "curves.png").write_bytes(b"stale")  # an earlier build's
    with caplog.at_level("WARNING", logger="nnexp"):
        built = report.build(sweep)
    assert "sweep figure curves.png could not be drawn: ValueError: zero-size" in caplog.text
    assert built.page.errors == {
        "curves.png": "ValueError: zero-size array to reduction operation maximum"
    }
    assert not (sweep / "curves.png").exists() and (sweep / "final_metrics.png").exists()
    text = (sweep / "report.md").read_text()
    assert "The figure curves.png could not be drawn (ValueError: zero-size" in text
    assert built.best["settings"] == {"lr": 1} and len(csv(sweep)) == 2
    assert "could not be drawn" in (sweep / "report.html").read_text()
    assert "figure curves.png failed" in built.headline()


def test_negative_zero_never_appears(tmp_path):
    # Found: a saturated network's validation loss printed as -0 and bolded as best.
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2, val=True, objective=-0.0)
    make_job(sweep, 1, ["lr=1"], loss=0.1, val=True)
    built = report.build(sweep)
    assert math.copysign(1, built.sweep.table.objective[0]) == 1.0
    for name in ("report.md", "report.html", "summary.csv"):
        text = (sweep / name).read_text()
        assert not re.search(r"(?<![\w.])-0(?![\w.])", text), name
    assert figures.fmt(-0.0) == "0"


@pytest.mark.parametrize("low", [0.0, -0.5])
def test_a_zero_or_negative_objective_keeps_the_heatmaps_log_scale_and_says_so(tmp_path, low):
    # Found: one 0 forced the heatmap onto a linear scale that painted 1e-3, 1e-2 and
    # 1e-1 the same colour.
    from matplotlib.colors import LogNorm

    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10", "activation=tanh,relu"])
    cells = [low, 1e-3, 1e-2, 1e-1, 1.0, 0.5]
    combos = [(lr, a) for lr in ("0.1", "1", "10") for a in ("tanh", "relu")]
    for n, ((lr, act), value) in enumerate(zip(combos, cells)):
        make_job(sweep, n, [f"lr={lr}", f"activation={act}"], objective=value)
    swept = table.collect(sweep)
    fig = figures.heatmap_figure(swept, table.settings_table(swept))
    image = fig.axes[0].images[0]
    assert isinstance(image.norm, LogNorm)
    drawn = image.get_array()
    assert len({round(float(image.norm(v)), 3) for v in drawn.compressed()[1:4]}) == 3
    assert "1 cell ≤ 0 hatched" in fig.axes[0].get_title()
    curves = figures.final_figure(swept, table.settings_table(swept))
    assert curves.axes[0].get_yscale() == "log"
    assert "1 objective ≤ 0 drawn at the bottom edge" in curves.get_suptitle()


def test_seed_curves_show_the_median_not_a_mean_pulled_by_one_stuck_seed(tmp_path):
    # Found: nine seeds at 2e-4 and one stuck at 0.5 were drawn as a mean of 0.05.
    sweep = make_sweep(tmp_path / "s", ["lr=1", "seed=range(10)"])
    for seed in range(10):
        make_job(sweep, seed, ["lr=1", f"seed={seed}"], loss=0.5 if seed == 3 else 2e-4)
    swept = table.collect(sweep)
    fig = figures.curves_figure(swept, table.settings_table(swept))
    ax = fig.axes[0]
    bold = [line for line in ax.get_lines() if line.get_linewidth() >= 2]
    thin = [line for line in ax.get_lines() if line.get_linewidth() < 1]
    assert len(bold) == 1 and len(thin) == 10
    assert bold[0].get_ydata()[-1] == pytest.approx(2e-4)
    assert ax.get_yscale() == "log"
    assert not ax.collections  # no band: every seed is its own line


def test_accuracy_is_never_drawn_beyond_100_percent(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "seed=0,1,2"])
    for n, (lr, seed) in enumerate([(lr, s) for lr in ("0.1", "1") for s in range(3)]):
        make_job(sweep, n, [f"lr={lr}", f"seed={seed}"], loss=0.1 + 0.01 * n)
    swept = table.collect(sweep)
    swept.table["final_accuracy"] = [1.0, 1.0, 0.6, 1.0, 0.98, 1.0]
    fig = figures.final_figure(swept, table.settings_table(swept))
    accuracy = fig.axes[1]
    assert accuracy.get_ylim()[1] == 100
    for line in accuracy.get_lines():
        assert np.nanmax(line.get_ydata()) <= 100


def test_colours_stay_distinct_past_ten_values_and_legends_cover_no_data(tmp_path):
    assert len({tuple(c) for c in figures.colours(12)}) == 12
    assert len({tuple(c) for c in figures.colours(30)}) == 30
    widths = [f"[{w}]" for w in range(1, 13)]
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", f"model.hidden={','.join(widths)}"])
    n = 0
    for lr in ("0.1", "1"):
        for w in widths:
            make_job(sweep, n, [f"lr={lr}", f"model.hidden={w}"], loss=0.01 * (n + 1))
            n += 1
    swept = table.collect(sweep)
    fig = figures.final_figure(swept, table.settings_table(swept))
    lr_panel = fig.axes[0]  # lines: one per width, 12 of them
    medians = [line for line in lr_panel.get_lines() if line.get_linestyle() == "-"]
    assert len({tuple(np.atleast_1d(line.get_color())) for line in medians}) == 12
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 2  # one a column
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer))
    for ax in fig.axes:  # nothing outside the picture either
        assert ax.get_window_extent(renderer).y0 >= 0
    for legend in legends:
        assert legend.get_window_extent(renderer).y0 >= 0


@pytest.mark.slow
def test_a_search_gets_history_slices_and_parallel_coordinates(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import report_build

    sweep = report_build.search_sweep(tmp_path / "search", trials=15, rows=10)
    built = report.build(sweep)
    assert built.sweep.search and built.sweep.log_params == {"lr"}
    assert list(built.page.images) == ["history.png", "slices.png", "parallel.png", "curves.png"]
    assert not (sweep / "final_metrics.png").exists() and not (sweep / "heatmap.png").exists()
    settings = table.settings_table(built.sweep)
    history = figures.history_figure(built.sweep, settings).axes[0]
    best = [line for line in history.get_lines() if line.get_label() == "best so far"][0]
    assert np.all(np.diff(best.get_ydata()) <= 0)
    assert best.get_ydata()[-1] == pytest.approx(built.sweep.table.objective.min())
    slices = figures.slices_figure(built.sweep, settings).axes
    assert slices[0].get_xscale() == "log"  # lr was searched log-uniformly
    assert [t.get_text() for t in slices[1].get_xticklabels()] == ["[2]", "[4]", "[8]", "[16]"]
    assert {t.get_text() for t in slices[2].get_xticklabels()} == {"relu", "sigmoid", "tanh"}
    parallel = figures.parallel_figure(built.sweep, settings).axes[0]
    assert [t.get_text() for t in parallel.get_xticklabels()] == [
        "lr",
        "model.hidden",
        "activation",
        "val_loss",
    ]
    assert len([line for line in parallel.get_lines() if len(line.get_xdata()) == 4]) == 15


def test_trials_are_counted_in_whole_numbers_on_every_axis(tmp_path):
    # Found on a 20-trial Optuna search: ticks at trial 2.5, 7.5, ... in two figures.
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import report_build

    sweep = report_build.search_sweep(tmp_path / "search", trials=20, rows=10)
    swept = table.collect(sweep)
    settings = table.settings_table(swept)
    history = figures.history_figure(swept, settings)
    history.canvas.draw()
    assert all(float(t).is_integer() for t in history.axes[0].get_xticks())
    slices = figures.slices_figure(swept, settings)
    slices.canvas.draw()
    colour_bar = slices.axes[-1]
    assert colour_bar.get_ylabel() == "trial"
    assert all(float(t).is_integer() for t in colour_bar.get_yticks())


def test_a_sweep_whose_settings_are_not_a_grid_is_a_search_without_a_saved_config(tmp_path):
    sweep = tmp_path / "s"
    for n, (lr, act) in enumerate([(0.013, "tanh"), (0.2, "relu"), (0.0021, "tanh")]):
        make_job(sweep, n, [f"lr={lr}", f"activation={act}"], loss=0.1 * (n + 1))
    assert table.collect(sweep).search
    for n, (lr, act) in enumerate([(0.2, "tanh"), (0.013, "relu"), (0.0021, "relu")], 3):
        make_job(sweep, n, [f"lr={lr}", f"activation={act}"], loss=0.1)
    assert not table.collect(sweep).search  # now every combination: a grid


def test_decision_boundaries_are_laid_out_as_the_heatmap_and_link_to_their_runs(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "activation=tanh,relu"])
    combos = [(lr, a) for lr in ("1", "0.1") for a in ("tanh", "relu")]  # not in order
    for n, (lr, act) in enumerate(combos):
        make_job(
            sweep,
            n,
            [f"lr={lr}", f"activation={act}"],
            loss=0.1 * (n + 1),
            boundary=True,
            page="report.html",
        )
    report.build(sweep)
    page = (sweep / "report.html").read_text()
    thumbs = page.split('<div class="thumbs"')[1].split("</div></section>")[0]
    # rows lr 0.1 then 1 (ascending, as the heatmap), columns relu then tanh
    assert re.findall(r'href="\./(\d)/report\.html"', thumbs) == ["3", "2", "1", "0"]
    assert re.findall(r'src="\./(\d)/decision_boundary\.png"', thumbs) == ["3", "2", "1", "0"]
    assert "lr \\ activation" in thumbs
    assert (sweep / "3" / "decision_boundary.png").exists()
    assert "## Decision boundaries" in (sweep / "report.md").read_text()


def test_links_are_relative_paths_only_whatever_the_folder_is_called(tmp_path):
    # Found: hydra.sweep.subdir='javascript:...' made a link that ran script on click.
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], folder="javascript:alert(1)", page="report.html", boundary=True)
    make_job(sweep, 1, ["lr=1"], folder="x y#?", page="report.html")
    report.build(sweep)
    page = (sweep / "report.html").read_text()
    links = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert links
    for link in links:
        assert link.startswith(("./", "#", "data:image/png;base64,")), link
    assert 'href="./javascript%3Aalert%281%29/report.html"' in page
    assert 'href="./x%20y%23%3F/report.html"' in page
    text = (sweep / "report.md").read_text()
    assert "](./javascript%3Aalert%281%29/report.html)" in text
    assert "](javascript" not in text


def test_report_md_escapes_names_values_and_errors(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["+tag=a,b"])
    make_job(sweep, 0, ["+tag=<img src=x onerror=alert(1)>"], loss=0.1)
    make_job(sweep, 1, ["+tag=a|b"], status="failed", error="<script>alert(1)</script> | *bold*")
    report.build(sweep)
    text = (sweep / "report.md").read_text()
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\*bold\\*" in text
    assert "a\\|b" in text
    page = (sweep / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_hydra_callbacks_overrides_are_flagged_and_left_out_of_the_rerun_command(tmp_path):
    evil = "++hydra.callbacks.x={_target_: os.system, command: 'touch /tmp/pwned'}"
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"], extra=[evil])
    make_job(sweep, 0, ["lr=0.1"], loss=0.1)
    built = report.build(sweep)
    assert built.sweep.unsafe == [evil]
    assert "hydra.callbacks" not in built.sweep.command
    text = (sweep / "report.md").read_text()
    command = text.split("```\n")[1]
    assert "hydra.callbacks" not in command and "lr=0.1,1" in command
    assert "> **Warning**: Left out of this command:" in text and "touch /tmp/pwned" in text
    assert "Left out of this command" in (sweep / "report.html").read_text()


def test_an_interpolated_override_is_repeated_as_written_in_the_rerun_command(tmp_path):
    # Found: ${...} in an override was resolved (or failed) when the command was shown.
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "+note=${oc.env:NNEXP_UNSET_VAR,x}"])
    make_job(sweep, 0, ["lr=0.1", "+note=${oc.env:NNEXP_UNSET_VAR,x}"], loss=0.1)
    built = report.build(sweep)
    assert "'+note=${oc.env:NNEXP_UNSET_VAR,x}'" in built.sweep.command
    assert "'+note=${oc.env:NNEXP_UNSET_VAR,x}'" in (sweep / "report.md").read_text()


def test_a_diverged_job_without_validation_numbers_does_not_switch_the_objective(tmp_path):
    # Found: one diverged job switched the curves and accuracy to training metrics
    # while the ranking still used the validation loss.
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,100"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2, val=True)
    make_job(sweep, 1, ["lr=1"], loss=0.1, val=True)
    run = make_job(sweep, 2, ["lr=100"], status="diverged", val=True)
    summary = json.loads((run / "summary.json").read_text())
    summary["final"]["val_loss"] = None
    (run / "summary.json").write_text(json.dumps(summary))
    built = report.build(sweep)
    assert built.sweep.objective == "val_loss" and built.sweep.short == "val_loss"
    assert "val_loss" in (sweep / "report.md").read_text().split("## Plots")[0]


def test_the_shared_configuration_card_lists_what_no_job_changed(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    for n, lr in enumerate(("0.1", "1")):
        run = make_job(sweep, n, [f"lr={lr}"], loss=0.1)
        summary = json.loads((run / "summary.json").read_text())
        summary["config"] = {"lr": float(lr), "dataset": {"name": "circles"}, "epochs": 10}
        (run / "summary.json").write_text(json.dumps(summary))
    built = report.build(sweep)
    assert built.sweep.shared == {"dataset.name": "circles", "epochs": 10}
    page = (sweep / "report.html").read_text()
    assert "<dt>dataset.name</dt><dd>circles</dd>" in page
    assert "| dataset.name | circles |" in (sweep / "report.md").read_text()


def test_rendering_is_a_pure_function_of_the_collected_table(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2)
    make_job(sweep, 1, ["lr=1"], status=None)  # still running
    page = report.page(table.collect(sweep))
    before = sorted(p.name for p in sweep.iterdir())
    first = render.html_page(page), render.markdown(page)
    assert (render.html_page(page), render.markdown(page)) == first
    assert sorted(p.name for p in sweep.iterdir()) == before  # nothing written


def test_a_damaged_summary_json_is_an_unfinished_job_not_the_end_of_the_report(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2)
    (make_job(sweep, 1, ["lr=1"]) / "summary.json").write_bytes(b"\xff\xfe{not json")
    (make_job(sweep, 2, ["lr=10"]) / "summary.json").write_text("[1, 2]")
    built = report.build(sweep)
    assert list(built.sweep.table.status) == ["ok", "incomplete", "incomplete"]
    assert built.best["settings"] == {"lr": 0.1}


@pytest.mark.slow
def test_cli_rebuilds_an_interrupted_sweep_from_its_run_folders(tmp_path):
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1,10"], extra=["hydra/launcher=joblib"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.2)
    make_job(sweep, 1, ["lr=1"], status=None)
    result = nnexp(tmp_path, "report", str(sweep))
    assert result.returncode == 0, result.stderr
    assert "2 jobs: 1 ok, 1 incomplete; 1 of the sweep's 3 not started" in result.stdout
    assert list(csv(sweep).status) == ["ok", "incomplete"]
    for name in ("report.md", "report.html", "curves.png"):
        assert (sweep / name).exists(), name
    assert "hydra/launcher=joblib" in (sweep / "report.md").read_text()


def test_cli_says_so_when_the_folder_holds_no_sweep(tmp_path):
    result = nnexp(tmp_path, "report", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("nnexp report: error:") and "no job folders" in result.stderr
    assert nnexp(tmp_path, "report", str(tmp_path / "missing")).returncode == 2


def test_a_single_runs_folder_is_refused_and_left_as_it_was(tmp_path, capsys):
    # Found: nnexp report <a run folder> replaced the run's report.html, report.md and
    # curves.png with a one-job sweep report (predict and verify take run folders).
    sweep = make_sweep(tmp_path / "s", ["lr=0.1"])
    run = make_job(sweep, 0, ["lr=0.1"], page="report.html")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert report.main([str(run)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"nnexp report: error: {run} is one run's folder")
    assert "takes a sweep folder" in error
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


@pytest.mark.slow
def test_a_folder_of_several_sweeps_gets_one_combined_report(tmp_path):
    # Each sweep numbers its jobs from 0, as the groups of examples/slurm_batched.sh do.
    for group, loss in (("group-0", 0.3), ("group-1", 0.1)):
        sweep = make_sweep(tmp_path / "all" / group, ["seed=0,1"])
        make_job(sweep, 0, ["seed=0"], loss=loss)
        make_job(sweep, 1, ["seed=1"], loss=loss * 1.1)
    result = nnexp(tmp_path, "report", str(tmp_path / "all"))
    assert result.returncode == 0, result.stderr
    table_ = csv(tmp_path / "all")
    assert sorted(table_.run_dir) == ["group-0/0", "group-0/1", "group-1/0", "group-1/1"]
    assert (tmp_path / "all" / "curves.png").stat().st_size > 5000


def test_a_parameter_one_of_several_sweeps_left_unset_is_not_named_empty(tmp_path):
    # Found: `nnexp report .` over two sweeps, one setting epochs and one not, ended
    # "best lr=1 activation=tanh epochs= (loss ...)".
    first = make_sweep(tmp_path / "all" / "a", ["lr=0.1,1"])
    for n, lr in enumerate(("0.1", "1")):
        make_job(first, n, [f"lr={lr}"], loss=0.1 if lr == "1" else 0.5)
    second = make_sweep(tmp_path / "all" / "b", ["lr=0.1,1", "epochs=50"])
    for n, lr in enumerate(("0.1", "1")):
        make_job(second, n, [f"lr={lr}", "epochs=50"], loss=0.3)
    built = report.build(tmp_path / "all")
    assert "; best lr=1 (loss 0.1); report: " in built.headline()
    assert "epochs= " not in (tmp_path / "all" / "report.md").read_text()


def test_a_categorical_strip_marks_each_categorys_median_with_a_tick_not_a_line(tmp_path):
    # Found: with a line per learning rate, the activation panel joined the medians of
    # tanh, relu and sigmoid by a line, as if categories had an order between them.
    acts = ("tanh", "relu", "sigmoid")
    sweep = make_sweep(tmp_path / "s", ["lr=0.1,1", "activation=tanh,relu,sigmoid", "seed=0,1,2"])
    n = 0
    for lr in ("0.1", "1"):
        for a, act in enumerate(acts):
            for seed in range(3):
                overrides = [f"lr={lr}", f"activation={act}", f"seed={seed}"]
                make_job(sweep, n, overrides, loss=0.1 * (a + 1) + 0.01 * seed)
                n += 1
    swept = table.collect(sweep)
    fig = figures.final_figure(swept, table.settings_table(swept))
    strips = fig.axes[1::2]  # the activation column: objective, accuracy
    assert [t.get_text() for t in strips[1].get_xticklabels()] == sorted(acts)
    for ax in strips:
        joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "")]
        assert joined == []
        ticks = [line for line in ax.get_lines() if line.get_marker() == "_"]
        assert len(ticks) == 2  # one set a learning rate, in its own colour
        assert len({tuple(np.atleast_1d(line.get_color())) for line in ticks}) == 2
        for line in ticks:
            x = line.get_xdata()
            assert len(x) == 3 and np.all(np.abs(x - np.round(x)) < 0.4)  # inside its strip
        # the two learning rates' ticks sit side by side in each strip, not on each other
        assert not np.allclose(ticks[0].get_xdata(), ticks[1].get_xdata())
    objective = strips[0]
    medians = next(line for line in objective.get_lines() if line.get_marker() == "_")
    assert np.allclose(medians.get_ydata(), [0.21, 0.31, 0.11])  # relu, sigmoid, tanh
    assert "(dots: seeds, line or tick: median)" in fig.get_suptitle()  # lr has a line


@pytest.mark.parametrize("grid", [True, False])
def test_report_md_shows_the_boundaries_as_markdown_images_that_link_their_runs(tmp_path, grid):
    # Found: the thumbnails were raw <img> and <a> tags, which many Markdown viewers drop.
    from urllib.parse import unquote

    markdown_it = pytest.importorskip("markdown_it")
    task = ["lr=0.1,1", "activation=tanh,relu"] if grid else ["lr=0.1,1,10"]
    sweep = make_sweep(tmp_path / "s", task)
    combos = [["lr=0.1", "activation=tanh"], ["lr=1", "activation=relu"]] if grid else None
    folders = ["a (1) [x]", "b"]  # brackets and parentheses must not end a link early
    for n, folder in enumerate(folders):
        overrides = combos[n] if grid else [f"lr={(0.1, 1)[n]}"]
        make_job(
            sweep,
            n,
            overrides,
            loss=0.1 * (n + 1),
            folder=folder,
            boundary=True,
            page="report.html",
        )
    report.build(sweep)
    text = (sweep / "report.md").read_text()
    section = text.split("## Decision boundaries")[1].split("\n## ")[0]
    assert "<img" not in section and "<a " not in section and "<br>" not in section
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(section)
    images = re.findall(r'<a href="([^"]+)"><img src="([^"]+)" alt="([^"]*)"', rendered)
    assert len(images) == 2, rendered
    for (link, src, alt), folder in zip(sorted(images, key=lambda i: i[1]), folders):
        assert (sweep / unquote(src)).resolve() == (
            sweep / folder / "decision_boundary.png"
        ).resolve()
        assert (sweep / unquote(link)).resolve() == (sweep / folder / "report.html").resolve()
        assert "lr=" in alt


@pytest.mark.slow
def test_a_report_after_the_prefetch_is_the_report_without_it(tmp_path, monkeypatch):
    """The callback reads finished jobs while the others run (callbacks.Prefetch); the
    report it builds at the end is the one built from the folders, byte for byte, also
    where a file was replaced after it was read."""
    import shutil
    import time

    from nnexp.sweep.callbacks import Prefetch

    monkeypatch.setattr(table, "_REMEMBER", [False])
    monkeypatch.setattr(table, "_READS", {})
    monkeypatch.setattr(table, "PREFETCHED_CURVES", 2)  # the third job's is read at the end
    sweep = make_sweep(tmp_path / "plain", ["lr=0.1,1", "seed=0,1"])
    for num, (lr, seed) in enumerate([(0.1, 0), (0.1, 1), (1, 0), (1, 1)]):
        status = None if num == 3 else "ok"  # job 3 still running
        make_job(sweep, num, [f"lr={lr}", f"seed={seed}"], status=status, loss=0.1 + num / 10)
    copy = tmp_path / "prefetched"
    shutil.copytree(sweep, copy)
    report.build(sweep)

    prefetch = Prefetch(copy)
    deadline = time.monotonic() + 30
    while len(prefetch.seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert prefetch.seen == {"0", "1", "2"}
    kept = {key[1] for key in table._READS}
    assert sum(str(copy / job / "metrics.csv") in kept for job in "012") == 2
    # Job 1 is rewritten after it was read: the report must see the new file.
    make_job(copy, 1, ["lr=0.1", "seed=1"], loss=0.05, folder="again")
    (copy / "1" / "metrics.csv").unlink()
    (copy / "again" / "metrics.csv").rename(copy / "1" / "metrics.csv")
    shutil.rmtree(copy / "again")
    prefetch.stop()
    assert not prefetch.thread.is_alive()
    kept = {key[1] for key in table._READS}
    assert str(copy / "3" / "metrics.csv") not in kept  # unfinished: never read early
    report.build(copy)
    fresh = tmp_path / "fresh"
    shutil.copytree(copy, fresh)
    monkeypatch.setattr(table, "_REMEMBER", [False])
    report.build(fresh)
    for name in ("summary.csv", "curves.png", "final_metrics.png"):
        assert (copy / name).read_bytes() == (fresh / name).read_bytes(), name
    for name in ("report.md", "report.html"):
        assert (copy / name).read_text().replace("prefetched", "fresh") == (
            fresh / name
        ).read_text(), name
    assert (copy / "curves.png").read_bytes() != (sweep / "curves.png").read_bytes()


@pytest.mark.parametrize("settings", [1, 2])
def test_the_curves_title_fits_a_figure_of_one_or_two_panels(tmp_path, settings):
    # Found: a seed sweep of one setting cut its title at both edges of its one panel.
    lrs = ["1", "0.1"][:settings]
    sweep = make_sweep(tmp_path / "s", [f"lr={','.join(lrs)}", "seed=range(3)"])
    n = 0
    for lr in lrs:
        for seed in range(3):
            status = "diverged" if n == 1 else "ok"
            make_job(sweep, n, [f"lr={lr}", f"seed={seed}"], loss=0.1 + n, status=status)
            n += 1
    swept = table.collect(sweep)
    fig = figures.curves_figure(swept, table.settings_table(swept))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle
    box = title.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    assert "each seed thin, median bold" in title.get_text().replace("\n", " ")
    for ax in fig.axes:  # and the panels' own titles sit below it
        if ax.get_visible():
            assert not box.overlaps(ax.title.get_window_extent(renderer))


def test_a_sweep_over_losses_says_their_values_do_not_compare(tmp_path):
    # Found: -m loss=sse,bce named a best loss by values on different scales (a sum
    # over rows against a mean), with no word of it.
    sweep = make_sweep(tmp_path / "s", ["loss=sse,bce"])
    make_job(sweep, 0, ["loss=sse"], loss=3.0)
    make_job(sweep, 1, ["loss=bce"], loss=0.2)
    built = report.build(sweep)
    assert "losses differ in scale: compare accuracy" in built.headline()
    said = "The jobs train with different losses (bce, sse), whose values are not on one scale"
    assert said in (sweep / "report.md").read_text()
    assert said in (sweep / "report.html").read_text()
    # One loss swept alone, or other options swept: no such warning.
    other = make_sweep(tmp_path / "o", ["lr=0.1,1"])
    make_job(other, 0, ["lr=0.1"], loss=3.0)
    make_job(other, 1, ["lr=1"], loss=0.2)
    assert "losses differ" not in report.build(other).headline()
    assert "different losses" not in (other / "report.md").read_text()


def test_a_working_folder_reports_its_sweeps_jobs_and_leaves_single_runs_out(tmp_path):
    # Found: nnexp report on the folder holding outputs/ took outputs/runs/... (single
    # runs, each with its .hydra/overrides.yaml) for jobs of one combined sweep.
    work = tmp_path / "work"
    sweep = make_sweep(work / "outputs" / "multirun" / "2026-01-01" / "10-00-00", ["lr=0.1,1"])
    make_job(sweep, 0, ["lr=0.1"], loss=0.3)
    make_job(sweep, 1, ["lr=1"], loss=0.2)
    single = work / "outputs" / "runs" / "2026-01-01"
    make_job(single, 0, ["lr=5"], loss=0.9, folder="11-00-00")
    found = table.job_folders(work)
    assert found == table.job_folders(sweep) == [sweep / "0", sweep / "1"]
    assert list(table.collect(work).table["lr"]) == [0.1, 1]
    # Job folders without any saved sweep config are still a sweep (a config lost).
    assert table.job_folders(single) == [single / "11-00-00"]
