"""The command's start-up does each thing once and only what the run uses: Hydra's probe
for the run mode is skipped when its answer is known, with the same config composed."""

from __future__ import annotations

import pytest
from cli import nnexp, only_run
from omegaconf import OmegaConf

from nnexp.edge.config import CONF_DIR, GROUPS, group_options
from nnexp.edge.main import mode_is_unset

# Every option nnexp ships, as the override that picks it (hydra/launcher's presets too).
SHIPPED = [f"{group}={option}" for group in GROUPS for option in group_options(group)] + [
    f"hydra/launcher={option}" for option in group_options("hydra/launcher")
]


@pytest.mark.slow
def test_no_config_nnexp_ships_sets_the_run_mode():
    """The premise of skipping Hydra's mode probe: composed as the probe composes it, no
    option of any group sets hydra.mode."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    assert len(SHIPPED) > 20
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        for override in ["lr=0.5", *SHIPPED]:
            cfg = hydra.compose_config(
                "config", [override], run_mode=RunMode.MULTIRUN, validate_sweep_overrides=False
            )
            assert cfg.hydra.mode is None, override
        # What the probe would find where the mode is set: the check above can fail.
        cfg = hydra.compose_config(
            "config",
            ["hydra.mode=MULTIRUN"],
            run_mode=RunMode.MULTIRUN,
            validate_sweep_overrides=False,
        )
        assert cfg.hydra.mode == RunMode.MULTIRUN


@pytest.mark.parametrize(
    "argv, unset",
    [
        ([], True),
        (["epochs=10", "experiment=red_blue"], True),
        (["-m", "seed=range(3)", "hydra/launcher=basic", "hydra.sweep.dir=x"], True),
        (["hydra.mode=MULTIRUN", "seed=1,2"], False),
        (["++hydra.mode=RUN"], False),
        (["hydra.searchpath=[file:///tmp/conf]"], False),
        (["+hydra.searchpath=[pkg://my.conf]"], False),
        (["--config-dir", "/tmp/conf", "experiment=mine"], False),
        (["-cd=/tmp/conf"], False),
        (["--config-name", "other"], False),
        (["-cp", "conf"], False),
        (["--experimental-rerun", "x.pickle"], False),
    ],
)
def test_the_mode_is_known_unless_the_command_line_can_set_it(argv, unset):
    assert mode_is_unset(argv) is unset


@pytest.mark.slow
def test_a_run_records_the_mode_hydra_gave_it(tmp_path):
    """Without the probe Hydra still adds hydra.mode=RUN to the overrides it records."""
    assert nnexp(tmp_path, "epochs=2").returncode == 0
    saved = OmegaConf.load(only_run(tmp_path) / ".hydra" / "hydra.yaml").hydra
    assert list(saved.overrides.hydra) == ["hydra.mode=RUN"]
    assert saved.mode == "RUN"


@pytest.mark.slow
def test_a_mode_set_on_the_command_line_still_decides(tmp_path):
    """hydra.mode=MULTIRUN without -m is a sweep, as in plain Hydra: the probe runs."""
    result = nnexp(tmp_path, "hydra.mode=MULTIRUN", "seed=1,2", "epochs=2", "hydra.sweep.dir=s")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir() if p.name.isdigit()) == ["0", "1"]


@pytest.mark.parametrize(
    "argv, unnamed",
    [
        ([], True),
        (["epochs=10", "experiment=red_blue", "seed=3"], True),
        (["-m", "seed=range(3)", "hydra.sweep.dir=x", "hydra.launcher.n_jobs=1"], False),
        (["-m", "seed=range(3)", "hydra.sweep.dir=x"], True),
        (["--multirun", "lr=0.1,1"], True),
        (["-m", "hydra/launcher=joblib", "seed=1,2"], False),
        (["hydra/sweeper=optuna"], False),
        (["-m", "hparams_search=circles_optuna"], False),
        (["+hparams_search=circles_optuna"], False),
        (["hydra.sweeper.n_trials=3"], False),
        (["--help"], False),
        (["--info"], False),
        (["--cfg", "job"], False),
        (["--config-dir", "/tmp/conf"], False),
        (["hydra.searchpath=[file:///tmp/conf]"], False),
    ],
)
def test_the_optional_plugins_are_scanned_when_the_command_line_may_use_them(argv, unnamed):
    from nnexp.edge.main import plugins_unnamed

    assert plugins_unnamed(argv) is unnamed


# Composes nnexp's config (Hydra's node too) after Hydra's plugin scan, full or lean,
# for each set of overrides; prints the plugins found and the configs as YAML.
COMPOSE = """
import sys
import hydra.core.plugins as plugins
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from nnexp.edge.config import CONF_DIR, register
from nnexp.edge.main import _Walker
if sys.argv[1] == "lean":
    plugins.pkgutil = _Walker()
register()
found = plugins.Plugins.instance().class_name_to_class
print(sorted(found))
with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
    for overrides in (line.split() for line in sys.argv[2:]):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
        print(OmegaConf.to_yaml(cfg, resolve=False))
"""


@pytest.mark.slow
def test_the_lean_plugin_scan_composes_the_same_configs(tmp_path):
    """Left out of the scan, the optional plugins change nothing a command that names
    none of them composes, for every option of nnexp's own groups; what the scan finds
    is the full scan's plugins less theirs."""
    import ast
    import subprocess
    import sys

    from nnexp.edge.main import OPTIONAL_PLUGINS, plugins_unnamed

    cases = [o for o in SHIPPED if plugins_unnamed([o])]
    assert len(cases) > 15 and not any(o.startswith("hparams_search") for o in cases)
    out = {}
    for scan in ("full", "lean"):
        result = subprocess.run(
            [sys.executable, "-c", COMPOSE, scan, "", *cases],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        first, _, configs = result.stdout.partition("\n")
        out[scan] = (ast.literal_eval(first), configs)
    full, lean = out["full"][0], out["lean"][0]
    optional = [n for n in full if n.split(".")[1] in OPTIONAL_PLUGINS]
    assert optional and "hydra_plugins.nnexp_batched_launcher" in " ".join(lean)
    assert lean == [n for n in full if n not in optional]
    assert out["lean"][1] == out["full"][1]
    assert out["full"][1].count("_target_: hydra_plugins.nnexp_batched_launcher") == len(cases) + 1
