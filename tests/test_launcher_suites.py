"""Hydra's own launcher test suites on ``hydra/launcher=batched``, parametrised as Hydra's
joblib plugin tests itself: foreign task functions on Hydra's test configs. The batched
launcher trains nnexp's jobs together; any other task runs job by job, as given."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hydra import version
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.test_utils.launcher_common_tests import (
    BatchedSweeperTestSuite,
    IntegrationTestSuite,
    LauncherTestSuite,
)
from hydra.version import VersionBase

from hydra_plugins.nnexp_batched_launcher.batched_launcher import BatchedLauncher


@pytest.fixture(autouse=True)
def _fresh_version_base(hydra_restore_singletons):
    """Hydra's suites expect a fresh process, where no version base is set yet (so jobs
    change into their folders, as Hydra 1.1 did). Tests that compose nnexp's config set
    it to 1.3 for the rest of the process; start each test as a new process would, and
    let Hydra's fixture put the old state back afterwards."""
    VersionBase.instance().version_base = version._UNSPECIFIED_


def test_discovery() -> None:
    assert BatchedLauncher.__name__ in [x.__name__ for x in Plugins.instance().discover(Launcher)]


@pytest.mark.parametrize("launcher_name, overrides", [("batched", [])])
class TestBatchedLauncher(LauncherTestSuite):
    pass


@pytest.mark.parametrize(
    "launcher_name, overrides",
    [("batched", ["hydra/sweeper=basic", "hydra.sweeper.max_batch_size=2"])],
)
class TestBatchedLauncherWithBatchingSweeper(BatchedSweeperTestSuite):
    pass


@pytest.mark.slow  # each test runs Hydra apps as subprocesses
@pytest.mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [
        (
            {
                "defaults": [
                    {"override hydra/launcher": "batched"},
                    {"override hydra/hydra_logging": "hydra_debug"},
                    {"override hydra/job_logging": "disabled"},
                ]
            },
            ["-m"],
        )
    ],
)
class TestBatchedLauncherIntegration(IntegrationTestSuite):
    pass


def test_loading_the_launcher_leaves_hydras_global_state_alone():
    # Hydra imports every public module of a plugin package when it scans for plugins,
    # and the launcher imports _core for nnexp's jobs: neither may apply @hydra.main,
    # which would set the version base of the host app's whole process.
    code = (
        "import sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.launcher import Launcher\n"
        "from hydra import version\n"
        "before = version.getbase()\n"
        "Plugins.instance().discover(Launcher)\n"
        "import hydra_plugins.nnexp_batched_launcher._core\n"
        "assert version.getbase() == before, (before, version.getbase())\n"
        "assert 'nnexp.edge.main' not in sys.modules\n"
        "print('clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "clean", result.stderr[-2000:]


def test_launching_no_jobs_returns_no_results():
    from nnexp.edge.task import task

    for task_function in (task, lambda cfg: 1):
        launcher = BatchedLauncher()
        launcher.task_function = task_function
        assert launcher.launch([], initial_job_idx=0) == []


@pytest.mark.slow
def test_an_app_built_on_nnexp_runs_its_own_task_on_every_job(tmp_path):
    # A host app with nnexp's configs and a task of its own: the batched launcher must call
    # that task (not nnexp's) once a job, with each job's config.
    app = tmp_path / "app.py"
    app.write_text(
        "import hydra\n"
        "from pathlib import Path\n"
        "from nnexp.edge.config import CONF_DIR, register\n"
        "register()\n"
        "@hydra.main(version_base='1.3', config_path=str(CONF_DIR), config_name='config')\n"
        "def my_task(cfg):\n"
        "    Path(f'{cfg.hydra_sweep_marker}/ran_{cfg.seed}_{cfg.lr}').touch()\n"
        "    return cfg.seed\n"
        "if __name__ == '__main__':\n"
        "    my_task()\n"
    )
    sweep_dir = tmp_path / "sweep"
    result = subprocess.run(
        [
            sys.executable,
            str(app),
            "-m",
            "seed=0,1,2",
            "lr=0.5",
            "epochs=3",
            f"+hydra_sweep_marker={tmp_path}",
            "hydra/launcher=batched",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.glob("ran_*")) == ["ran_0_0.5", "ran_1_0.5", "ran_2_0.5"]
    assert not list(sweep_dir.glob("*/metrics.csv"))  # nnexp's own task never ran
