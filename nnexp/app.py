"""The Hydra task: config -> dataset, network, optimiser -> train -> run folder.

``run(cfg, out_dir)`` is importable and Hydra-free apart from taking a DictConfig;
``main`` is the thin ``@hydra.main`` edge that also decides what a failure means: in a
single run a non-zero exit, in a sweep a ``failed`` summary and a normal return, so one
bad job never takes the others down (Hydra skips its multirun-end callback otherwise).
"""
from __future__ import annotations

import logging
import math
import shlex
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import __version__, artifacts, resume
from .config import CONF_DIR, ConfigError, register, validate
from .data import (BUILTIN, DataError, Dataset, generate, hold_out, standardized,
                   with_queries)
from .network import Network, Params, init_params
from .optim import OPTIMIZERS
from .train import History, Split, encode_targets, train

log = logging.getLogger("nnexp")
TARGET_ROWS = 2000  # log_every's default keeps metrics.csv near this many rows


@dataclass
class Setup:
    """Everything ``train`` needs, built from a validated config."""

    dataset: Dataset
    net: Network
    params: Params
    optimizer: object
    data: Split
    validation: Split | None
    rng: object
    train_kwargs: dict


def load_dataset(dc) -> Dataset:
    if dc.kind == "builtin":
        data = BUILTIN[dc.name]()
    elif dc.kind == "generated":
        data = generate(dc.name, dc.n, dc.noise, dc.seed)
    else:
        from .csv_data import load_csv

        data = load_csv(dc.path, dc.target, features=_plain(dc.features))
    data = with_queries(data, _plain(dc.queries))
    data = hold_out(data, dc.val_fraction, dc.seed)
    return standardized(data) if dc.standardize else data


def _plain(node):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node) if hasattr(node, "_content") else node


def output_layer(cfg, n_classes: int) -> tuple[int, str]:
    """(number of outputs, output activation): one sigmoid for two classes, a softmax
    over the classes for more, unless the config names the output activation."""
    act = cfg.model.output_activation
    if act == "auto":
        act = "sigmoid" if n_classes == 2 else "softmax"
    n_outputs = 1 if n_classes == 2 and act != "softmax" else n_classes
    if cfg.loss == "cross_entropy" and act != "softmax":
        raise ConfigError(f"loss=cross_entropy needs a softmax output, not {act}: "
                          "use loss=bce for a sigmoid output or model.output_activation=softmax")
    if cfg.loss == "bce" and act != "sigmoid":
        raise ConfigError(f"loss=bce needs a sigmoid output, not {act}: "
                          "use loss=cross_entropy with softmax")
    return n_outputs, act


def make_rng(cfg):
    # The tutorial presets draw through NumPy's legacy generator; a RandomState seeded
    # with s gives exactly the numbers np.random.seed(s) would, without global state.
    if cfg.rng == "legacy":
        return np.random.RandomState(cfg.seed)
    return np.random.default_rng(cfg.seed)


def default_log_every(epochs: int) -> int:
    return max(1, math.ceil(epochs / TARGET_ROWS))


def build(cfg, dataset: Dataset | None = None) -> Setup:
    dataset = dataset or load_dataset(cfg.dataset)
    n_outputs, out_act = output_layer(cfg, dataset.n_classes)
    net = Network(dataset.n_features, tuple(cfg.model.hidden), n_outputs, cfg.activation,
                  out_act, cfg.model.bias)
    dtype = np.dtype(cfg.dtype)
    rng = make_rng(cfg)
    params = init_params(net, cfg.model.init, rng, cfg.model.init_scale, dtype)
    o = cfg.optimizer
    optimizer = OPTIMIZERS[o.name](params, cfg.lr, weight_decay=o.weight_decay,
                                   momentum=o.momentum, beta1=o.beta1, beta2=o.beta2, eps=o.eps)

    def split(X, labels):
        return Split(dataset.transform(X).astype(dtype), encode_targets(labels, n_outputs, dtype),
                     labels)

    validation = None if dataset.X_val is None else split(dataset.X_val, dataset.labels_val)
    kwargs = dict(epochs=cfg.epochs, batch_size=o.batch_size, shuffle=o.shuffle,
                  log_every=cfg.log_every or default_log_every(cfg.epochs))
    return Setup(dataset, net, params, optimizer, split(dataset.X, dataset.labels),
                 validation, rng, kwargs)


def command_line() -> str:
    """The command that reproduces this run."""
    from hydra.core.hydra_config import HydraConfig

    overrides = list(HydraConfig.get().overrides.task)
    return " ".join(["python -m nnexp", *map(shlex.quote, overrides)])


