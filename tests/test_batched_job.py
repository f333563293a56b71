"""The batched launcher's own job machinery (``_job.run``) against Hydra's ``run_job``:
the same jobs run both ways leave the same files, log lines and ``JobReturn``, and the
task sees the same ``HydraConfig``."""

from __future__ import annotations

import copy
import logging
import re
import shutil

import pytest

# Jobs of two templates (epochs 7 and 9): a template's own job, derived ones, a repeat,
# a value Hydra converts (lr=1 on a float option), a nested replica option, and a task
# that fails.
JOBS = [
    ["seed=0", "lr=0.5", "epochs=7"],
    ["seed=1", "lr=0.5", "epochs=7"],
    ["seed=2", "lr=1", "epochs=7"],
    ["seed=3", "lr=0.5", "epochs=9"],
    ["seed=4", "lr=0.25", "epochs=9", "model.init_scale=0.5"],
    ["seed=1", "lr=0.5", "epochs=7"],
    ["seed=5", "lr=0.5", "epochs=7"],
    ["seed=6", "lr=0.5", "epochs=9"],
    # Hydra's job options the launcher's machinery must honour as run_job does.
    ["seed=9", "hydra.job.chdir=true"],
    ["seed=10", "hydra.output_subdir=null"],
    ["seed=11", "hydra/job_logging=none"],
    ["seed=12", "hydra/job_logging=disabled"],
    ["seed=13", "hydra/job_logging=stdout"],
    ["seed=14", "lr=0.5", "epochs=9"],
]
FAILS = 5  # the seed whose task raises


