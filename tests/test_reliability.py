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

import numpy as np
import pandas as pd
import pytest
from cli import alive, forks, nnexp, quick_first, started


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

# The first three (a schema's type, Hydra's parser, a sweep's folder) in the quick tier.
CASES = [
    (["dataset.queries=5"], "dataset.queries=5 is not allowed: dataset.queries must be a list"),
    (["lr=[1"], "lr=[1 is not a valid override"),
    (["-m", "lr=1,2", "hydra.sweep.subdir=../x_${hydra.job.num}"], "outside the sweep folder"),
    (["dataset.features=5"], "dataset.features=5 is not allowed: dataset.features must be a list"),
    (["activation=tänh"], "put a value with non-ASCII letters in quotes"),
    (["seed=4294967296", "rng=legacy"], "seed=4294967296 is not allowed with rng=legacy"),
    (["-m", "lr=1,2", "hydra.sweep.subdir=/tmp/x_${hydra.job.num}"], "outside the sweep folder"),
]


@pytest.mark.parametrize("args,words", quick_first(CASES, [" ".join(a) for a, _ in CASES], quick=3))
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
    # The extra is added to the nnexp installed, a wheel or a clone's (-e "." needs the clone).
    assert 'pip install "nnexp[sweep]"' in line
    assert snapshot(tmp_path) == before


@pytest.mark.slow
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
    if launcher == "batched":
        args.append("hydra.launcher.n_jobs=2")  # forked workers, whatever the core count
    process = started(tmp_path, "-m", *args)
    # Training has begun once a job folder exists (basic) or workers are forked (batched,
    # which makes its folders when it writes them).
    deadline = time.monotonic() + 60
    while not _training(tmp_path / "sweep", process.pid, launcher) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in one_line(stderr)
    # Nothing was finished, so nothing was recorded as finished.
    assert not list((tmp_path / "sweep").glob("*/summary.json"))


def _training(sweep: Path, pid: int, launcher: str) -> bool:
    if launcher == "basic":
        return bool(list(sweep.glob("*/.hydra")))
    return len([kid for kid in forks(pid) if alive(kid)]) >= 2


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


# --- input changed without a word (item 5), non-finite data (item 10) ------------------


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return path.name


def failed_run(tmp_path: Path, *args: str) -> str:
    """Run a command whose data is refused: exit 1, one line, a run folder holding only
    the failure (no half of a result), and every file that was there before unchanged."""
    before = snapshot(tmp_path)
    result = nnexp(tmp_path, *args)
    assert result.returncode == 1, result.stderr
    line = one_line(result.stderr)
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    written = {Path(k).name for k in after if k not in before}
    assert "metrics.csv" not in written and "model.npz" not in written
    return line


@pytest.mark.slow
def test_duplicate_and_empty_headers_are_refused(tmp_path):
    dup = _write(tmp_path / "dup.csv", "x,label,label\n1,a,a\n2,b,b\n3,a,b\n")
    line = failed_run(tmp_path, "dataset=csv", f"dataset.path={dup}", "dataset.target=label")
    assert "dup.csv line 1: the header names 'label' twice (columns 2 and 3)" in line
    empty = _write(tmp_path / "empty.csv", "x,,label\n1,2,a\n2,3,b\n")
    line = failed_run(tmp_path, "dataset=csv", f"dataset.path={empty}", "dataset.target=label")
    assert "empty.csv line 1: column 2 has an empty header" in line


@pytest.mark.slow
def test_a_validation_fraction_that_rounds_to_no_rows_is_refused(tmp_path):
    line = failed_run(tmp_path, "dataset.val_fraction=0.001")
    assert "dataset.val_fraction=0.001 of 15 rows is 0.015 rows, which rounds to none" in line
    assert "use at least 0.067" in line


@pytest.mark.slow
def test_noise_that_overflows_is_refused(tmp_path):
    line = failed_run(tmp_path, "dataset=xor", "dataset.noise=1e308")
    assert "dataset.noise=1e+308 makes xor's points overflow to infinity" in line


