"""The batched launcher: same run folders and numbers as the basic launcher, faster."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from cli import alive, forks, job_dirs, nnexp, started

from nnexp.sweep.batched import group_key, groups


def sweep(tmp_path, name, *args):
    folder = tmp_path / name
    result = nnexp(tmp_path, "-m", *args, f"hydra.sweep.dir={folder}")
    assert result.returncode == 0, result.stderr[-2000:]
    return folder, result


def replicas_trained(result) -> list[int]:
    """The size of every chunk the launcher trained together, from its log."""
    said = result.stdout + result.stderr
    return sorted(int(n) for n in re.findall(r"trained jobs? [#\d., ]+: (\d+) replicas?", said))


def assert_same_runs(basic, batched):
    """Every metric, parameter and prediction equal, bit for bit; timings aside."""
    assert [d.name for d in job_dirs(basic)] == [d.name for d in job_dirs(batched)]
    for a, b in zip(job_dirs(basic), job_dirs(batched)):
        ma = pd.read_csv(a / "metrics.csv").drop(columns="seconds")
        mb = pd.read_csv(b / "metrics.csv").drop(columns="seconds")
        assert list(ma.epoch) == list(mb.epoch), a.name
        np.testing.assert_array_equal(mb.to_numpy(float), ma.to_numpy(float))
        sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
        keys = ("status", "epochs_completed", "diverged_at", "config", "seed", "command")
        keys += ("stopped_at", "stop_reason", "best_epoch", "restored_best", "final")
        for key in keys:
            assert sa[key] == sb[key], (a.name, key)
        # Diverged replicas too: each keeps its divergence epoch's parameters (NaN = NaN).
        with np.load(a / "model.npz") as pa, np.load(b / "model.npz") as pb:
            for key in pa.files:
                if key != "meta":
                    np.testing.assert_array_equal(pb[key], pa[key])
        pa, pb = (pd.read_csv(d / "predictions.csv", keep_default_na=False) for d in (a, b))
        np.testing.assert_array_equal(pb.probability, pa.probability)
        for name in ("report.md", "curves.png", ".hydra/overrides.yaml"):
            assert (b / name).exists(), (b, name)
        # The learning page too: a replica's is its single run's, byte for byte.
        pages = [d / "learning.html" for d in (a, b)]
        assert pages[0].is_file() == pages[1].is_file(), a.name
        if pages[0].is_file():
            assert pages[1].read_bytes() == pages[0].read_bytes(), a.name


@pytest.mark.slow
def test_batched_matches_basic_over_seeds_and_learning_rates(tmp_path):
    args = (
        "dataset=xor",
        "dataset.n=60",
        "model.hidden=[5]",
        "activation=tanh",
        "optimizer=minibatch",
        "optimizer.batch_size=16",
        "epochs=40",
        "seed=0,1,2",
        "lr=0.05,0.5",
    )
    basic, _ = sweep(tmp_path, "basic", *args, "hydra/launcher=basic")
    batched, result = sweep(
        tmp_path, "batched", *args, "hydra/launcher=batched", "hydra.launcher.n_jobs=2"
    )
    assert replicas_trained(result) == [3, 3]  # one group, halved: one chunk a process
    assert all((d / "learning.html").is_file() for d in job_dirs(batched))  # compared too
    assert_same_runs(basic, batched)


@pytest.mark.slow
def test_a_diverging_replica_does_not_stop_its_group(tmp_path):
    args = (
        "dataset=gaussians",
        "dataset.n=40",
        "model.output_activation=identity",
        "loss=mse",
        "activation=relu",
        "epochs=60",
        "log_every=20",
        "lr=0.01,1e6",
        "seed=0,1",
    )
    basic, _ = sweep(tmp_path, "basic", *args, "hydra/launcher=basic")
    batched, _ = sweep(tmp_path, "batched", *args, "hydra/launcher=batched")
    statuses = [json.loads((d / "summary.json").read_text())["status"] for d in job_dirs(batched)]
    assert statuses == ["ok", "ok", "diverged", "diverged"]
    assert_same_runs(basic, batched)


@pytest.mark.slow
def test_each_replica_stops_early_and_restores_its_best_on_its_own(tmp_path):
    args = (
        "dataset=xor",
        "dataset.n=80",
        "dataset.val_fraction=0.25",
        "model.hidden=[6]",
        "activation=tanh",
        "optimizer=minibatch",
        "optimizer.batch_size=16",
        "epochs=300",
        "log_every=5",
        "early_stopping.patience=20",
        "seed=0,1,2",
        "lr=0.3,3",
        "snapshots=5",
    )
    basic, _ = sweep(tmp_path, "basic", *args, "hydra/launcher=basic")
    batched, _ = sweep(tmp_path, "batched", *args, "hydra/launcher=batched")
    summaries = [json.loads((d / "summary.json").read_text()) for d in job_dirs(basic)]
    stops = [s["stopped_at"] for s in summaries]
    assert "early_stopping" in [s["stop_reason"] for s in summaries]
    assert len(set(stops)) > 1, stops  # the replicas stopped at epochs of their own
    for s in summaries:
        assert s["restored_best"] and s["best_epoch"] <= s["stopped_at"]
    assert_same_runs(basic, batched)


@pytest.mark.slow
def test_groups_larger_than_max_replicas_are_split(tmp_path):
    args = ("experiment=gender", "epochs=30", "seed=range(3)", "lr=0.1,0.3")
    basic, _ = sweep(tmp_path, "basic", *args, "hydra/launcher=basic")
    batched, result = sweep(
        tmp_path,
        "batched",
        *args,
        "hydra/launcher=batched",
        "hydra.launcher.max_replicas=4",
        "hydra.launcher.n_jobs=1",
    )
    assert replicas_trained(result) == [2, 4]  # six jobs: one full chunk, the rest
    assert_same_runs(basic, batched)


@pytest.mark.slow
def test_jobs_that_cannot_share_train_in_their_own_groups(tmp_path):
    args = (
        "dataset=circles",
        "dataset.n=40",
        "epochs=20",
        "activation=sigmoid,tanh",
        "model.hidden=[3],[4]",
        "seed=0,1",
    )
    basic, _ = sweep(tmp_path, "basic", *args, "hydra/launcher=basic")
    batched, result = sweep(
        tmp_path, "batched", *args, "hydra/launcher=batched", "hydra.launcher.n_jobs=2"
    )
    assert replicas_trained(result) == [2, 2, 2, 2]  # four groups, two processes: no halving
    assert_same_runs(basic, batched)


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_rest_written(tmp_path):
    folder, _ = sweep(
        tmp_path,
        "batched",
        "loss=bce",
        "model.output_activation=sigmoid,softmax",
        "epochs=10",
        "hydra/launcher=batched",
        "sweep_check=skip",  # the bad job is launched: how the launcher records it is tested
    )
    statuses = [json.loads((d / "summary.json").read_text())["status"] for d in job_dirs(folder)]
    assert statuses == ["ok", "failed"]
    assert not (job_dirs(folder)[1] / "metrics.csv").exists()


@pytest.mark.slow
def test_a_job_whose_config_cannot_resolve_is_recorded_and_the_rest_trained(tmp_path):
    # An interpolation to nothing fails when the job's config is resolved: that job is
    # recorded as failed, as the basic launcher records it, and its group trains on.
    folder, result = sweep(
        tmp_path,
        "batched",
        "dataset=xor",
        "epochs=10",
        "seed=0,1",
        "dataset.name=xor,${oops}",
        "hydra/launcher=batched",
        "hydra.launcher.n_jobs=2",
        "sweep_check=skip",
    )
    statuses = [json.loads((d / "summary.json").read_text())["status"] for d in job_dirs(folder)]
    assert statuses == ["ok", "failed", "ok", "failed"]  # seeds outer, names inner
    assert "oops" in json.loads((job_dirs(folder)[1] / "summary.json").read_text())["error"]
    assert replicas_trained(result) == [1, 1]  # the two good jobs, one a process


@pytest.mark.slow
def test_resume_after_a_batched_sweep_skips_finished_jobs(tmp_path):
    args = ("experiment=gender", "epochs=20", "seed=0,1,2", "hydra/launcher=batched")
    folder, _ = sweep(tmp_path, "sweep", *args)
    before = {d.name: (d / "summary.json").stat().st_mtime_ns for d in job_dirs(folder)}
    (job_dirs(folder)[1] / "summary.json").unlink()  # as if killed before it finished
    _, result = sweep(tmp_path, "sweep", *args)
    after = {d.name: (d / "summary.json").stat().st_mtime_ns for d in job_dirs(folder)}
    assert after["0"] == before["0"] and after["2"] == before["2"]
    assert after["1"] != before["1"]
    assert (result.stdout + result.stderr).count("skipped") == 2


def test_group_key_ignores_only_per_replica_values():
    base = {
        "lr": 0.1,
        "seed": 0,
        "rng": "generator",
        "progress": True,
        "epochs": 10,
        "activation": "tanh",
        "model": {"hidden": [4], "init_scale": 1.0},
        "optimizer": {
            "momentum": 0.9,
            "beta1": 0.9,
            "beta2": 0.999,
            "eps": 1e-8,
            "weight_decay": 0.0,
            "name": "gd",
        },
    }
    other_seed = json.loads(json.dumps(base)) | {"seed": 5, "lr": 2.0}
    other_width = json.loads(json.dumps(base))
    other_width["model"]["hidden"] = [8]
    decayed = json.loads(json.dumps(base))
    decayed["optimizer"]["weight_decay"] = 0.01
    assert group_key(base) == group_key(other_seed)
    assert group_key(base) != group_key(other_width)
    assert group_key(base) != group_key(decayed)
    assert groups({0: base, 1: other_width, 2: other_seed, 3: base}, 2) == [[0, 2], [3], [1]]


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["hydra.launcher.max_replicas=0"])
def test_bad_launcher_settings_are_refused(tmp_path, bad):
    result = nnexp(
        tmp_path,
        "-m",
        "epochs=5",
        "seed=0,1",
        "hydra/launcher=batched",
        bad,
        f"hydra.sweep.dir={tmp_path / 's'}",
    )
    assert result.returncode != 0 and "max_replicas" in result.stderr


@pytest.mark.slow
def test_the_sweepers_check_and_the_launch_compose_each_template_once():
    # Hydra's sweepers compose every job to check it, then the launcher composes it again;
    # the batched launcher answers the check with derived configs and keeps them.
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _core
    from nnexp.edge.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration(
            "config", ["hydra/launcher=batched"], run_mode=RunMode.MULTIRUN
        )
        real = loader.load_sweep_config
        calls = []
        loader.load_sweep_config = lambda m, o: calls.append(o) or real(m, o)
        _core.compose_through_cache(loader, master)
        batch = [[f"seed={s}", "lr=0.5", "epochs=7"] for s in range(10)]
        for overrides in batch:  # what Sweeper.validate_batch_is_legal does
            loader.load_sweep_config(master_config=master, sweep_overrides=overrides)
        assert len(calls) == 2  # the template, and one check of a derived copy
        launched = [_core._COMPOSER[0].take(overrides).config() for overrides in batch]
        assert len(calls) == 2  # the launch took the kept recipes
        for seed, cfg in enumerate(launched):
            expected = real(master, batch[seed])
            assert OmegaConf.to_container(cfg) == OmegaConf.to_container(expected)
        assert len({id(cfg) for cfg in launched}) == 10


@pytest.mark.slow
def test_nnexps_check_the_sweepers_check_and_the_launch_share_one_composition_per_job():
    # nnexp's sweep check builds every job first: with the batched launcher its configs
    # are the ones the sweeper's validation finds and the launch takes (edge/compose.py).
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _core
    from nnexp.edge.config import CONF_DIR
    from nnexp.edge.sweep_check import check

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration(
            "config",
            ["hydra/launcher=batched", "seed=range(6)", "epochs=7,9"],
            run_mode=RunMode.MULTIRUN,
        )
        real = loader.load_sweep_config
        calls = []
        loader.load_sweep_config = lambda m, o: calls.append(o) or real(m, o)
        jobs, _ = check(master)
        assert len(jobs) == 12 and all(job.reason is None for job in jobs)
        # Two templates (one per epochs), each checked once against a real composition.
        assert len(calls) == 4
        _core.compose_through_cache(loader, master)
        batch = [[f"seed={s}", f"epochs={n}"] for n in (7, 9) for s in range(6)]
        batch.append(batch[0])  # a repeated job gets a config of its own
        for overrides in batch:  # what Sweeper.validate_batch_is_legal does
            loader.load_sweep_config(master_config=master, sweep_overrides=overrides)
        launched = [_core._COMPOSER[0].take(overrides).config() for overrides in batch]
        assert len(calls) == 4  # the sweeper's check and the launch composed nothing more
        for overrides, cfg in zip(batch, launched):
            expected = real(master, overrides)
            assert OmegaConf.to_container(cfg) == OmegaConf.to_container(expected)
        assert len({id(cfg) for cfg in launched}) == len(batch)


def test_a_group_that_fails_to_train_together_trains_alone(monkeypatch, caplog):
    # Anything that breaks a group's joint training must not take its jobs down: each
    # then runs its ordinary task (here stood in for by recording its number).
    from hydra_plugins.nnexp_batched_launcher import _core

    def broken(cfgs):
        raise RuntimeError("out of luck")

    monkeypatch.setattr(_core.batched, "train_group", broken)
    monkeypatch.setattr(_core, "_run", lambda num: num)
    monkeypatch.setattr(_core, "_READY", {3: {"seed": 3}, 4: {"seed": 4}})
    monkeypatch.setattr(_core._job, "task_config", lambda recipe, cache: recipe)
    monkeypatch.setattr(_core, "_JOBS", {3: "job 3", 4: "job 4"})
    monkeypatch.setattr(_core, "_CACHE", [{}])
    with caplog.at_level("WARNING"):
        assert _core._work(([3, 4], True)) == [3, 4]
    assert "jobs #3..#4 train alone: RuntimeError: out of luck" in caplog.text
    assert _core._TRAINED == {}


STOPPED_POOL = """
import threading
from concurrent.futures import process
from hydra_plugins.nnexp_batched_launcher import _core

