"""The sweep check: every job of a sweep built (not trained) before the sweep starts."""

from __future__ import annotations

import json

import pytest

from tests.cli import nnexp, quick_first

BCE_3 = "loss=bce needs a sigmoid output, not softmax: use loss=cross_entropy with softmax"
NO_COLUMN = "dataset.features: 'b' is not a column of ac.csv: columns are a, c, label"


@pytest.fixture
def files(tmp_path):
    """Three CSV files: two classes, three classes, and one without column b."""
    (tmp_path / "two.csv").write_text("a,b,label\n1,2,x\n2,3,y\n3,1,x\n0,0,y\n")
    (tmp_path / "three.csv").write_text("a,b,label\n1,2,x\n2,3,y\n3,1,z\n0,0,y\n")
    (tmp_path / "ac.csv").write_text("a,c,label\n1,2,x\n2,3,y\n3,1,x\n0,0,y\n")
    return tmp_path


SWEEP = (
    "loss=sse,bce",
    "dataset=csv",
    "dataset.path=two.csv,three.csv,ac.csv",
    "dataset.target=label",
    "dataset.features=[a,b]",
    "epochs=5",
)
EXPECTED = [
    "sweep check: 3 of 6 jobs would fail (3 datasets loaded):",
    f"  job #2 (loss=sse dataset.path=ac.csv): {NO_COLUMN}",
    f"  job #4 (loss=bce dataset.path=three.csv): {BCE_3}",
    f"  job #5 (loss=bce dataset.path=ac.csv): {NO_COLUMN}",
]


@pytest.mark.parametrize("form", quick_first(["subcommand", "flag"], ["subcommand", "flag"], 1))
def test_check_lists_every_bad_job_and_trains_nothing(files, form):
    args = ("check", "-m", *SWEEP) if form == "subcommand" else ("-m", *SWEEP, "--check")
    done = nnexp(files, *args)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [*EXPECTED, "sweep check: nothing was trained"]
    assert not (files / "outputs").exists()


@pytest.mark.slow
def test_check_of_a_good_sweep_exits_zero(files):
    done = nnexp(files, "check", "lr=0.1,1", "dataset=csv", "dataset.path=two.csv",
                 "dataset.target=label", "seed=range(3)")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "sweep check: all 6 jobs build (1 dataset loaded); nothing was trained"
    )
    assert not (files / "outputs").exists()


@pytest.mark.slow
def test_a_sweep_with_bad_jobs_refuses_to_start(files):
    done = nnexp(files, "-m", *SWEEP)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[:4] == EXPECTED
    assert lines[4].startswith("sweep check: the sweep was not started;")
    assert "sweep_check=skip" in lines[4]
    assert "Traceback" not in done.stderr
    assert not (files / "outputs").exists()  # no sweep folder, no job folder


def test_a_bad_mode_is_one_line(files):
    done = nnexp(files, "-m", "lr=0.1,1", "sweep_check=maybe")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "nnexp: error: sweep_check='maybe' is not allowed: "
        "sweep_check must be one of refuse, skip, off, only"
    )


