"""Bad input, by kind: every case gets exactly one ``nnexp: error:`` line naming the
option, the value and what is allowed, a non-zero exit and nothing in the folder.

Found by trying every option of ``CONSTRAINTS`` and every config group with each kind
of bad value a user types, in runs and sweeps on both launchers, and the subcommands with
bad arguments (634 command lines, 63 failed): the cases below are the kinds that failed,
one row each. Refused on the command line (exit 2) costs a
fraction of a second; refused once the config is composed (exit 1) about one."""

from __future__ import annotations

import copy

import pytest
from cli import compose_config, nnexp, quick_first
from omegaconf import open_dict

from nnexp.edge.config import preflight
from nnexp.run.setup import ConfigError

OPTIONS_LIST = "options are dataset.name, dataset.kind"  # the start of every option's name
# Command lines refused before Hydra starts -> the exact line (after "nnexp: error: ").
COMMAND_LINE = [
    # two things for Hydra to do at once (Hydra: a ValueError and its traceback)
    (
        ["-m", "--cfg", "job", "lr=0.1,1"],
        "-m and --cfg cannot be given together: Hydra does one thing at a time: a run (-r), "
        "a sweep (-m), print the config (--cfg), --info or --shell-completion (nnexp check "
        "-m ... lists a sweep's jobs without running)",
    ),
    # a word that is neither an override nor a command (Hydra: a parse error, exit 1)
    (["lr"], "lr needs a value: write lr=VALUE (lr must be a number > 0)"),
    (
        ["reprot", "outputs"],
        "reprot is neither an override nor a command: did you mean nnexp report? (an "
        "override is key=value, such as lr=0.1; the commands are report, predict, verify, check)",
    ),
    (
        ["check", "nope"],
        "nope is neither an override nor a command (an override is key=value, such as "
        "lr=0.1; the commands are report, predict, verify, check)",
    ),
    # a flag Hydra does not know (Hydra: its eight-line usage)
    (
        ["--hlep"],
        "--hlep is not a flag of nnexp: did you mean --help? (flags: -m for a sweep, "
        "--cfg job, --help, --check; nnexp --help lists them all)",
    ),
    # deleting an option every run reads (Hydra: a three-line KeyError, a failed run folder)
    (
        ["~lr"],
        "~lr would delete lr, which every run reads: set it instead (lr=...), "
        "or leave it out for its default",
    ),
    (
        ["-m", "lr=0.1,1", "~model.hidden"],
        "~model.hidden would delete model.hidden, which every run reads: set it instead "
        "(model.hidden=...), or leave it out for its default",
    ),
    # a group or launcher given null or a number (Hydra: "the run could not start: ValueError")
    (
        ["dataset=null"],
        "dataset=null does not exist: dataset must be one of boolean_triples, circles, csv, "
        "gaussians, gender, red_blue, spiral, xor",
    ),
    (
        ["-m", "model=mlp,null"],
        "model=null does not exist: model must be one of deep, mlp, perceptron, wide",
    ),
    (
        ["hydra/launcher=1"],
        "hydra/launcher=1 is not a config name: hydra/launcher takes the name of one of its "
        "configs, such as basic, batched, joblib, submitit_local, submitit_slurm, slurm, ray, "
        "ray_local, ray_cluster",
    ),
    # no key (said " is not an option")
    (["=1"], "=1 is not a valid override (no key before '='): write key=value, such as lr=0.1"),
    # interval() without a search (Hydra: refused after making the sweep's folder)
    (
        ["-m", "lr=interval(0.01,1)"],
        "lr=interval(0.01,1) is a search interval, which only a search samples: sweep a list "
        "of values (lr=0.01,0.1,1, or range(...)), or search with hparams_search=... (Optuna)",
    ),
    # integers past what a run can take (crashed mid-run: OverflowError, MemoryError)
    (
        ["log_every=10000000000000000000"],
        "log_every=10000000000000000000 is not allowed: log_every must be null or an integer "
        "in [1, 1000000000]",
    ),
    (
        ["-m", "log_every=1,10000000000000000000"],
        "log_every=10000000000000000000 is not allowed: log_every must be null or an integer "
        "in [1, 1000000000]",
    ),
    (
        ["snapshots=10000000000"],
        "snapshots=10000000000 is not allowed: snapshots must be an integer in [0, 10000]",
    ),
]


def _ids(cases) -> list[str]:
    return [" ".join(args) for args, _ in cases]