def broken(unit):
    raise RuntimeError("stopped")

_core._work = broken  # the forked workers inherit it
try:
    _core._in_processes([([0], False), ([1], False)], 2)
except RuntimeError:
    pass
print(sum(isinstance(t, process._ExecutorManagerThread) for t in threading.enumerate()))
"""


def test_a_stopped_pool_is_wound_down_before_the_sweep_exits():
    # A sweep stopped while its workers run (Ctrl-C, a failure) kills them; the pool's
    # manager thread must be gone before Python exits, or its closing of a pipe races the
    # exit handler writing to it and a traceback follows the one-line message.
    done = subprocess.run([sys.executable, "-c", STOPPED_POOL], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_optuna_proposes_and_scores_the_same_trials_with_either_launcher(tmp_path):
    """The README's Optuna example, on the default (batched) launcher and the basic one."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    args = ("hparams_search=circles_optuna", "hydra.sweeper.n_trials=3", "epochs=30")
    basic, _ = sweep(tmp_path, "basic", *args, "hydra/launcher=basic")
    batched, result = sweep(tmp_path, "batched", *args)
    assert_same_runs(basic, batched)
    best = [(d / "optimization_results.yaml").read_text() for d in (basic, batched)]
    assert best[0] == best[1]
    # The search's own files: a row a trial, its best value, its views.
    rows = pd.read_csv(batched / "summary.csv")
    assert list(rows.job) == [0, 1, 2] and set(rows.status) == {"ok"}
    assert {"lr", "model.hidden", "activation"} <= set(rows.columns)
    assert rows.objective.tolist() == rows.final_val_loss.tolist()  # held out: val loss
    best_value = float(best[1].split("best_value:")[1].split()[0])
    assert best_value == pytest.approx(rows.objective.min(), rel=1e-12)
    assert "job 3 of 3 (#2)" in result.stdout + result.stderr
    report_md = (batched / "report.md").read_text()
    assert "python -m nnexp -m hparams_search=circles_optuna" in report_md
    for name in ("history.png", "slices.png", "parallel.png"):
        assert (batched / name).read_bytes().startswith(b"\x89PNG"), name
    assert not (batched / "final_metrics.png").exists()


