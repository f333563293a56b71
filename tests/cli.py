"""Helpers shared by the tests: run ``python -m nnexp ...`` in a folder and find what it
left (run folders, a sweep's job folders, summaries, the processes it forked); compose
nnexp's config in-process.
``conftest.py`` registers the schema and holds the shared fixtures (the browser)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import DictConfig

from nnexp.edge.config import CONF_DIR
from nnexp.run.artifacts import SUMMARY


def nnexp(
    cwd: Path, *args: str, module: str = "nnexp", timeout: float = 300, input: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=command_env(),
        input=input,
    )


def command_env() -> dict:
    """The environment the tests run the command in: Hydra's short errors (as a user
    sees them) and no warning filters from the test run."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    env.pop("PYTHONWARNINGS", None)
    return env


def started(cwd: Path, *args: str) -> subprocess.Popen:
    """``python -m nnexp ...`` started in the background, in its own process group (as a
    terminal's foreground job is: ``os.killpg`` reaches it all, as Ctrl-C does), with
    Ctrl-C's default action even if the tests were started with SIGINT ignored (as a
    shell's background job is), so a signal test tests nnexp and not how pytest was run."""
    return subprocess.Popen(
        [sys.executable, "-m", "nnexp", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=command_env(),
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def run_dirs(cwd: Path) -> list[Path]:
    """Single-run folders under cwd/outputs/runs, oldest first."""
    return sorted(p.parent for p in (cwd / "outputs" / "runs").glob("*/*/.hydra"))


def only_run(cwd: Path) -> Path:
    dirs = run_dirs(cwd)
    assert len(dirs) == 1, dirs
    return dirs[0]


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / SUMMARY).read_text())


def job_dirs(sweep_dir: Path) -> list[Path]:
    """A sweep folder's job folders (0, 1, ...), in job order."""
    return sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def compose_config(*overrides: str, hydra: bool = False) -> DictConfig:
    """nnexp's config with ``overrides``, composed as the command composes it; with
    ``hydra`` the ``hydra`` node too."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra)


def forks(pid: int) -> list[int]:
    """Processes forked by ``pid`` (its children running its own command line), from /proc."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    kids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            forked = f"\nPPid:\t{pid}\n" in status.read_text() and (
                (status.parent / "cmdline").read_bytes() == command
            )
        except OSError:  # gone while we looked
            continue
        if forked:
            kids.append(int(status.parent.name))
    return kids


def alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def quick_first(cases: list, ids: list[str], quick: int = 2) -> list:
    """``cases`` as pytest params: the first ``quick`` in the quick tier, the rest marked
    slow. A table of error cases that each start the command keeps a sample in the
    developer's loop; the full suite (and CI) runs every case."""
    return [
        pytest.param(
            *(case if isinstance(case, tuple) else (case,)),
            id=name,
            marks=() if i < quick else pytest.mark.slow,
        )
        for i, (case, name) in enumerate(zip(cases, ids, strict=True))
    ]


def trained(data, hidden=(4,), epochs=200, lr=1.0, optimizer="gd", loss="sse", output="sigmoid"):
    """A small tanh network trained on ``data`` in-process (seed 0, xavier), validated
    on its held-out rows if it has any: -> (net, params, History)."""
    from nnexp.core.network import Network, init_params
    from nnexp.core.optim import OPTIMIZERS
    from nnexp.core.train import Split, encode_targets, train

    n_outputs = 1 if data.n_classes == 2 and output == "sigmoid" else data.n_classes
    net = Network(data.n_features, hidden, n_outputs, "tanh", output, True)
    params = init_params(net, "xavier", np.random.default_rng(0))

    def split(X, labels):
        return Split(data.transform(X), encode_targets(labels, n_outputs), labels)

    validation = None if data.X_val is None else split(data.X_val, data.labels_val)
    history = train(
        net,
        params,
        OPTIMIZERS[optimizer](params, lr),
        loss,
        split(data.X, data.labels),
        epochs,
        validation=validation,
    )
    return net, params, history


def wait_for(condition, seconds: float = 60.0, every: float = 0.05) -> bool:
    """Whether ``condition()`` came true within ``seconds``, asked every ``every`` s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
