"""The built wheel, installed into a fresh virtual environment outside the clone, runs an
experiment, a sweep and a report from an empty folder: the configs ship in the package
and nothing is read from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pandas as pd
import pytest

from nnexp.run import artifacts
from nnexp.sweep.table import REPORT_HTML, SUMMARY_CSV

REPO = Path(__file__).resolve().parent.parent
# Not part of a source tree's build: version control, caches, earlier builds, results.
SKIPPED = (".git", "build", "*.egg-info", "__pycache__", ".*_cache", "outputs", "multirun")


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_installed_wheel_runs_an_experiment_a_sweep_and_a_report(tmp_path):
    # The environment a user has: no PYTHONPATH (it would put a source tree first), no
    # editable install in the way (the venv sees the machine's packages only for the
    # dependencies, so none is downloaded, and its own nnexp shadows any global one).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["HYDRA_FULL_ERROR"] = "0"
    wheels, prefix, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "empty"
    work.mkdir()
    # Built as a user builds it, with build isolation (setuptools from pip's index), from
    # a copy: setuptools leaves build/ and *.egg-info in the folder it builds.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*SKIPPED))
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        tmp_path,
        env,
    )
    (wheel,) = wheels.glob("nnexp-*.whl")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(prefix)
    python = prefix / "bin" / "python"
    # The venv has no pip of its own: this pip installs into it (--python), so the
    # nnexp script it writes starts the venv's interpreter.
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--ignore-installed", str(wheel)],
        tmp_path,
        env,
    )
    env["PATH"] = f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _run([str(python), "-c", "import nnexp; print(nnexp.__file__)"], work, env)
    assert Path(where.stdout.strip()).is_relative_to(prefix), where.stdout
    nnexp = str(prefix / "bin" / "nnexp")

    _run([nnexp, "epochs=10", "progress=false"], work, env)
    (run_dir,) = [p.parent for p in (work / "outputs" / "runs").glob("*/*/.hydra")]
    for name in (
        artifacts.METRICS,
        artifacts.PREDICTIONS,
        artifacts.MODEL,
        artifacts.CURVES,
        artifacts.REPORT,
        artifacts.SUMMARY,
    ):
        assert (run_dir / name).is_file(), name

    sweep_dir = work / "sweep"
    _run([nnexp, "-m", "lr=0.1,1", "epochs=5", f"hydra.sweep.dir={sweep_dir}"], work, env)
    table = pd.read_csv(sweep_dir / SUMMARY_CSV)
    assert sorted(table["lr"]) == [0.1, 1.0] and set(table["status"]) == {"ok"}
    (sweep_dir / SUMMARY_CSV).unlink()
    (sweep_dir / REPORT_HTML).unlink()
    _run([nnexp, "report", str(sweep_dir)], work, env)
    assert (sweep_dir / SUMMARY_CSV).is_file() and (sweep_dir / REPORT_HTML).is_file()