@pytest.mark.parametrize("args,line", COMMAND_LINE, ids=_ids(COMMAND_LINE))
def test_command_line_mistakes_are_refused_before_hydra_starts(args, line):
    """In-process, every case: the check the command runs before Hydra."""
    words = args[1:] if args[0] == "check" else args
    with pytest.raises(ConfigError) as error:
        preflight(words)
    assert str(error.value) == line


def test_a_misspelt_nested_option_suggests_the_top_level_one():
    with pytest.raises(ConfigError) as error:
        preflight(["optimizer.lr=0.1"])
    assert str(error.value).startswith(
        "optimizer.lr is not an option: did you mean lr? (add it with +optimizer.lr=... only "
        "if you mean to extend the config): " + OPTIONS_LIST
    )


def test_the_words_hydra_takes_still_pass():
    """Flag values, deletions of groups, abbreviations and nnexp's own --check."""
    preflight(["--cfg", "job", "lr=0.5"])
    preflight(["--info", "config", "lr=0.1"])
    preflight(["-cn", "config", "~experiment", "--multi", "seed=0,1"])
    preflight(["-m", "lr=0.1,1", "--check"])
    preflight(["-m", "hparams_search=circles_optuna", "lr=interval(0.001,1)"])
    preflight(["~dataset", "log_every=1000000000", "snapshots=10000"])


def test_flags_go_before_the_overrides_wherever_they_were_typed():
    # Hydra's parser takes the overrides as one run of words: `lr=0.1,1 -m epochs=2` got
    # its usage and "unrecognized arguments: epochs=2".
    from nnexp.edge.config import flags_first

    assert flags_first(["lr=0.1,1", "-m", "epochs=2"]) == ["-m", "lr=0.1,1", "epochs=2"]
    assert flags_first(["lr=1", "--cfg", "job", "epochs=2", "--info=config", "-cn", "config"]) == [
        "--cfg", "job", "--info=config", "-cn", "config", "lr=1", "epochs=2"
    ]  # fmt: skip
    assert flags_first(["--info", "lr=1"]) == ["--info", "lr=1"]  # an optional value, not given


def test_an_override_after_a_flag_is_still_an_override(tmp_path):
    shown = nnexp(tmp_path, "lr=0.25", "--cfg", "job", "epochs=7")
    assert shown.returncode == 0, shown.stderr
    assert "lr: 0.25" in shown.stdout and "epochs: 7" in shown.stdout


@pytest.mark.parametrize(
    "args,line", quick_first(COMMAND_LINE, _ids(COMMAND_LINE), quick=3), ids=_ids(COMMAND_LINE)
)
def test_command_line_mistakes_get_one_line_and_leave_nothing(tmp_path, args, line):
    result = nnexp(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"nnexp: error: {line}"]
    assert "Traceback" not in result.stdout
    assert list(tmp_path.iterdir()) == []


# Configs that compose but cannot run -> the line. Before, each made a run folder holding
# only the failure (.hydra/, nnexp.log, summary.json); now the run's check refuses them
# before Hydra makes the folder, as the sweep check refuses a sweep's jobs.
CANNOT_RUN = [
    (
        ["loss=bce", "dataset=spiral", "dataset.classes=3"],
        "loss=bce needs a sigmoid output, not softmax: use loss=cross_entropy with softmax",
    ),
    (
        ["dataset.n=50"],
        "dataset.n=50 is not read by dataset=red_blue: only the generated datasets (xor, "
        "circles, gaussians, spiral) take it",
    ),
    # classes without points (crashed: MemoryError, OverflowError)
    (
        ["dataset=spiral", "dataset.classes=1000"],
        "dataset.classes=1000 is more than dataset.n=200 points: every class needs points, so "
        "dataset.classes must be an integer in [2, 200]",
    ),
    (
        ["dataset=gaussians", "dataset.classes=100000000000000000000"],
        "dataset.classes=100000000000000000000 is more than dataset.n=200 points: every class "
        "needs points, so dataset.classes must be an integer in [2, 200]",
    ),
    # past float32's range (NumPy warned of an overflow in a cast; the run diverged)
    (
        ["dtype=float32", "lr=1e39"],
        "lr=1e+39 is not allowed with dtype=float32: lr must be a number in (0, 3.403e+38], "
        "float32's largest",
    ),
    # options the run does not read (said ok and trained without them)
    (
        ["optimizer.momentum=0.5"],
        "optimizer.momentum=0.5 is not read by optimizer.name=gd: only momentum takes it "
        "(optimizer=momentum)",
    ),
    (
        ["optimizer=momentum", "optimizer.beta2=0.9"],
        "optimizer.beta2=0.9 is not read by optimizer.name=momentum: only adam takes it "
        "(optimizer=adam)",
    ),
    (
        ["dataset.seed=5"],
        "dataset.seed=5 is not read by dataset=red_blue without held-out rows: it seeds the "
        "generated datasets' points and the held-out split (dataset.val_fraction)",
    ),
    (
        ["dataset.queries=[[1,2,3]]"],
        "dataset.queries[0]: expected 2 numbers (x, y), got 3 values",
    ),
    (
        ["dataset=xor", "dataset.n=10000000", "model.hidden=[5000]"],
        "this run would need about 1.12e+03 GiB (10000000 rows x 5001 units of activations), "
        "more than max_memory_gb=8: make model.hidden or the dataset smaller, or raise "
        "max_memory_gb if the machine has the memory",
    ),
    (
        ["dataset=csv", "dataset.path=nope.csv", "dataset.target=y"],
        "dataset.path: no such file: nope.csv (relative to {cwd})",
    ),
    # an interpolation that does not resolve (was a two-line "could not start" and a
    # folder; before that, every ${...} value was refused as not a number)
    (["lr=${nope}"], "lr: Interpolation key 'nope' not found"),
]


