"""One run, start to end: train a built setup, summarise it, write its run folder.

The figures and the run report are imported when a run folder is written, not before, so
a process that only trains never loads Matplotlib.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.data import DataError, Dataset
from ..core.train import History
from . import artifacts, environment, learning
from .csv_data import id_columns
from .setup import ConfigError, Setup, build

log = logging.getLogger("nnexp")


_GIT: dict = {}  # "pid": the process that asked; "asked": git's processes; "answer"


def ask_git_early() -> None:
    """Start git's two commands for ``git_commit``, once a process (the source does not
    change under a running process), without waiting: their tens of milliseconds then
    pass while Hydra composes and the run trains. Processes, not a thread, so a process
    forked meanwhile inherits no lock; it asks again itself."""
    if _GIT.get("pid") == os.getpid():
        return
    here = str(Path(__file__).resolve().parent)
    commands = (["rev-parse", "HEAD"], ["status", "--porcelain", "--", "."])
    try:
        asked = [
            subprocess.Popen(
                ["git", "-C", here, *command],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            for command in commands
        ]
    except OSError:  # no git here
        asked = []
    _GIT.clear()
    _GIT.update(pid=os.getpid(), asked=asked)


def git_commit() -> str | None:
    """The commit of nnexp's own source, with -dirty when it has uncommitted changes
    (None outside a git checkout or without git)."""
    ask_git_early()
    if "answer" not in _GIT:
        _GIT["answer"] = _answer(_GIT["asked"])
    return _GIT["answer"]


def _answer(asked: list) -> str | None:
    if not asked:
        return None
    try:
        (commit, _), (dirty, _) = (process.communicate(timeout=5) for process in asked)
    except subprocess.SubprocessError:  # git hung: no answer rather than no run
        for process in asked:
            process.kill()
            process.communicate()
        return None
    if asked[0].returncode:
        return None
    return commit.strip() + ("-dirty" if dirty.strip() else "")


def provenance(cfg) -> dict:
    from omegaconf import OmegaConf

    return {
        "config": OmegaConf.to_container(cfg, resolve=True),
        "seed": cfg.seed,
        "versions": {
            "nnexp": __version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "blas": environment.blas(),  # its thread count and kernel change the rounding
        "git_commit": git_commit(),
    }


# Seconds before the bar first shows: a run done sooner never draws one.
PROGRESS_DELAY = 0.5


def _progress(cfg, epochs: int):
    """A tqdm bar over epochs on a terminal; None when output is not one. It appears
    only after PROGRESS_DELAY and is wiped when it closes (``leave=False``), so it leaves
    no ``0%|...| 0/N`` line behind for the next log line to be glued to."""
    if not cfg.progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=epochs, unit="epoch", leave=False, dynamic_ncols=True, delay=PROGRESS_DELAY)


def fit(cfg, setup: Setup) -> History:
    """Train a built setup, with a progress bar on a terminal."""
    done = [0]
    snap = learning.recorder(
        setup.dataset, setup.params, cfg.epochs, setup.train_kwargs["log_every"], cfg.snapshots
    )

    def on_log(epoch: int, row: dict) -> None:
        if snap is not None:
            snap(epoch, row)
        if bar is not None:
            bar.update(epoch - done[0])
            bar.set_postfix(loss=f"{float(row['loss']):.4g}", refresh=False)
            done[0] = epoch

    log.info(
        "training %s on %s (%d rows) for %d epochs",
        setup.net.sizes,
        setup.dataset.name,
        len(setup.data.X),
        cfg.epochs,
    )
    # After the log line: a bar drawn before it would have the line glued to its end.
    bar = _progress(cfg, cfg.epochs)
    try:
        history = setup.train(on_log)
        setup.snapshots = snap.taken if snap is not None else []
        return history
    finally:
        if bar is not None:
            bar.close()


def run(
    cfg,
    out_dir: Path,
    command: str = "python -m nnexp",
    trained: tuple[Setup, History] | None = None,
    dataset: Dataset | None = None,
) -> dict:
    """Train one network as ``cfg`` says and write its run folder. Returns the summary.

    ``trained`` hands over a network that was already trained elsewhere (the batched
    launcher trains many at once); only the run folder is then written. ``dataset``: the
    dataset ``cfg.dataset`` loads, when it was loaded already (the run's check)."""
    ask_git_early()
    if trained is None:
        setup = build(cfg, dataset)
        columns = column_warnings(cfg, setup)
        history = fit(cfg, setup)
    else:
        setup, history = trained
        columns = column_warnings(cfg, setup)
    summary = summarize(history, setup.validation is not None)
    summary.update(
        command=command, majority=majority(setup), resolved=setup.resolved, **provenance(cfg)
    )
    learned = learned_nothing(history, summary) or no_better_than_majority(summary)
    if columns or learned:  # the report says them too, not only the log
        summary["warnings"] = columns + ([learned] if learned else [])
    if summary["status"] == "diverged":
        log.warning(
            "diverged at epoch %d: the loss became %s; stopped there",
            history.diverged_at,
            summary["final"]["loss"],
        )
    line = stop_line(summary)
    if line:
        log.info("%s", line)
    write_run(Path(out_dir), setup, history, summary)
    log.info("%s", result_line(summary))
    if learned:
        log.warning("%s", learned)
    return summary


def column_warnings(cfg, setup: Setup) -> list[str]:
    """What a user's table holds that it probably should not (an id column), logged
    before training and returned for the summary."""
    lines = id_columns(setup.dataset) if cfg.dataset.kind == "csv" else []
    for line in lines:
        log.warning("%s", line)
    return lines


def result_line(summary: dict) -> str:
    """``ok after 449 epochs: loss 0.12, accuracy 0.9467; validation loss 0.40, accuracy
    0.8200 (0.22 s)``: the held-out numbers too, which the objective is."""
    final = summary["final"]
    line = (
        f"{summary['status']} after {summary['epochs_completed']} epochs: "
        f"loss {final['loss']:.6g}, accuracy {final['accuracy']:.4f}"
    )
    if "val_loss" in final:
        line += f"; validation loss {final['val_loss']:.6g}, accuracy {final['val_accuracy']:.4f}"
    return line + f" ({summary['train_seconds']:.2f} s)"


def learned_nothing(history: History, summary: dict) -> str | None:
    """A warning when an ok run's training loss ended no lower than the untrained
    network's (epoch 0): it says ok, and would otherwise not say it learned nothing."""
    if summary["status"] != "ok" or not history.epochs or history.epochs[0] != 0:
        return None
    start, end = float(history.columns["loss"][0]), summary["final"]["loss"]
    if not end >= start:
        return None
    return (
        f"the training loss ended at {end:.6g}, no lower than the untrained network's "
        f"{start:.6g}: it learned nothing (a smaller lr, more epochs or another activation "
        "may help)"
    )


def majority(setup: Setup) -> dict:
    """Always answering the training rows' most common class: the class, and the
    accuracy that scores on the training (and validation) rows. A classifier that does
    no better has learned nothing the class counts do not tell: on a table of 95/5
    classes, 95 % accuracy."""
    labels = setup.data.labels  # (n,) class indices
    top = int(np.argmax(np.bincount(labels, minlength=len(setup.dataset.class_names))))
    out = {"class": setup.dataset.class_names[top], "accuracy": float(np.mean(labels == top))}
    if setup.validation is not None:
        out["val_accuracy"] = float(np.mean(setup.validation.labels == top))
    return out


def no_better_than_majority(summary: dict) -> str | None:
    """A warning when an ok run's accuracy (validation, when rows were held out) is no
    better than always answering the most common class: ok, and still nothing learned."""
    final, floor = summary["final"], summary["majority"]
    metric = "val_accuracy" if "val_accuracy" in final else "accuracy"
    if summary["status"] != "ok" or final[metric] > floor[metric]:
        return None
    rows = "validation" if metric == "val_accuracy" else "training"
    return (
        f"{rows} accuracy {final[metric]:.4f} is no better than always answering the most "
        f"common class {floor['class']!r} ({floor[metric]:.4f}): the network learned nothing "
        "the class counts do not tell (another lr, more epochs or features that tell the "
        "classes apart may help)"
    )


def stop_line(summary: dict) -> str | None:
    """The log line on how training ended, when there is more to say than "ok after N
    epochs": an early stop, or the weights of an earlier epoch kept."""
    restored = summary["restored_best"] and summary["best_epoch"] != summary["stopped_at"]
    kept = f"weights of epoch {summary['best_epoch']} restored"
    if summary["stop_reason"] == "early_stopping":
        return f"stopped at epoch {summary['stopped_at']} ({summary['stop_message']})" + (
            f"; {kept}" if summary["restored_best"] else ""
        )
    if restored:  # every epoch ran, and an earlier one is kept: its best monitored value
        return f"{summary['stop_message']}; {kept} (best {summary['monitor']})"
    return None


def summarize(history: History, has_validation: bool) -> dict:
    metrics = ["loss", "accuracy"] + (["val_loss", "val_accuracy"] if has_validation else [])
    # With restored best weights, the final metrics are the best epoch's row.
    at = history.epochs.index(int(history.best_epoch)) if history.restored else -1
    final = {m: float(history.columns[m][at]) for m in metrics}
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
    return {
        "status": "diverged" if diverged else "ok",
        "objective": objective if math.isfinite(objective) else None,
        "final": final,
        "best": best,
        "epochs_completed": history.epochs[-1],
        "diverged_at": int(history.diverged_at) or None,
        "train_seconds": history.seconds,
        **stopping(history, diverged),
    }


def stopping(history: History, diverged: bool) -> dict:
    """Why training ended, where, and which epoch's weights the run keeps."""
    watched = history.monitor is not None
    if diverged:
        reason, why = (
            "diverged",
            f"the training loss became non-finite at epoch {history.diverged_at}",
        )
    elif history.stopped_at:
        reason = "early_stopping"
        why = (
            f"no {history.monitor} improvement for {history.patience} epochs "
            f"after epoch {history.best_epoch}"
        )
    else:
        reason, why = "epochs", f"ran all {history.epochs[-1]} epochs"
    return {
        "stopped_at": history.epochs[-1],
        "stop_reason": reason,
        "stop_message": why,
        "monitor": history.monitor,
        "best_epoch": int(history.best_epoch) if watched else None,
        "restored_best": history.restored,
    }


def write_run(out_dir: Path, setup: Setup, history: History, summary: dict) -> None:
    """The run folder, results first: the tables and the model, then the figures and the
    pages, each of which may fail alone (logged as a warning, named in ``summary.json``'s
    ``figure_errors``, the run's status kept), then ``summary.json``, which marks the run
    finished."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # A diverged network's NaN and inf outputs are expected, and written as such: no
    # RuntimeWarning for each of them on the terminal.
    with np.errstate(all="ignore"):
        _write_results(out_dir, setup, history, summary)
    artifacts.write_json(out_dir / artifacts.SUMMARY, summary)


def _write_results(out_dir: Path, setup: Setup, history: History, summary: dict) -> None:
    from . import figures, report

    metrics = artifacts.metrics_frame(history)
    artifacts.write_frame(out_dir / artifacts.METRICS, metrics)
    artifacts.write_frame(
        out_dir / artifacts.PREDICTIONS,
        artifacts.predictions_frame(setup.dataset, setup.net, setup.params),
        na_rep=artifacts.NAN,
    )
    artifacts.save_model(out_dir / artifacts.MODEL, setup.net, setup.params, setup.dataset)
    # The figures' titles name the dataset: its override would only take up room.
    setting = report.short_setting(summary.get("command", ""), dataset=setup.dataset.name)
    loss = (summary.get("config") or {}).get("loss")
    drawn, errors = figures.run_plots(
        out_dir, metrics, setup.dataset, setup.net, setup.params, setting=setting, loss=loss
    )
    try:
        drawn += learning.write(out_dir, setup.dataset, setup.net, setup.snapshots, metrics)
    except Exception as error:  # like a figure: logged and named, the results kept
        errors[artifacts.LEARNING_PAGE] = f"{type(error).__name__}: {error}"
        log.warning("%s not drawn: %s", artifacts.LEARNING_PAGE, errors[artifacts.LEARNING_PAGE])
        for name in (artifacts.LEARNING_PAGE, artifacts.LEARNING_GIF):
            (out_dir / name).unlink(missing_ok=True)
    summary["plots"] = [p.name for p in drawn]
    summary["figure_errors"] = errors  # the pages say what is missing, and why
    for name in report.RENDERERS:
        try:
            report.write_report(out_dir, summary, setup.dataset, setup.net, name)
        except Exception as error:  # a page is never worth a run's results either
            errors[name] = f"{type(error).__name__}: {error}"
            log.warning("%s not written: %s", name, errors[name])
            (out_dir / name).unlink(missing_ok=True)
    if not errors:
        del summary["figure_errors"]


def record_failure(out_dir: Path, cfg, error: BaseException, command: str) -> dict:
    """A failed run leaves only summary.json, with the error: never half the artifacts."""
    summary = {
        "status": "failed",
        "error": f"{type(error).__name__}: {error}"
        if not isinstance(error, (ConfigError, DataError))
        else str(error),
        "objective": None,
        "command": command,
    }
    # A config too broken to resolve still gets its error recorded.
    with contextlib.suppress(Exception):
        summary.update(provenance(cfg))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in artifacts.RESULTS:
        # One that cannot go (a folder in its place) stays: the summary says failed.
        with contextlib.suppress(OSError):
            (out_dir / name).unlink(missing_ok=True)
    artifacts.write_json(out_dir / artifacts.SUMMARY, summary)
    return summary