@pytest.mark.slow
def test_standardising_values_near_1e300_keeps_the_feature(tmp_path):
    rows = ["x,y,label"] + [f"{(i % 5) * 1e300 - 2e300},{i},{'ab'[i % 2]}" for i in range(15)]
    data = _write(tmp_path / "huge.csv", "\n".join(rows) + "\n")
    args = ["dataset=csv", f"dataset.path={data}", "dataset.target=label"]
    result = nnexp(tmp_path, *args, "dataset.standardize=true", "epochs=20")
    assert result.returncode == 0, result.stderr
    (run,) = [p.parent for p in (tmp_path / "outputs").rglob("model.npz")]
    with np.load(run / "model.npz") as model:
        # x is -2e300..2e300 in steps of 1e300: mean 0, standard deviation sqrt(2) x 1e300.
        np.testing.assert_allclose(model["scale"][0], np.sqrt(2) * 1e300, rtol=1e-12)
        assert np.isfinite(model["shift"]).all()


# --- size limits and files that are not files (item 11) --------------------------------


@pytest.mark.parametrize(
    "args,words",
    [
        (["model.hidden=[1000000000]"], "15 rows x 1000000001 units of activations"),
        (["dataset=xor", "dataset.n=1000000000"], "1000000000 rows x 5 units"),
    ],
)
@pytest.mark.slow
def test_runs_too_big_for_memory_are_refused_before_allocating(tmp_path, args, words):
    line = failed_run(tmp_path, *args)
    assert "this run would need about" in line and words in line
    assert "more than max_memory_gb=8" in line and "raise max_memory_gb" in line


@pytest.mark.slow
def test_the_memory_limit_can_be_raised(tmp_path):
    result = nnexp(tmp_path, "max_memory_gb=0.000001", "epochs=2")
    assert result.returncode == 1 and "more than max_memory_gb=1e-06" in result.stderr
    assert nnexp(tmp_path, "max_memory_gb=0.01", "epochs=2").returncode == 0


def test_epochs_are_capped(tmp_path):
    line = refused(tmp_path, "epochs=1000000000000")
    assert "epochs must be an integer in [1, 1000000000]" in line


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_only_regular_files_are_read(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)  # reading it would block for ever
    else:
        path = Path("/dev/zero")  # reading it would never end
    line = failed_run(tmp_path, "dataset=csv", f"dataset.path={path}", "dataset.target=y")
    assert f"dataset.path: {path} is not a regular file" in line


@pytest.mark.slow
def test_an_id_column_as_target_is_refused(tmp_path):
    rows = ["id,x,y"] + [f"{i},{i % 7},{i % 3}" for i in range(50)]
    data = _write(tmp_path / "ids.csv", "\n".join(rows) + "\n")
    line = failed_run(tmp_path, "dataset=csv", f"dataset.path={data}", "dataset.target=id")
    assert "different value in each of its 50 rows" in line and "is it an id column?" in line


# --- folders that cannot be written, full disks (item 9) --------------------------------
# Tests run as root, where a read-only mode does not stop a write: a file (or a folder)
# stands where the command must write instead, which fails for root too.


@pytest.mark.slow
def test_a_run_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("in the way\n")
    line = refused(tmp_path, "hydra.run.dir=afile/run", "epochs=2", status=1)
    assert line == "nnexp: error: cannot write afile/run: Not a directory"


@pytest.mark.slow
def test_a_sweep_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("in the way\n")
    line = refused(tmp_path, "-m", "lr=1,2", "hydra.sweep.dir=afile/sw", "epochs=2", status=1)
    assert line == "nnexp: error: cannot write afile/sw: Not a directory"


@pytest.mark.slow
def test_a_run_whose_file_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "run" / "metrics.csv").mkdir(parents=True)
    result = nnexp(tmp_path, "hydra.run.dir=run", "epochs=2")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line == f"nnexp: error: cannot write {tmp_path}/run/metrics.csv: Is a directory"
    record = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert record["status"] == "failed" and "Is a directory" in record["error"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "batched"])
