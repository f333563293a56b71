"""The Hydra task called directly with a composed config, as the CLI would call it."""

from __future__ import annotations

import copy
import json

import pytest
from cli import compose_config
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict

from nnexp.edge.task import task
from nnexp.run import setup as run_setup
from nnexp.run.execute import run
from nnexp.run.setup import default_log_every


def composed(tmp_path, *overrides, mode=RunMode.RUN):
    """(task config, run folder) with HydraConfig set as Hydra sets it for a job."""
    cfg = compose_config(*overrides, hydra=True)
    out = tmp_path / "run"
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
        cfg.hydra.mode = mode
        cfg.hydra.job.num = 0
        cfg.hydra.sweep.dir = str(tmp_path)
    HydraConfig.instance().set_config(cfg)
    task_cfg = copy.deepcopy(cfg)
    with open_dict(task_cfg):
        del task_cfg["hydra"]
    return task_cfg, out


def test_run_returns_the_summary_it_writes(tmp_path):
    cfg, out = composed(tmp_path, "experiment=gender", "epochs=50")
    summary = run(cfg, out)
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["epochs_completed"] == 50


def test_objective_is_the_validation_loss_when_held_out(tmp_path):
    cfg, _ = composed(tmp_path, "dataset=xor", "dataset.val_fraction=0.3", "epochs=20")
    objective = task(cfg)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert objective == summary["final"]["val_loss"] != summary["final"]["loss"]


def boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_a_crash_leaves_a_failed_summary_and_a_non_zero_exit(tmp_path, monkeypatch, capsys):
    cfg, out = composed(tmp_path, "epochs=5")
    out.mkdir(parents=True)
    (out / "curves.png").write_bytes(b"from an earlier attempt")
    monkeypatch.setattr(run_setup, "train_loop", boom)
    with pytest.raises(SystemExit) as exit_info:
        task(cfg)
    assert exit_info.value.code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == "RuntimeError: boom"
    assert summary["config"]["epochs"] == 5
    assert not (out / "metrics.csv").exists() and not (out / "model.npz").exists()
    assert not (out / "curves.png").exists()
    assert capsys.readouterr().err.count("nnexp: error: RuntimeError: boom") == 1


def test_a_crash_inside_a_sweep_returns_normally(tmp_path, monkeypatch):
    cfg, out = composed(tmp_path, "epochs=5", mode=RunMode.MULTIRUN)
    monkeypatch.setattr(run_setup, "train_loop", boom)
    assert task(cfg) == float("inf")
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"


def test_default_log_every_keeps_about_two_thousand_rows():
    assert default_log_every(100_000) == 50
    assert default_log_every(1_000) == 1
    assert 100_001 // default_log_every(100_001) <= 2000
