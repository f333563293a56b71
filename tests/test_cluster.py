"""Scaling out through Hydra's launchers: one 2x2 sweep gives the same run folders and the
same summary.csv on the basic, joblib, submitit and Ray launchers; nnexp's presets in
conf/hydra/launcher/ compose, and the SLURM one becomes the sbatch script it promises.

Ray runs on loopback only and is stopped by the tests: one instance (started in a child
process, stopped by closing its stdin) serves the cluster preset, and the local preset's
own instance ends with its sweep. Both live under a private temporary folder, so a test
can check that no process of theirs outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from cli import job_dirs, nnexp

from nnexp.edge.config import CONF_DIR, ConfigError, check_launcher

SWEEP = ("dataset=gender", "lr=0.1,0.5", "seed=0,1", "epochs=20")
JOBS = 4
RUN_FILES = (
    "metrics.csv",
    "predictions.csv",
    "model.npz",
    "report.md",
    "summary.json",
    "nnexp.log",
    ".hydra/overrides.yaml",
)
SWEEP_FILES = ("summary.csv", "report.md", "report.html", "multirun.yaml")
# summary.csv columns that differ between two runs of the same sweep whatever launched it.
TIMING_AND_PATHS = ("seconds", "run_dir")
PLUGINS = {
    "joblib": "hydra_plugins.hydra_joblib_launcher",
    "submitit_local": "hydra_plugins.hydra_submitit_launcher",
    "ray": "hydra_plugins.hydra_ray_launcher",
}

# Ray, kept on this machine: node address 127.0.0.1 (not the address the default route
# would pick), no usage reports, no token written to ~/.ray, and HTTP through a proxy on
# a closed loopback port, so that the cloud-metadata probe Ray's dashboard process makes
# at start (169.254.169.254) is refused locally instead of leaving the machine.
RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
    "RAY_AUTH_MODE": "disabled",
    "RAY_DEDUP_LOGS": "0",
    "http_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "no_proxy": "127.0.0.1,localhost,::1",
    "NO_PROXY": "127.0.0.1,localhost,::1",
}
RAY_CPUS = 2
# The head: a local instance on loopback; prints its address, stops when stdin closes.
RAY_HEAD = """
import sys, ray
ray.init(address="local", num_cpus=int(sys.argv[2]), include_dashboard=False,
         object_store_memory=78643200, _temp_dir=sys.argv[1])
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()
ray.shutdown()
"""


def sweep(tmp_path: Path, name: str, *args: str) -> Path:
    folder = tmp_path / name
    result = nnexp(tmp_path, "-m", *SWEEP, *args, f"hydra.sweep.dir={folder}")
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def comparable(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "summary.csv").drop(columns=list(TIMING_AND_PATHS))


def assert_complete(folder: Path) -> None:
    """Every job's run folder and the sweep's own files are there."""
    for name in SWEEP_FILES:
        assert (folder / name).is_file(), name
    runs = job_dirs(folder)
    assert [d.name for d in runs] == [str(i) for i in range(JOBS)]
    for run in runs:
        for name in RUN_FILES:
            assert (run / name).is_file(), (run, name)
        assert json.loads((run / "summary.json").read_text())["status"] == "ok", run


def assert_same_runs(reference: Path, other: Path) -> None:
    """Per job: the same curves and the same summary, timings aside."""
    for a, b in zip(job_dirs(reference), job_dirs(other)):
        ma, mb = (pd.read_csv(d / "metrics.csv").drop(columns="seconds") for d in (a, b))
        pd.testing.assert_frame_equal(ma, mb)
        sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
        for key in (
            "status",
            "objective",
            "final",
            "best",
            "epochs_completed",
            "config",
            "seed",
            "command",
        ):
            assert sa[key] == sb[key], (b, key)


def processes_under(folder: str) -> list[int]:
    """Processes whose command line names ``folder`` (Ray's keep their session path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if folder.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def ended(folder: str, seconds: float = 30) -> bool:
    """Whether every process under ``folder`` has ended within ``seconds`` (Ray's take a
    moment to exit after their instance stops)."""
    deadline = time.monotonic() + seconds
    while processes_under(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stop_leftovers(folder: str) -> list[int]:
    """Kill (by pid) what still runs under ``folder``: a failed test's Ray processes."""
    left = processes_under(folder)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    return left


@pytest.fixture(scope="module")
def ray_env():
    pytest.importorskip(
        PLUGINS["ray"], reason='hydra-ray-launcher is not installed: pip install -e ".[ray]"'
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in RAY_ENV.items():
            patch.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def ray_head(ray_env):
    """The address of a Ray instance on loopback, shared by this module's tests."""
    temp = tempfile.mkdtemp(prefix="nnexp-ray-", dir="/tmp")  # socket paths must be short
    head = subprocess.Popen(
        [sys.executable, "-c", RAY_HEAD, temp, str(RAY_CPUS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=temp,
    )
    try:
        with selectors.DefaultSelector() as ready:
            ready.register(head.stdout, selectors.EVENT_READ)
            if not ready.select(timeout=180):
                pytest.fail("the Ray head did not start within 180 s")
        address = head.stdout.readline().strip()
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        head.stdin.close()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        ended(temp)
        left = stop_leftovers(temp)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes outlived the head: {left}"


@pytest.fixture(scope="module")
def basic(tmp_path_factory) -> Path:
    return sweep(tmp_path_factory.mktemp("basic"), "basic")


@pytest.fixture(scope="module")
def submitit_sweep(tmp_path_factory) -> Path:
    """The sweep on submitit's local launcher, shared: compared with the basic one, then
    run again to resume."""
    pytest.importorskip(
        PLUGINS["submitit_local"],
        reason='hydra-submitit-launcher is not installed: pip install -e ".[slurm]"',
    )
    return sweep(tmp_path_factory.mktemp("submitit"), "submitit", "hydra/launcher=submitit_local")


def launcher_args(request, name: str) -> list[str]:
    pytest.importorskip(PLUGINS[name], reason=f"{PLUGINS[name]} is not installed")
    if name == "ray":  # nnexp's preset for a running cluster, joined by its address
        address = request.getfixturevalue("ray_head")
        return ["hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={address}"]
    if name == "joblib":  # jobs in two processes at once
        return ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    return [f"hydra/launcher={name}"]


@pytest.mark.slow
def test_the_basic_launcher_leaves_every_run_folder_and_the_sweep_summary(basic):
    assert_complete(basic)
    table = pd.read_csv(basic / "summary.csv")
    assert list(table.job) == list(range(JOBS))
    assert list(table.run_dir.astype(str)) == [str(i) for i in range(JOBS)]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local", "ray"])
def test_every_launcher_gives_the_same_runs_and_summary_csv(request, tmp_path, basic, launcher):
    if launcher == "submitit_local":
        folder = request.getfixturevalue("submitit_sweep")
    else:
        folder = sweep(tmp_path, launcher, *launcher_args(request, launcher))
    assert_complete(folder)
    assert_same_runs(basic, folder)
    pd.testing.assert_frame_equal(comparable(basic), comparable(folder))


@pytest.mark.slow
def test_submitit_runs_each_job_in_its_own_process_and_a_rerun_resumes(submitit_sweep):
    folder = submitit_sweep
    logs = sorted((folder / ".submitit").glob("*/*_log.out"))
    assert len(logs) == JOBS  # one submitit job (process) a run, its log beside the sweep
    assert len({p.parent.name for p in logs}) == JOBS
    written = {d.name: (d / "summary.json").stat().st_mtime_ns for d in job_dirs(folder)}
    table = comparable(folder)
    again = sweep(folder.parent, "submitit", "hydra/launcher=submitit_local")
    assert {d.name: (d / "summary.json").stat().st_mtime_ns for d in job_dirs(again)} == written
    assert (
        sum("already finished" in p.read_text() for p in (folder / ".submitit").glob("*/*_log.out"))
        == JOBS
    )
    pd.testing.assert_frame_equal(comparable(again), table)


@pytest.mark.slow
def test_the_local_ray_preset_starts_and_stops_its_own_instance(tmp_path, ray_env):
    temp = tempfile.mkdtemp(prefix="nnexp-ray-", dir="/tmp")
    try:
        result = nnexp(
            tmp_path,
            "-m",
            "dataset=gender",
            "lr=0.1,0.5",
            "epochs=20",
            "hydra/launcher=ray_local",
            f"hydra.launcher.ray.init.num_cpus={RAY_CPUS}",
            f"+hydra.launcher.ray.init._temp_dir={temp}",
            f"hydra.sweep.dir={tmp_path / 'ray_local'}",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Started a local Ray instance" in result.stderr + result.stdout
        table = pd.read_csv(tmp_path / "ray_local" / "summary.csv")
        assert list(table.status) == ["ok", "ok"]
        assert ended(temp), processes_under(temp)
    finally:
        stop_leftovers(temp)
        shutil.rmtree(temp, ignore_errors=True)


def test_the_slurm_preset_becomes_an_sbatch_array(tmp_path):
    """What nnexp's preset submits, short of a SLURM cluster: the launcher is built from
    the composed config and the sbatch script read from submitit's executor."""
    pytest.importorskip(
        PLUGINS["submitit_local"],
        reason='hydra-submitit-launcher is not installed: pip install -e ".[slurm]"',
    )
    import submitit
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate
    from submitit.slurm import slurm

    from nnexp.edge.config import register

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "config",
            return_hydra_config=True,
            overrides=[
                "hydra/launcher=slurm",
                "hydra.launcher.partition=debug",
                f"hydra.sweep.dir={tmp_path}",
                "hydra.launcher.array_parallelism=2",
            ],
        )
    submitted = {}

    def map_array(executor, fn, *columns):
        submitted.update(executor=executor._executor, jobs=len(columns[0]))
        return []

    HydraConfig.instance().set_config(cfg)
    try:
        launcher = instantiate(cfg.hydra.launcher)
        launcher.setup(hydra_context=mock.Mock(), task_function=mock.Mock(), config=cfg)
        # No sbatch here: the array is captured, not submitted, and srun is not looked for.
        with (
            mock.patch.object(submitit.AutoExecutor, "map_array", map_array),
            mock.patch.object(slurm.SlurmExecutor, "affinity", return_value=1),
        ):
            launcher.launch([["lr=0.1"], ["lr=0.5"], ["lr=1"]], initial_job_idx=0)
    finally:
        HydraConfig.instance().cfg = None  # leave no Hydra state to the next test
    executor = submitted["executor"]
    script = slurm._make_sbatch_string(
        command="python -u -m submitit.core._submit",
        folder=executor.folder,
        map_count=submitted["jobs"],
        **executor.parameters,
    )
    for line in (
        "--partition=debug",
        "--time=60",
        "--cpus-per-task=1",
        "--mem=2GB",
        "--array=0-2%2",
        "--job-name=nnexp",
    ):
        assert f"#SBATCH {line}\n" in script, (line, script)
    assert str(executor.folder).startswith(str(tmp_path / ".submitit"))


@pytest.mark.parametrize(
    "preset, shown",
    [
        (
            "slurm",
            [
                "partition: null",
                "timeout_min: 60",
                "cpus_per_task: 1",
                "mem_gb: 2",
                "array_parallelism: 64",
                "SlurmLauncher",
            ],
        ),
        ("ray_local", ["address: local", "include_dashboard: false", "RayLauncher"]),
        ("ray_cluster", ["address: auto", "object_store_memory: null", "RayLauncher"]),
    ],
)
@pytest.mark.slow
def test_presets_compose_as_hydra_launcher_options(tmp_path, preset, shown):
    plugin = PLUGINS["submitit_local" if preset == "slurm" else "ray"]
    pytest.importorskip(plugin, reason=f"{plugin} is not installed")
    result = nnexp(
        tmp_path, "--cfg", "hydra", "--package", "hydra.launcher", f"hydra/launcher={preset}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for text in shown:
        assert text in result.stdout, (text, result.stdout)


def test_a_launcher_whose_plugin_is_missing_names_the_extra(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(
        ConfigError,
        match=r"hydra/launcher=slurm needs hydra-submitit-"
        r"launcher, which is not installed: pip install "
        r'"nnexp\[slurm\]"',
    ):
        check_launcher("slurm")
    check_launcher("batched")  # nnexp's own


@pytest.mark.slow
def test_the_slurm_array_script_runs_one_batched_group_a_task(tmp_path):
    script = Path(__file__).resolve().parent.parent / "examples" / "slurm_batched.sh"
    env = dict(
        os.environ,
        SLURM_ARRAY_TASK_ID="1",
        NNEXP_SWEEP_DIR=str(tmp_path / "split"),
        PYTHON=sys.executable,
        SLURM_CPUS_PER_TASK="1",
    )
    result = subprocess.run(
        ["bash", str(script), "epochs=5", "seed=range(0,2)", "lr=0.01", "dataset.n=40"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replicas" in result.stdout + result.stderr
    group = tmp_path / "split" / "group-1"
    assert len(pd.read_csv(group / "summary.csv")) == 2
    config = json.loads((group / "0" / "summary.json").read_text())["config"]
    assert (config["model"]["hidden"], config["activation"]) == ([8], "relu")
    out_of_range = subprocess.run(
        ["bash", str(script)],
        env=dict(env, SLURM_ARRAY_TASK_ID="9"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out_of_range.returncode == 2
    assert "use --array=0-3" in out_of_range.stderr