def test_a_job_that_cannot_write_fails_alone(tmp_path, launcher):
    (tmp_path / "sweep" / "1" / "metrics.csv").mkdir(parents=True)
    args = ["-m", f"hydra/launcher={launcher}", "lr=1,2,3", "epochs=2", "hydra.sweep.dir=sweep"]
    result = nnexp(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        "cannot write" in result.stdout and "sweep/1/metrics.csv: Is a directory" in result.stdout
    )
    table = pd.read_csv(tmp_path / "sweep" / "summary.csv")
    assert list(table.status) == ["ok", "failed", "ok"]
    assert "Is a directory" in table.error[1]


@pytest.mark.slow
def test_a_full_disk_fails_the_job_and_keeps_the_others(tmp_path):
    """A full disk, simulated in the command's own process: every atomic rename into job
    #1's folder raises ENOSPC (mounting a small tmpfs needs privileges a test should not
    assume). The job is recorded as failed if its summary can still be written, else left
    unfinished; either way the other jobs run and the earlier ones keep their files."""
    code = (
        "import errno, os, sys\n"
        "real = os.replace\n"
        "def replace(src, dst, *a, **k):\n"
        "    if f'{os.sep}1{os.sep}' in str(dst) and not str(dst).endswith('summary.json'):\n"
        "        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), src, None, dst)\n"
        "    return real(src, dst, *a, **k)\n"
        "os.replace = replace\n"
        "from nnexp.edge.cli import main\n"
        "sys.argv = ['nnexp', '-m', 'lr=1,2,3', 'epochs=2', 'hydra.sweep.dir=sweep']\n"
        "main()\n"
    )
    first = nnexp(tmp_path, "-m", "lr=1", "epochs=2", "hydra.sweep.dir=sweep")
    assert first.returncode == 0
    before = snapshot(tmp_path / "sweep" / "0")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "No space left on device" in result.stdout
    table = pd.read_csv(tmp_path / "sweep" / "summary.csv")
    assert list(table.status) == ["ok", "failed", "ok"]
    after = snapshot(tmp_path / "sweep" / "0")
    assert {k: v for k, v in after.items() if k.startswith(("summary", "model", "metrics"))} == {
        k: v for k, v in before.items() if k.startswith(("summary", "model", "metrics"))
    }


@pytest.mark.slow
def test_a_report_that_cannot_be_written_is_one_line(tmp_path):
    """The sweep's run folders are made by hand (a finished job's three files), so no
    sweep has to run first."""
    job = tmp_path / "sweep" / "0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- lr=1\n")
    (job / "summary.json").write_text('{"status": "ok", "objective": 0.5}\n')
    (tmp_path / "sweep" / "summary.csv").mkdir()  # in the way of the table
    before = snapshot(tmp_path)
    result = nnexp(tmp_path, "report", "sweep")
    assert result.returncode == 1
    assert one_line(result.stderr) == (
        "nnexp report: error: cannot write sweep/summary.csv: Is a directory"
    )
    assert snapshot(tmp_path) == before


def test_a_batched_group_too_big_for_memory_is_refused_as_a_group():
    """Each replica fits under max_memory_gb, the stack of them does not: the group is
    refused (the launcher then trains its jobs one by one, see _core._work)."""
    from omegaconf import OmegaConf

    from nnexp.edge.config import NnexpConf
    from nnexp.run.setup import ConfigError, memory_estimate
    from nnexp.sweep.batched import train_group

    base = OmegaConf.structured(NnexpConf)
    base.epochs = 2
    one = memory_estimate(base, 15, 2, 2)[0]
    base.max_memory_gb = 1.5 * one / 2**30  # room for one replica and a half
    cfgs = [OmegaConf.merge(base, {"seed": s}) for s in range(2)]
    with pytest.raises(ConfigError, match="2 replicas together would need about"):
        train_group(cfgs)
    assert len(train_group(cfgs[:1])) == 1