@pytest.mark.slow
def test_an_optuna_search_is_checked_over_its_choices(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    done = nnexp(tmp_path, "check", "hparams_search=circles_optuna", "loss=cross_entropy",
                 "activation=tanh")  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # The search's four widths; its learning-rate interval is left to each trial.
    assert lines[0] == "sweep check: 4 of 4 jobs would fail (1 dataset loaded):"
    assert lines[1].startswith(
        "  trials with model.hidden=[2]: loss=cross_entropy needs a softmax output"
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["skip", "off"])
def test_skip_and_off_run_the_valid_jobs_and_record_the_bad(files, mode):
    done = nnexp(files, "-m", *SWEEP, f"sweep_check={mode}")
    assert done.returncode == 0, done.stderr
    if mode == "skip":
        assert EXPECTED[1] in done.stderr
        assert "going ahead with the 3 valid jobs (sweep_check=skip)" in done.stderr
    else:
        assert "sweep check" not in done.stderr + done.stdout
    (sweep,) = (files / "outputs" / "multirun").glob("*/*")
    status = {
        int(d.name): json.loads((d / "summary.json").read_text())
        for d in sweep.iterdir()
        if d.is_dir()
    }
    assert {n: s["status"] for n, s in status.items()} == {
        0: "ok", 1: "ok", 2: "failed", 3: "ok", 4: "failed", 5: "failed"
    }  # fmt: skip
    assert status[4]["error"] == BCE_3
    assert not (sweep / "4" / "metrics.csv").exists()


def _checked(overrides: list[str], launcher: str):
    """check() of a multirun composed in this process -> (job lines, runs built)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    from nnexp.edge import sweep_check
    from nnexp.edge.config import CONF_DIR

    built = []
    real = sweep_check.build
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        master = (
            GlobalHydra.instance()
            .config_loader()
            .load_configuration(
                "config", [f"hydra/launcher={launcher}", *overrides], run_mode=RunMode.MULTIRUN
            )
        )
        sweep_check.build = lambda cfg, data: built.append(cfg.seed) or real(cfg, data)
        try:
            jobs, _ = sweep_check.check(master)
        finally:
            sweep_check.build = real
    return [job.line() for job in jobs], built


@pytest.mark.parametrize("seeds", ["4294967296,1,2", "1,4294967296,2"])
def test_jobs_differing_in_replica_values_are_validated_not_each_built(seeds):
    # seed 2**32 passes alone on the command line but not with rng=legacy: a job's own
    # values are still checked together, with the reason building gives, whether the
    # bad jobs come before a job of their template built or after.
    sweep = [f"seed={seeds}", "rng=legacy,generator", "lr=0.5,2", "epochs=3"]
    basic, built_basic = _checked(sweep, "basic")
    batched, built_batched = _checked(sweep, "batched")
    assert batched == basic
    bad = [line for line in basic if not line.endswith(": None")]
    assert len(bad) == 2
    assert all("(seed=4294967296 rng=legacy lr=" in line for line in bad)
    assert all(line.endswith(": seed=4294967296 is not allowed with rng=legacy: seed must "
                             "be an integer in [0, 4294967295] (rng=generator takes any "
                             "seed >= 0)") for line in bad)  # fmt: skip
    assert len(built_basic) == 10  # every good job built
    assert len(built_batched) == 1  # the first good job; the rest validated


def test_every_replica_option_is_range_checked():
    # What lets the check validate a job's replica values instead of building it.
    from nnexp.edge.config import CONSTRAINTS
    from nnexp.sweep.batched import REPLICA_OPTIONS

    assert set(REPLICA_OPTIONS) <= set(CONSTRAINTS)


# An option some job sets and never reads: refused when no job of the sweep reads it (the
# sweep is the mistake), accepted when others read it (a grid crossing the two).
UNREAD = [
    (["optimizer=gd,momentum", "optimizer.momentum=0.5,0.8"], None),
    (["dataset=red_blue,xor", "dataset.n=50"], None),
    (["hydra/launcher=basic", "optimizer=gd,momentum", "optimizer.momentum=0.5"], None),
    (
        ["optimizer=gd,adam", "optimizer.momentum=0.5"],
        "optimizer.momentum=0.5 is not read by optimizer.name={}: only momentum takes it "
        "(optimizer=momentum)",
    ),
]


@pytest.mark.parametrize(
    "overrides,line", quick_first(UNREAD, [" ".join(o) for o, _ in UNREAD], quick=1)
)
def test_an_option_is_refused_only_when_no_job_of_the_sweep_reads_it(tmp_path, overrides, line):
    done = nnexp(tmp_path, "check", *overrides, "epochs=3")
    said = done.stdout.splitlines()
    if line is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert said[0].startswith("sweep check: all ")
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert said[0] == "sweep check: 2 of 2 jobs would fail (1 dataset loaded):"
        assert said[1:3] == [
            f"  job #0 (optimizer=gd): {line.format('gd')}",
            f"  job #1 (optimizer=adam): {line.format('adam')}",
        ]
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("launcher", quick_first(["batched", "basic"], ["batched", "basic"], 1))
def test_values_that_interpolate_are_checked_resolved_as_their_jobs_resolve_them(
    tmp_path, launcher
):
    # Hydra's idiom for a seed a job: every ${...} value was refused as "not an integer".
    line = "seed=${hydra:job.num}"
    done = nnexp(tmp_path, "-m", line, "lr=0.5,2", "epochs=3", f"hydra/launcher={launcher}",
                 "hydra.sweep.dir=sweep")  # fmt: skip
    assert done.returncode == 0, done.stderr
    seeds = [json.loads((tmp_path / "sweep" / n / "summary.json").read_text())["config"]["seed"]
             for n in "01"]  # fmt: skip
    assert seeds == [0, 1]
    # Each job trained with its own seed (the batched launcher once resolved every job's
    # against the last checked job's Hydra config): each re-runs bit for bit from its record.
    verified = nnexp(tmp_path, "verify", "sweep")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    bad = nnexp(tmp_path, "check", "seed=${nope}", "lr=0.5,2", "epochs=3")
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[1:3] == [
        "  job #0 (lr=0.5): seed: Interpolation key 'nope' not found",
        "  job #1 (lr=2): seed: Interpolation key 'nope' not found",
    ]
