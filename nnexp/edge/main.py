"""The ``@hydra.main`` entry point. Kept apart from the task: applying ``hydra.main``
sets Hydra's version base for the whole process, which only the command should do.

The task Hydra runs is ``task`` itself, undecorated: the batched launcher recognises
nnexp's jobs by that very function (any other task it runs job by job, as given)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import hydra

from .config import CONF_DIR, register
from .task import task

register()

main = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)

# Where a config nnexp does not ship can come from, and so set hydra.mode: another primary
# config or config folder (flags), extra search paths, or hydra.mode itself (overrides).
FOREIGN_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn")
MODE_KEYS = ("hydra", "hydra.mode", "hydra.searchpath")


def mode_is_unset(argv: list[str]) -> bool:
    """Whether the config this command line composes leaves ``hydra.mode`` unset. nnexp's
    own configs never set it (tests/test_cli.py composes every option of every group), so
    only a command line that names it or brings configs of its own can."""
    for arg in argv:
        if arg.startswith("-"):
            if arg.partition("=")[0] in (*FOREIGN_FLAGS, "--experimental-rerun"):
                return False
            continue
        key = arg.partition("=")[0].lstrip("+~")
        if key in MODE_KEYS or key.startswith(("hydra.mode.", "hydra.searchpath[")):
            return False
    return True


def _unset(self, config_name, overrides) -> None:
    return None


@contextlib.contextmanager
def known_mode(argv: list[str]) -> Iterator[None]:
    """Hydra composes the whole config once only to read ``hydra.mode`` from it, then
    composes it again for the run (or the sweep). When the mode is known to be unset, the
    first composition's answer is known too: None, after which Hydra picks the mode from
    ``-m`` and composes once, exactly as it would have."""
    from hydra._internal.hydra import Hydra

    if not mode_is_unset(argv):
        yield
        return
    probe = Hydra.get_mode
    Hydra.get_mode = _unset  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = probe  # type: ignore[method-assign]


# Plugin packages nnexp's extras install whose launchers and sweepers a command uses only
# when it names them; none adds a config search path. Hydra imports every plugin module
# it finds at start-up (Ray's alone declares dozens of config classes): for a command
# that names none of these, they are left out of the scan. Any other plugin package,
# nnexp's batched launcher included, is scanned as always.
OPTIONAL_PLUGINS = (
    "hydra_joblib_launcher",
    "hydra_submitit_launcher",
    "hydra_ray_launcher",
    "hydra_optuna_sweeper",
)
# Overrides that may pick a launcher or sweeper (or bring configs that do).
PLUGIN_KEYS = ("hydra/", "hydra.launcher", "hydra.sweeper", "hparams_search")


def plugins_unnamed(argv: list[str]) -> bool:
    """Whether this command line leaves the optional plugins unused: it trains or sweeps
    (no other flag: ``--help``, ``--info`` and ``--cfg`` list or show them) with nnexp's
    own configs, naming no launcher, sweeper or search."""
    if not mode_is_unset(argv):
        return False
    for arg in argv:
        if arg.startswith("-"):
            if arg not in ("-m", "--multirun"):
                return False
            continue
        key = arg.partition("=")[0].lstrip("+~")
        if key.startswith(PLUGIN_KEYS):
            return False
    return True


def _optional(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 2 and parts[0] == "hydra_plugins" and parts[1] in OPTIONAL_PLUGINS


class _Walker:
    """``pkgutil`` for Hydra's plugin scan, without the optional plugins' modules (their
    packages' own ``__init__``, which declare nothing, are still imported to walk them)."""

    def __getattr__(self, name: str):
        import pkgutil

        return getattr(pkgutil, name)

    @staticmethod
    def walk_packages(*args, **kwargs):
        import pkgutil

        return (m for m in pkgutil.walk_packages(*args, **kwargs) if not _optional(m.name))


@contextlib.contextmanager
def lean_plugins(argv: list[str]) -> Iterator[None]:
    """Hydra's plugin scan without ``OPTIONAL_PLUGINS`` while the command runs, when
    ``plugins_unnamed(argv)``: the same plugins for what it composes and launches."""
    import hydra.core.plugins as plugins

    if not plugins_unnamed(argv) or plugins.Plugins in plugins.Singleton._instances:
        yield
        return
    walker = plugins.pkgutil
    plugins.pkgutil = _Walker()  # type: ignore[assignment]
    try:
        yield
    finally:
        plugins.pkgutil = walker