@pytest.mark.slow
def test_sweeps_are_batched_by_default_and_basic_is_one_override_away(tmp_path):
    args = ("dataset=xor", "dataset.n=20", "epochs=5", "seed=0,1", "hydra.launcher.n_jobs=1")
    _, default = sweep(tmp_path, "default", *args)
    assert replicas_trained(default) == [2]
    basic, result = sweep(tmp_path, "basic", *args[:-1], "hydra/launcher=basic")
    assert replicas_trained(result) == []
    assert len(job_dirs(basic)) == 2


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_workers_end_with_the_sweeps_main_process(tmp_path, sig):
    # A scheduler may stop the main process alone (SIGTERM), or kill it outright: its
    # workers must not go on writing run folders, nor linger blocked for ever.
    args = ["seed=0,1,2,3", "epochs=30000000", "hydra.launcher.n_jobs=2", "sweep_check=off"]
    process = started(tmp_path, "-m", *args, "hydra.sweep.dir=sweep")
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = [pid for pid in forks(process.pid) if alive(pid)]
    assert len(workers) >= 2, "the workers never started"
    time.sleep(1.0)  # training
    os.kill(process.pid, sig)  # the main process alone
    _, stderr = process.communicate(timeout=60)
    deadline = time.monotonic() + 20
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(alive, workers)), "a worker outlived the sweep"
    if sig == signal.SIGTERM:  # handled as Ctrl-C: one line, the shell's status for it
        assert process.returncode == 130, stderr[-2000:]
        assert "interrupted" in stderr.strip().splitlines()[-1]