def task(cfg):
    """Records what a task sees, logs a line and returns a value (or raises)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    hc = HydraConfig.get()
    seen = {
        "hydra": OmegaConf.to_container(hc),
        "output_dir": hc.runtime.output_dir,
        "num": hc.job.num,
        "sweep_dir": hc.sweep.dir,  # resolved: ${hydra.runtime.cwd}, ${now:...}
        "overrides": list(hc.overrides.task),
        "mode": str(hc.mode),
        "cfg": OmegaConf.to_container(cfg),
        "lr": cfg.lr,
    }
    task.seen.append(seen)
    logging.getLogger("nnexp").info("job %s: seed %s lr %s", hc.job.num, cfg.seed, cfg.lr)
    if cfg.seed == FAILS:
        raise RuntimeError(f"seed {cfg.seed} fails")
    return cfg.seed * 10 + cfg.epochs


task.seen = []


@pytest.fixture
def hydra_sweep(tmp_path):
    """(master config, Hydra context, composer) for a sweep into ``tmp_path/sweep``."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import JobRuntime, setup_globals
    from hydra.types import HydraContext, RunMode

    from hydra_plugins.nnexp_batched_launcher import _core
    from nnexp.edge.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        setup_globals()
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration(
            "config",
            [f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra/launcher=batched"],
            run_mode=RunMode.MULTIRUN,
        )
        from hydra._internal.callbacks import Callbacks

        context = HydraContext(config_loader=loader, callbacks=Callbacks(master))
        JobRuntime.instance().set("name", "nnexp")
        _core.compose_through_cache(loader, master)
        yield master, context, _core._COMPOSER[0]
    logging.getLogger().handlers.clear()


def _run_all(tmp_path, context, composer, master, fast: bool):
    from hydra.core.utils import run_job
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _job

    cache = OmegaConf.get_cache(master)
    task.seen = []
    returns = []
    for num, overrides in enumerate(JOBS):
        recipe = composer.take(overrides)
        if fast:
            assert _job.fits(context, recipe, cache)
            ret = _job.run(recipe, num, cache, task, context, "hydra.sweep.dir")
        else:
            ret = run_job(
                hydra_context=context,
                task_function=task,
                config=recipe.config(cache, num),
                job_dir_key="hydra.sweep.dir",
                job_subdir_key="hydra.sweep.subdir",
            )
        returns.append(ret)
    logging.shutdown()
    folder = tmp_path / ("fast" if fast else "hydra")
    shutil.move(tmp_path / "sweep", folder)
    return returns, copy.deepcopy(task.seen), folder


def _files(folder):
    """Every file's text, timestamps taken out of log lines."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text()
        if path.suffix == ".log":
            text = re.sub(r"^\[[^\]]+\]", "[time]", text, flags=re.M)
        out[str(path.relative_to(folder))] = text
    return out


def _fields(ret):
    from omegaconf import OmegaConf

    value = ret.return_value if ret.status.name == "COMPLETED" else repr(ret._return_value)
    return {
        "status": ret.status,
        "return_value": value,
        "overrides": ret.overrides,
        "working_dir": ret.working_dir,
        "task_name": ret.task_name,
        "cfg": OmegaConf.to_container(ret.cfg),
        "cfg_yaml": OmegaConf.to_yaml(ret.cfg),
        "cfg_type": OmegaConf.get_type(ret.cfg),
        "cfg_flags": (OmegaConf.is_readonly(ret.cfg), OmegaConf.is_struct(ret.cfg)),
        "cfg_cache": dict(OmegaConf.get_cache(ret.cfg)),
        "hydra_cfg": OmegaConf.to_container(ret.hydra_cfg),
        "hydra_yaml": OmegaConf.to_yaml(ret.hydra_cfg),
        "hydra_type": OmegaConf.get_type(ret.hydra_cfg.hydra),
        "hydra_flags": OmegaConf.is_readonly(ret.hydra_cfg.hydra),
        "hydra_sweep_dir": ret.hydra_cfg.hydra.sweep.dir,  # resolved through its parent
    }


def test_the_fast_job_path_leaves_what_hydras_run_job_leaves(tmp_path, hydra_sweep):
    import pickle

    master, context, composer = hydra_sweep
    fast, fast_seen, fast_dir = _run_all(tmp_path, context, composer, master, fast=True)
    slow, slow_seen, slow_dir = _run_all(tmp_path, context, composer, master, fast=False)
    files = _files(slow_dir)
    logged = [n for n in range(len(JOBS)) if f"{n}/nnexp.log" in files]
    assert logged == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13]  # none, disabled, stdout: no file
    assert len([n for n in range(len(JOBS)) if f"{n}/.hydra/hydra.yaml" in files]) == 13
    assert _files(fast_dir) == files
    assert "job 6: seed 5 lr 0.5" in files["6/nnexp.log"]
    assert fast_seen == slow_seen
    assert [s["lr"] for s in slow_seen[:3]] == [0.5, 0.5, 1.0]
    # The JobReturns, in this process and as they come back from a worker (pickled).
    for ours, theirs in zip(fast, slow):
        assert _fields(ours) == _fields(theirs)
        assert _fields(pickle.loads(pickle.dumps(ours))) == _fields(theirs)
    assert [r.status.name for r in fast].count("FAILED") == 1
    # The task configs a group trains from are the ones run_job hands each task.
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _job

    cache = OmegaConf.get_cache(master)
    for overrides, theirs in zip(JOBS, slow):
        ours = _job.task_config(composer.take(overrides), cache)
        assert OmegaConf.to_yaml(ours) == OmegaConf.to_yaml(theirs.cfg)
        assert OmegaConf.to_container(ours, resolve=True) == OmegaConf.to_container(
            theirs.cfg, resolve=True
        )


def test_a_callback_acting_on_jobs_gets_hydras_own_run_job(hydra_sweep):
    from hydra.experimental.callback import Callback
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _job

    master, context, composer = hydra_sweep
    recipe, cache = composer.take(JOBS[1]), OmegaConf.get_cache(master)
    assert _job.fits(context, recipe, cache)

    class Watching(Callback):
        def on_job_end(self, config, job_return, **kwargs):
            pass

    context.callbacks.callbacks.append(Watching())
    assert not _job.fits(context, recipe, cache)


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1, "b": {"c": [1, "2", None], "d": {"e": "x: y", "f": {}}}, "g": []},
        {"hydra": {"help": {"t": "long " * 40 + "\nline\n", "u": "yes"}, "v": {"w": 1.0}}},
    ],
)
def test_yaml_from_reused_entries_is_omegaconfs_text(data):
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher._job import _Yaml

    emitter = _Yaml()
    for _ in range(2):  # made, then reused
        assert emitter.text(data) == OmegaConf.to_yaml(OmegaConf.create(data))
    assert not emitter.whole


@pytest.mark.slow
def test_a_jobs_plain_values_are_those_of_its_composed_config(hydra_sweep):
    # What the launch validates and groups (Composer.plain, the template's values with
    # the job's set) against the config Hydra composes for the job.
    from nnexp.edge.compose import plain_task_config

    master, context, composer = hydra_sweep
    for overrides in [*JOBS, ["seed=7", "lr=0.5", "epochs=7", "optimizer.momentum=0.5"]]:
        expected = plain_task_config(composer.load(master, overrides))
        assert composer.plain(overrides) == expected, overrides
        assert composer.plain(overrides) == plain_task_config(composer.take(overrides).config())
    assert composer.plain(JOBS[2])["lr"] == 1.0 and type(composer.plain(JOBS[2])["lr"]) is float


def test_each_launch_writes_where_its_own_sweep_resolved(tmp_path, monkeypatch):
    # Two sweeps in one process whose jobs share a template byte for byte differ in the
    # values their master resolved (the ${now:...} folder): a config made for the first
    # must not serve the second (_job.forget, at each launch).
    import copy as copying

    from hydra import initialize_config_dir
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import JobRuntime, setup_globals
    from hydra.types import HydraContext, RunMode
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _core, _job
    from nnexp.edge.config import CONF_DIR

    monkeypatch.chdir(tmp_path)  # the sweep folder is under ${hydra.runtime.cwd}
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        setup_globals()
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", [], run_mode=RunMode.MULTIRUN)
        context = HydraContext(config_loader=loader, callbacks=Callbacks(master))
        JobRuntime.instance().set("name", "nnexp")
        _core.compose_through_cache(loader, master)
        first = str(master.hydra.sweep.dir)  # resolved: ${now:...} cached in the master
        recipe = _core._COMPOSER[0].take(["seed=1"])
        cache = OmegaConf.get_cache(master)
        later = copying.deepcopy(cache)
        for values in later.values():
            for args in values:
                values[args] = f"later-{args}".replace("%", "")
        try:
            ret = _job.run(recipe, 0, cache, task, context, "hydra.sweep.dir")
            _job.forget()
            again = _job.run(recipe, 0, later, task, context, "hydra.sweep.dir")
        finally:
            logging.shutdown()
            logging.getLogger().handlers.clear()
    assert ret.hydra_cfg.hydra.runtime.output_dir == f"{first}/0"
    assert "later-" in again.hydra_cfg.hydra.runtime.output_dir


def test_yaml_entries_kept_are_bounded_and_the_text_stays_exact(monkeypatch):
    from omegaconf import OmegaConf

    from hydra_plugins.nnexp_batched_launcher import _job

    monkeypatch.setattr(_job, "_KEPT", 3)
    emitter = _job._Yaml()
    for num in range(5):
        data = {"hydra": {"job": {"num": num, "dir": f"/runs/{num}"}, "mode": "x"}, "seed": num}
        assert emitter.text(data) == OmegaConf.to_yaml(OmegaConf.create(data))
        assert len(emitter.pieces) <= 3