@lru_cache(maxsize=1)  # the source does not change under a running process
def git_commit() -> str | None:
    """The commit of nnexp's own source, with -dirty when it has uncommitted changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(cfg) -> dict:
    from omegaconf import OmegaConf

    return {"config": OmegaConf.to_container(cfg, resolve=True), "seed": cfg.seed,
            "versions": {"nnexp": __version__, "numpy": np.__version__,
                         "python": sys.version.split()[0]},
            "git_commit": git_commit()}


def _progress(cfg, epochs: int):
    """A tqdm bar over epochs on a terminal; None when output is not one."""
    if not cfg.progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=epochs, unit="epoch", leave=False, dynamic_ncols=True)


def fit(cfg, setup: Setup) -> History:
    """Train a built setup, with a progress bar on a terminal."""
    bar = _progress(cfg, cfg.epochs)
    done = [0]

    def on_log(epoch: int, row: dict) -> None:
        if bar is not None:
            bar.update(epoch - done[0])
            bar.set_postfix(loss=f"{float(row['loss']):.4g}", refresh=False)
            done[0] = epoch

    log.info("training %s on %s (%d rows) for %d epochs", setup.net.sizes,
             setup.dataset.name, len(setup.data.X), cfg.epochs)
    try:
        return train(setup.net, setup.params, setup.optimizer, cfg.loss, setup.data,
                     rng=setup.rng, validation=setup.validation, on_log=on_log,
                     **setup.train_kwargs)
    finally:
        if bar is not None:
            bar.close()


def run(cfg, out_dir: Path, command: str = "python -m nnexp",
        trained: tuple[Setup, History] | None = None) -> dict:
    """Train one network as ``cfg`` says and write its run folder. Returns the summary.

    ``trained`` hands over a network that was already trained elsewhere (the batched
    launcher trains many at once); only the run folder is then written."""
    validate(cfg)
    if trained is None:
        setup = build(cfg)
        history = fit(cfg, setup)
    else:
        setup, history = trained
    summary = summarize(history, setup.validation is not None)
    summary.update(command=command, **provenance(cfg))
    if summary["status"] == "diverged":
        log.warning("diverged at epoch %d: the loss became %s; stopped there",
                    history.diverged_at, summary["final"]["loss"])
    write_run(Path(out_dir), setup, history, summary)
    log.info("%s after %d epochs: loss %.6g, accuracy %.4f (%.2f s)", summary["status"],
             summary["epochs_completed"], summary["final"]["loss"],
             summary["final"]["accuracy"], summary["train_seconds"])
    return summary


def summarize(history: History, has_validation: bool) -> dict:
    metrics = ["loss", "accuracy"] + (["val_loss", "val_accuracy"] if has_validation else [])
    final = {m: float(history.columns[m][-1]) for m in metrics}
    best = {}
    for m in metrics:
        values = np.asarray(history.columns[m], dtype=float)
        finite = np.where(np.isfinite(values), values, np.nan)
        pick = np.nanargmin if m.endswith("loss") else np.nanargmax
        if np.all(np.isnan(finite)):
            continue
        i = int(pick(finite))
        best[m] = float(values[i])
        best[m + "_epoch"] = history.epochs[i]
    objective = final["val_loss" if has_validation else "loss"]
    diverged = bool(history.diverged_at)
    return {"status": "diverged" if diverged else "ok",
            "objective": objective if math.isfinite(objective) else None,
            "final": final, "best": best,
            "epochs_completed": history.epochs[-1],
            "diverged_at": int(history.diverged_at) or None,
            "train_seconds": history.seconds}


def write_run(out_dir: Path, setup: Setup, history: History, summary: dict) -> None:
    from . import plots, run_report

    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = artifacts.metrics_frame(history)
    artifacts.write_frame(out_dir / "metrics.csv", metrics)
    artifacts.write_frame(out_dir / "predictions.csv",
                          artifacts.predictions_frame(setup.dataset, setup.net, setup.params))
    artifacts.save_model(out_dir / "model.npz", setup.net, setup.params, setup.dataset)
    figures = plots.run_plots(out_dir, metrics, setup.dataset, setup.net, setup.params)
    summary["plots"] = [p.name for p in figures]
    run_report.write_report(out_dir, summary, setup.dataset, setup.net)
    artifacts.write_json(out_dir / artifacts.SUMMARY, summary)


def record_failure(out_dir: Path, cfg, error: BaseException, command: str) -> dict:
    """A failed run leaves only summary.json, with the error: never half the artifacts."""
    summary = {"status": "failed", "error": f"{type(error).__name__}: {error}"
               if not isinstance(error, (ConfigError, DataError)) else str(error),
               "objective": None, "command": command}
    try:
        summary.update(provenance(cfg))
    except Exception:  # a config too broken to resolve still gets its error recorded
        pass
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in artifacts.RESULTS:
        (out_dir / name).unlink(missing_ok=True)
    artifacts.write_json(out_dir / artifacts.SUMMARY, summary)
    return summary


def task(cfg, trained: tuple[Setup, History] | None = None) -> float:
    """The body of the Hydra app. Returns the objective for sweepers (inf when failed
    or diverged, so a minimising search steers away). ``trained``: see ``run``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    command = command_line()
    started = time.perf_counter()
    if hc.mode == RunMode.MULTIRUN:  # resume: a job a killed or earlier sweep finished is kept
        done = resume.finished(out_dir, cfg)
        if done is not None:
            log.info("%s", resume.progress_line(hc.job.num, resume.expected_jobs(
                hc.sweep.dir), done, 0.0, skipped=True))
            return float("inf") if done.get("objective") is None else done["objective"]
        resume.clear(out_dir)
    try:
        summary = run(cfg, out_dir, command, trained)
    except (ConfigError, DataError) as error:
        summary = record_failure(out_dir, cfg, error, command)
        log.error("%s", error)
        if hc.mode != RunMode.MULTIRUN:
            print(f"nnexp: error: {error}", file=sys.stderr)
    except Exception as error:
        summary = record_failure(out_dir, cfg, error, command)
        log.error("failed: %s\n%s", summary["error"], traceback.format_exc())
        if hc.mode != RunMode.MULTIRUN:
            print(f"nnexp: error: {summary['error']} (traceback in {out_dir}/{hc.job.name}.log)",
                  file=sys.stderr)
    if hc.mode == RunMode.MULTIRUN:
        log.info("%s", resume.progress_line(hc.job.num, resume.expected_jobs(hc.sweep.dir),
                                            summary, time.perf_counter() - started))
    if summary["status"] == "failed" and hc.mode != RunMode.MULTIRUN:
        # SystemExit is not an Exception, so Hydra lets it end the process with this code.
        raise SystemExit(1)
    objective = summary.get("objective")
    return float("inf") if objective is None else objective


register()


import hydra  # noqa: E402  (the edge: everything above is importable without Hydra running)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg) -> float:
    return task(cfg)