@pytest.mark.parametrize(
    "args,line", quick_first(CANNOT_RUN, _ids(CANNOT_RUN), quick=2), ids=_ids(CANNOT_RUN)
)
def test_a_run_that_cannot_work_is_refused_before_its_folder_is_made(tmp_path, args, line):
    result = nnexp(tmp_path, *args, "epochs=3")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [f"nnexp: error: {line.format(cwd=tmp_path)}"]
    assert "Traceback" not in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_run_check_hands_its_dataset_to_the_run(tmp_path, capsys, monkeypatch):
    """The check loads the dataset once; the run trains on that very object."""
    from hydra.core.hydra_config import HydraConfig

    from nnexp.edge import task as task_module
    from nnexp.edge.sweep_check import RunCheck

    cfg = compose_config("dataset=xor", "epochs=3", hydra=True)
    RunCheck().on_run_start(cfg)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path / "run")
    HydraConfig.instance().set_config(cfg)
    job = copy.deepcopy(cfg)
    with open_dict(job):
        del job["hydra"]
    checked = task_module.CHECKED[task_module.dataset_key(job)]
    seen = []
    real = task_module.run
    monkeypatch.setattr(task_module, "run", lambda *a: seen.append(a[-1]) or real(*a))
    task_module.task(job)
    assert seen == [checked] and not task_module.CHECKED
    with pytest.raises(SystemExit) as exit_info:
        RunCheck().on_run_start(compose_config("dataset.n=50", hydra=True))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("nnexp: error: dataset.n=50 is not read by")


def test_options_the_run_reads_still_pass():
    from nnexp.edge.config import validate

    validate(compose_config("optimizer=momentum", "optimizer.momentum=0.5"))
    validate(compose_config("optimizer=adam", "optimizer.beta1=0.8", "optimizer.eps=1e-6"))
    validate(compose_config("dataset.seed=5", "dataset.val_fraction=0.3"))
    validate(compose_config("dataset=xor", "dataset.seed=5"))
    validate(compose_config("optimizer.weight_decay=0.01", "optimizer.momentum=0.9"))
    validate(compose_config("dtype=float32", "lr=3e38", "model.init_scale=1e10"))
    validate(compose_config("lr=1e39", "model.init_scale=1e39"))  # float64 holds them


# Subcommands' usage mistakes -> the one line (argparse printed its usage block first).
USAGE = [
    (
        ["report"],
        "nnexp report: error: the following arguments are required: sweep_dir "
        "(nnexp report --help shows its usage)",
    ),
    (
        ["predict", "--bogus", "run"],
        "nnexp predict: error: unrecognized arguments: --bogus "
        "(nnexp predict --help shows its usage)",
    ),
    (
        ["verify", "a", "b"],
        "nnexp verify: error: unrecognized arguments: b (nnexp verify --help shows its usage)",
    ),
]


@pytest.mark.parametrize("args,line", quick_first(USAGE, _ids(USAGE), quick=1), ids=_ids(USAGE))
def test_a_subcommands_usage_mistake_is_one_line(tmp_path, args, line):
    result = nnexp(tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert list(tmp_path.iterdir()) == []
