"""End to end: what goes wrong gets one line, and nothing earlier is lost (issue 16).

Every test runs the command as a user does (``tests/cli.py``), checks the exit status,
that stderr is one line naming the thing (no traceback), and compares the folders
before and after: a refused command writes nothing; a resumed sweep keeps what was done.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from cli import nnexp


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256 of its bytes)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def refused(tmp_path: Path, *args: str, status: int = 2, env: dict | None = None) -> str:
    """Run a command that must be refused before anything is written; its one line."""
    (tmp_path / "keep.txt").write_text("an earlier file\n")
    before = snapshot(tmp_path)
    if env is None:
        result = nnexp(tmp_path, *args)
    else:
        result = subprocess.run(
            [sys.executable, "-m", "nnexp", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert result.returncode == status, result.stderr
    assert snapshot(tmp_path) == before  # no run folder, no sweep folder, nothing changed
    return one_line(result.stderr)


# --- Hydra's own failures (item 12) -----------------------------------------------------

CASES = [
    (["dataset.queries=5"], "dataset.queries=5 is not allowed: dataset.queries must be a list"),
    (["dataset.features=5"], "dataset.features=5 is not allowed: dataset.features must be a list"),
    (["lr=[1"], "lr=[1 is not a valid override"),
    (["activation=tänh"], "put a value with non-ASCII letters in quotes"),
    (["seed=4294967296", "rng=legacy"], "seed=4294967296 is not allowed with rng=legacy"),
    (["-m", "lr=1,2", "hydra.sweep.subdir=../x_${hydra.job.num}"], "outside the sweep folder"),
    (["-m", "lr=1,2", "hydra.sweep.subdir=/tmp/x_${hydra.job.num}"], "outside the sweep folder"),
]


@pytest.mark.parametrize("args,words", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_command_lines_get_one_line_and_write_nothing(tmp_path, args, words):
    assert words in refused(tmp_path, *args)


def test_an_unknown_launcher_lists_the_options(tmp_path):
    line = refused(tmp_path, "hydra/launcher=nosuch")
    assert line.startswith("nnexp: error: hydra/launcher=nosuch does not exist")
    assert "basic" in line and "batched" in line


def test_slurm_without_slurm_says_so(tmp_path):
    # No srun on this PATH whatever the machine has: the interpreter is called by path.
    env = dict(os.environ, PATH=str(tmp_path), HYDRA_FULL_ERROR="0")
    line = refused(tmp_path, "-m", "hydra/launcher=slurm", "lr=1,2", env=env)
    assert "hydra/launcher=slurm needs SLURM, and srun is not on PATH" in line


def test_ray_cluster_without_a_cluster_says_so(tmp_path):
    # No RAY_ADDRESS and a temporary folder where no `ray start` left its address.
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(TMPDIR=str(tmp_path / "tmp"), HYDRA_FULL_ERROR="0")
    line = refused(tmp_path, "-m", "hydra/launcher=ray_cluster", "lr=1,2", env=env)
    assert "needs a running Ray cluster" in line and "RAY_ADDRESS" in line


def test_optuna_without_the_sweep_extra_names_the_extra(tmp_path):
    """The Optuna sweeper is installed on the test machine, so this hides it from
    ``find_spec`` in the command's own process (the check asks nothing else)."""
    code = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if 'optuna' in name else real(name, *a)\n"
        "from nnexp.edge.cli import main\n"
        "sys.argv = ['nnexp', '-m', 'hparams_search=circles_optuna']\n"
        "main()\n"
    )
    before = snapshot(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert "hparams_search=circles_optuna needs the Optuna sweeper" in line
    assert 'pip install -e ".[sweep]"' in line
    assert snapshot(tmp_path) == before


def test_a_seed_out_of_a_presets_range_fails_the_run_in_one_line(tmp_path):
    # The tutorial presets pick rng=legacy themselves: the composed config is checked.
    result = nnexp(tmp_path, "experiment=boolean_triples", "seed=4294967296")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "seed=4294967296 is not allowed with rng=legacy" in line


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "batched"])
def test_ctrl_c_is_one_line_and_the_sweep_resumes(tmp_path, launcher):
    args = [f"hydra/launcher={launcher}", "seed=0,1", "epochs=3000000", "hydra.sweep.dir=sweep"]
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "nnexp", "-m", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # Ctrl-C reaches the whole foreground group: so does this
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "sweep").glob("*/.hydra")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in one_line(stderr)
    # Nothing was finished, so nothing was recorded as finished.
    assert not list((tmp_path / "sweep").glob("*/summary.json"))


# --- corrupt summary.json (item 4) -----------------------------------------------------

CORRUPT = {
    "0": b"\xff\xfe\x00not utf-8",
    "1": b"[1, 2, 3]\n",
    "2": None,  # truncated: the first 40 bytes of the real file
}


@pytest.mark.slow
def test_report_and_resume_over_corrupt_summaries(tmp_path):
    sweep = ["-m", "lr=0.5,1,2,4", "epochs=30", "hydra.sweep.dir=sweep"]
    assert nnexp(tmp_path, *sweep).returncode == 0
    folder = tmp_path / "sweep"
    for job, data in CORRUPT.items():
        path = folder / job / "summary.json"
        path.write_bytes(path.read_bytes()[:40] if data is None else data)
    intact = snapshot(folder / "3")

    report = nnexp(tmp_path, "report", "sweep")
    assert report.returncode == 0, report.stderr
    line = one_line(report.stderr)
    assert "3 job folder(s) with an unreadable summary.json, listed as incomplete" in line
    assert "0 (not UTF-8 text)" in line and "1 (a JSON list, not an object)" in line
    table = pd.read_csv(folder / "summary.csv")
    assert list(table.status) == ["incomplete"] * 3 + ["ok"]

    resumed = nnexp(tmp_path, *sweep)
    assert resumed.returncode == 0, resumed.stderr
    log = resumed.stdout + resumed.stderr
    for job in CORRUPT:
        assert f"sweep/{job}/summary.json is " in log and "the job is run again" in log
    assert "(#3): already finished" in log
    table = pd.read_csv(folder / "summary.csv")
    assert list(table.status) == ["ok"] * 4
    for job in CORRUPT:
        assert json.loads((folder / job / "summary.json").read_text())["status"] == "ok"
    after = snapshot(folder / "3")
    # The finished job was not run again: its files are byte for byte what they were
    # (Hydra appends to its log and rewrites its .hydra files for the new launch).
    assert {k: v for k, v in after.items() if not k.startswith(".hydra") and k != "nnexp.log"} == {
        k: v for k, v in intact.items() if not k.startswith(".hydra") and k != "nnexp.log"
    }
