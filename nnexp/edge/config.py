"""The config schema (dataclasses in Hydra's ConfigStore) and its range checks.

Types and defaults live in the dataclasses; what values are allowed lives in one table,
``CONSTRAINTS``, checked twice with the same words: on the command line's overrides
before Hydra composes anything (``preflight``), and on the composed config of every job
(``validate``), which also covers values from YAML files and sweeps.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..core.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from ..core.data import BUILTIN, GENERATED, MULTICLASS
from ..core.losses import LOSSES
from ..core.network import INITIALIZERS
from ..core.optim import OPTIMIZERS, coefficients
from ..run.setup import ConfigError, check_memory, select
from ..run.usage import closest

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"  # nnexp/conf, shipped in the wheel
GROUPS = ("dataset", "model", "optimizer", "experiment", "hparams_search")
# hydra/launcher options that come from a plugin package: the plugin, and nnexp's extra
# that installs it (conf/hydra/launcher/ holds nnexp's presets for them).
LAUNCHER_PLUGINS = {
    "joblib": ("hydra_joblib_launcher", "sweep"),
    "submitit_local": ("hydra_submitit_launcher", "slurm"),
    "submitit_slurm": ("hydra_submitit_launcher", "slurm"),
    "slurm": ("hydra_submitit_launcher", "slurm"),
    "ray": ("hydra_ray_launcher", "ray"),
    "ray_local": ("hydra_ray_launcher", "ray"),
    "ray_cluster": ("hydra_ray_launcher", "ray"),
}
# What a multirun does with jobs that would fail (edge/sweep_check.py): refuse to start,
# skip them (each records its failure untrained), off (no check), only (check, no sweep).
SWEEP_CHECKS = ("refuse", "skip", "off", "only")


@dataclass
class DatasetConf:
    name: str = "red_blue"
    kind: str = "builtin"  # builtin | generated | csv
    n: int = 200
    noise: float = 0.0
    seed: int = 0
    path: Optional[str] = None
    target: Optional[str] = None
    features: Optional[list[str]] = None
    queries: Optional[list[Any]] = None
    standardize: bool = False
    val_fraction: Any = 0.0  # a fraction in [0, 1), or auto (run/setup.py val_fraction)
    classes: int = 2  # generated gaussians and spiral: how many


@dataclass
class ModelConf:
    hidden: list[int] = field(default_factory=lambda: [4])
    bias: bool = True
    init: str = "auto"  # see run/setup.py AUTO_INIT
    init_scale: float = 1.0
    output_activation: str = "auto"


@dataclass
class OptimizerConf:
    name: str = "gd"
    batch_size: Optional[int] = None
    shuffle: bool = False
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class EarlyStoppingConf:
    # Stop after this many epochs without improvement of monitor; null: never. Watched
    # only where monitor exists: val_ metrics need rows held out (dataset.val_fraction).
    patience: Optional[int] = 100
    monitor: str = "val_loss"  # see MONITORS


MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")


@dataclass
class NnexpConf:
    dataset: DatasetConf = field(default_factory=DatasetConf)
    model: ModelConf = field(default_factory=ModelConf)
    optimizer: OptimizerConf = field(default_factory=OptimizerConf)
    early_stopping: EarlyStoppingConf = field(default_factory=EarlyStoppingConf)
    # model.npz, predictions.csv and the final metrics from the monitored metric's best
    # logged epoch (when it is watched); false: the last epoch's
    restore_best: bool = True
    lr: float = 1.0  # step size
    epochs: int = 10000  # passes over the training set
    activation: str = "sigmoid"  # the hidden layers'
    loss: str = "auto"  # auto: run/setup.py AUTO_LOSS by the output activation
    seed: int = 0  # seeds initialisation and shuffling
    rng: str = "generator"  # generator: np.random.default_rng(seed); legacy: RandomState(seed)
    dtype: str = "float64"
    log_every: Optional[int] = None  # null: about 2 000 rows in metrics.csv however long the run
    progress: bool = True  # a progress bar on a terminal (never when output is piped)
    # -m: jobs that would fail stop the sweep before it starts (see SWEEP_CHECKS)
    sweep_check: str = "refuse"
    snapshots: int = 60  # 2-D data: learning.html and learning.gif from this many epochs; 0: none
    max_memory_gb: float = 8.0  # refuse a run estimated to allocate more (run/setup.py)


def register() -> None:
    """The schema in Hydra's ConfigStore, and ``${nnexp.allowed:}`` (``--help``'s list of
    allowed values, see ``allowed_values``) as an OmegaConf resolver."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    ConfigStore.instance().store(name="nnexp_schema", node=NnexpConf)
    OmegaConf.register_new_resolver("nnexp.allowed", allowed_values, replace=True)


# --- constraints ---------------------------------------------------------------------


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Constraint:
    check: Callable[[Any], bool]
    allowed: str


def _int_at_least(low: int) -> Constraint:
    return Constraint(lambda v: _is_int(v) and v >= low, f"an integer >= {low}")


def _optional(c: Constraint) -> Constraint:
    return Constraint(lambda v: v is None or c.check(v), f"null or {c.allowed}")


def _choice(options) -> Constraint:
    options = tuple(options)
    return Constraint(lambda v: v in options, "one of " + ", ".join(options))


POSITIVE = Constraint(lambda v: _is_number(v) and v > 0, "a number > 0")
NON_NEGATIVE = Constraint(lambda v: _is_number(v) and v >= 0, "a number >= 0")
UNIT = Constraint(lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)")
BOOL = Constraint(lambda v: isinstance(v, bool), "true or false")
NAME = Constraint(lambda v: v is None or isinstance(v, str), "a string")
HIDDEN = Constraint(
    lambda v: isinstance(v, (list, tuple)) and all(_is_int(h) and h >= 1 for h in v),
    "a list of integers >= 1, such as [4] or [16,16] ([] for no hidden layer)",
)

QUERIES = Constraint(
    lambda v: v is None or isinstance(v, (list, tuple)),
    "a list of points, such as [[0,1]] or [[0,1],[2,3]] (null: the dataset's own)",
)
FEATURES = Constraint(
    lambda v: v is None or isinstance(v, (list, tuple)),
    "a list of column names, such as [x,y] (null: every column but the target)",
)
# Ten times the longest tutorial's 100 000 epochs is minutes; this is hours to days for
# the smallest network: past it a run is a typo, not an experiment.
MAX_EPOCHS = 10**9
# Frames of learning.html and learning.gif: each is drawn and stored (a few kB), so ten
# thousand are minutes of drawing and a page of tens of MB; past it a run is a typo.
MAX_SNAPSHOTS = 10**4
# Options cast to the run's dtype as they are, and float32's largest number.
FLOAT32_CAST = ("lr", "model.init_scale")
FLOAT32_MAX = 3.4028234663852886e38  # np.finfo(np.float32).max
# Seeds each generator takes (NumPy raises past these).
SEED_LIMITS = {"legacy": 2**32 - 1, "generator": None}

CONSTRAINTS: dict[str, Constraint] = {
    "lr": POSITIVE,
    "epochs": Constraint(
        lambda v: _is_int(v) and 1 <= v <= MAX_EPOCHS, f"an integer in [1, {MAX_EPOCHS}]"
    ),
    "max_memory_gb": POSITIVE,
    "activation": _choice(HIDDEN_ACTIVATIONS),
    "loss": _choice(["auto", *LOSSES]),
    "seed": _int_at_least(0),
    "rng": _choice(["generator", "legacy"]),
    "dtype": _choice(["float64", "float32"]),
    "log_every": _optional(
        Constraint(
            lambda v: _is_int(v) and 1 <= v <= MAX_EPOCHS, f"an integer in [1, {MAX_EPOCHS}]"
        )
    ),
    "progress": BOOL,
    "sweep_check": _choice(SWEEP_CHECKS),
    "snapshots": Constraint(
        lambda v: _is_int(v) and 0 <= v <= MAX_SNAPSHOTS, f"an integer in [0, {MAX_SNAPSHOTS}]"
    ),
    "restore_best": BOOL,
    "early_stopping.patience": _optional(_int_at_least(1)),
    "early_stopping.monitor": _choice(MONITORS),
    "dataset.name": NAME,
    "dataset.kind": _choice(["builtin", "generated", "csv"]),
    "dataset.n": _int_at_least(2),
    "dataset.noise": NON_NEGATIVE,
    "dataset.seed": _int_at_least(0),
    "dataset.standardize": BOOL,
    "dataset.val_fraction": Constraint(
        lambda v: v == "auto" or UNIT.check(v), "auto or a number in [0, 1)"
    ),
    "dataset.queries": QUERIES,
    "dataset.features": FEATURES,
    "dataset.classes": _int_at_least(2),
    "model.hidden": HIDDEN,
    "model.bias": BOOL,
    "model.init": _choice(["auto", *INITIALIZERS]),
    "model.init_scale": POSITIVE,
    "model.output_activation": _choice(["auto", *OUTPUT_ACTIVATIONS]),
    "optimizer.name": _choice(OPTIMIZERS),
    "optimizer.batch_size": _optional(_int_at_least(1)),
    "optimizer.shuffle": BOOL,
    "optimizer.momentum": UNIT,
    "optimizer.beta1": UNIT,
    "optimizer.beta2": UNIT,
    "optimizer.eps": POSITIVE,
    "optimizer.weight_decay": NON_NEGATIVE,
}


# hydra/launcher options that need no plugin package: Hydra's own, and nnexp's (the
# hydra_plugins/nnexp_batched_launcher package).
BUILTIN_LAUNCHERS = {
    "basic": "one job after another",
    "batched": "the default for -m: stacked replicas, parallel writers",
}


def allowed_values() -> str:
    """``--help``'s list: every option of ``CONSTRAINTS`` with what it allows, then the
    launchers (``BUILTIN_LAUNCHERS`` and ``LAUNCHER_PLUGINS``), one per line."""
    width = max(map(len, CONSTRAINTS)) + 2
    lines = [f"{key:<{width}}{c.allowed}" for key, c in CONSTRAINTS.items()]
    lines.append(
        f"{'hydra/launcher':<{width}}"
        + ", ".join(f"{name} ({what})" for name, what in BUILTIN_LAUNCHERS.items())
    )
    by_extra: dict[str, list[str]] = {}
    for name, (_, extra) in LAUNCHER_PLUGINS.items():
        by_extra.setdefault(extra, []).append(name)
    for extra, names in by_extra.items():
        lines.append(f'{"":<{width}}{", ".join(names)} (pip install "nnexp[{extra}]")')
    return "\n".join(lines)


def check(key: str, value) -> None:
    """Raise ConfigError if ``value`` is not allowed for option ``key``."""
    constraint = CONSTRAINTS.get(key)
    if constraint is not None and not constraint.check(value):
        raise ConfigError(f"{key}={value!r} is not allowed: {key} must be {constraint.allowed}")


def check_seed(seed, rng) -> None:
    """The seed's range depends on the generator: RandomState takes 32 bits."""
    limit = SEED_LIMITS.get(rng)
    if limit is not None and _is_int(seed) and seed > limit:
        raise ConfigError(
            f"seed={seed} is not allowed with rng={rng}: seed must be an integer in "
            f"[0, {limit}] (rng=generator takes any seed >= 0)"
        )


def validate(cfg) -> None:
    """Check a composed config (an OmegaConf DictConfig or nested dicts)."""
    for key in CONSTRAINTS:
        value = select(cfg, key)
        if hasattr(value, "_content"):  # an OmegaConf ListConfig
            value = list(value)
        check(key, value)
    check_seed(select(cfg, "seed"), select(cfg, "rng"))
    if select(cfg, "dtype") == "float32":
        for key in FLOAT32_CAST:
            value = select(cfg, key)
            if value > FLOAT32_MAX:  # cast to float32 it is inf (NumPy warns, the run diverges)
                raise ConfigError(
                    f"{key}={value:g} is not allowed with dtype=float32: {key} must be a "
                    f"number in (0, {FLOAT32_MAX:.4g}], float32's largest"
                )
    kind, name = select(cfg, "dataset.kind"), select(cfg, "dataset.name")
    kinds: dict[str, dict[str, Any]] = {"builtin": BUILTIN, "generated": GENERATED}
    known = kinds.get(kind)
    if known is not None and name not in known:
        raise ConfigError(
            f"dataset.name={name!r} is not a {kind} dataset: use one of {', '.join(known)}"
        )
    classes = select(cfg, "dataset.classes")
    if kind == "generated":  # refused before its points are drawn (CSV: once it is read)
        n = select(cfg, "dataset.n")
        if name in MULTICLASS and classes > n:
            raise ConfigError(
                f"dataset.classes={classes} is more than dataset.n={n} points: every class "
                f"needs points, so dataset.classes must be an integer in [2, {n}]"
            )
        check_memory(cfg, n, 2, classes if name in MULTICLASS else 2)
    if classes != 2 and not (kind == "generated" and name in MULTICLASS):
        raise ConfigError(
            f"dataset.classes={classes} is not allowed with dataset={name}: only the generated "
            f"{' and '.join(MULTICLASS)} take a number of classes (the others have their own)"
        )
    if kind == "csv":
        for key in ("dataset.path", "dataset.target"):
            if not select(cfg, key):
                raise ConfigError(
                    f"{key} is required with dataset=csv: "
                    f"python -m nnexp dataset=csv dataset.path=data.csv dataset.target=label"
                )


def unread(cfg) -> dict[str, str]:
    """The options ``cfg`` sets (away from their defaults) that its run never reads ->
    the line refusing each: trained without them, the run would say ok about other data
    or another update rule. Not part of ``validate``: a single run refuses the first
    (``RunCheck``), a sweep only an option none of its jobs reads (``check``), since
    crossing optimizer=gd,momentum with optimizer.momentum=0.5,0.9 is a grid, not a
    mistake."""
    kind, name = select(cfg, "dataset.kind"), select(cfg, "dataset.name")
    lines = {}
    for key, wanted in DATASET_KIND_ONLY.items():
        value = _set(cfg, key, DatasetConf())
        if kind != wanted and value is not DEFAULT:
            lines[key] = f"{key}={_shown(value)} is not read by dataset={name}: " + (
                "add dataset=csv to train on your file"
                if wanted == "csv"
                else f"only the generated datasets ({', '.join(GENERATED)}) take it"
            )
    seed = _set(cfg, "dataset.seed", DatasetConf())
    if kind == "builtin" and seed is not DEFAULT and select(cfg, "dataset.val_fraction") == 0:
        lines["dataset.seed"] = (
            f"dataset.seed={seed} is not read by dataset={name} without held-out rows: it "
            "seeds the generated datasets' points and the held-out split (dataset.val_fraction)"
        )
    optimizer = select(cfg, "optimizer.name")
    takes = coefficients(OPTIMIZERS[optimizer])
    for option in OPTIMIZER_ONLY:
        value = _set(cfg, f"optimizer.{option}", OptimizerConf())
        if option not in takes and value is not DEFAULT:
            readers = [n for n, rule in OPTIMIZERS.items() if option in coefficients(rule)]
            lines[f"optimizer.{option}"] = (
                f"optimizer.{option}={value} is not read by optimizer.name={optimizer}: "
                f"only {' and '.join(readers)} {'take' if len(readers) > 1 else 'takes'} it "
                f"(optimizer={readers[0]})"
            )
    return lines


def set_options(cfg) -> set[str]:
    """The options ``unread`` looks at that ``cfg`` sets away from their defaults (those
    not in ``unread(cfg)`` its run reads)."""
    candidates = [*DATASET_KIND_ONLY, "dataset.seed", *(f"optimizer.{o}" for o in OPTIMIZER_ONLY)]
    default = {"dataset": DatasetConf(), "optimizer": OptimizerConf()}
    return {key for key in candidates if _set(cfg, key, default[key.split(".")[0]]) is not DEFAULT}


def _set(cfg, key: str, defaults):
    """The option's value where ``cfg`` sets it away from ``defaults``' value, else
    ``DEFAULT``."""
    value = select(cfg, key)
    if hasattr(value, "_content"):  # an OmegaConf ListConfig
        value = list(value)
    return DEFAULT if value == getattr(defaults, key.split(".")[1]) else value


DEFAULT = object()  # what _set gives for an option left at its default


# Dataset options only one kind of dataset reads -> that kind. Given to another, they
# are refused (forgetting dataset=csv trained red_blue and said ok).
DATASET_KIND_ONLY = {
    "dataset.path": "csv",
    "dataset.target": "csv",
    "dataset.features": "csv",
    "dataset.n": "generated",
    "dataset.noise": "generated",
}


# Optimiser coefficients only some update rules read (lr and weight_decay: every rule).
OPTIMIZER_ONLY = ("momentum", "beta1", "beta2", "eps")


def _shown(value) -> str:
    """A value as written on the command line: lists without quotes, [a,b]."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def option_names(node=NnexpConf, prefix: str = "") -> list[str]:
    """Every option of the schema, dotted: lr, model.hidden, optimizer.name, ..."""
    from dataclasses import fields, is_dataclass

    names = []
    for f in fields(node):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if is_dataclass(default):
            names += option_names(type(default), prefix + f.name + ".")
        else:
            names.append(prefix + f.name)
    return names


def group_options(group: str) -> list[str]:
    folder = CONF_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _sweep_values(override) -> list:
    """The values an override stands for: one, or each of a choice/range sweep.
    Interval sweeps (for Optuna) are checked per job instead."""
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep

    value = override.value()
    if isinstance(value, (ChoiceSweep, RangeSweep)):
        values = list(override.sweep_iterator())
    elif override.is_sweep_override():
        return []
    else:
        values = [value]
    # An interpolation (seed=${hydra:job.num}) has its value only once its job's config
    # is composed: validation checks it there.
    return [v for v in values if not (isinstance(v, str) and "${" in v)]


def check_launcher(name: str) -> None:
    """Raise ConfigError if launcher ``name`` needs a plugin that is not installed."""
    from importlib.util import find_spec

    plugin, extra = LAUNCHER_PLUGINS.get(name, (None, None))
    if plugin is not None and find_spec(f"hydra_plugins.{plugin}") is None:
        raise ConfigError(
            f"hydra/launcher={name} needs {plugin.replace('_', '-')}, which is "
            f'not installed: pip install "nnexp[{extra}]"'
        )


# Config groups and Hydra options that need a plugin package, and the extra installing it.
SWEEPER_PLUGINS = {
    "hparams_search": ("hydra_optuna_sweeper", "sweep"),  # every search preset is Optuna's
    "hydra/sweeper": ("hydra_optuna_sweeper", "sweep"),  # only its optuna option
}


def check_sweeper(key: str, value) -> None:
    """Raise ConfigError if an Optuna search is asked for and its sweeper is missing."""
    from importlib.util import find_spec

    plugin, extra = SWEEPER_PLUGINS[key]
    if key == "hydra/sweeper" and str(value) != "optuna":
        return
    if value is not None and find_spec(f"hydra_plugins.{plugin}") is None:
        raise ConfigError(
            f"{key}={value} needs the Optuna sweeper ({plugin.replace('_', '-')}), which "
            f'is not installed: pip install "nnexp[{extra}]" (nnexp\'s {extra} extra)'
        )


def check_cluster(name: str, keys: set[str]) -> None:
    """Raise ConfigError if a cluster launcher is asked for where there is no cluster to
    reach: SLURM without srun; Ray's ``address: auto`` with no address set
    (``RAY_ADDRESS`` or ``hydra.launcher.ray.init.address``) and no cluster started on
    this node (Ray's own ``ray_current_cluster`` file). ``keys``: the overridden keys."""
    import shutil
    import tempfile

    if name in ("slurm", "submitit_slurm") and shutil.which("srun") is None:
        raise ConfigError(
            f"hydra/launcher={name} needs SLURM, and srun is not on PATH here: run the "
            "sweep on a SLURM login node, or drop hydra/launcher to use this machine's cores"
        )
    started_here = Path(tempfile.gettempdir(), "ray", "ray_current_cluster").exists()
    addressed = "RAY_ADDRESS" in os.environ or "hydra.launcher.ray.init.address" in keys
    if name == "ray_cluster" and not (addressed or started_here):
        raise ConfigError(
            "hydra/launcher=ray_cluster needs a running Ray cluster, and none is known "
            "here: start one (ray start --head) or set RAY_ADDRESS=HOST:6379, "
            "or use hydra/launcher=ray_local for this machine"
        )


def check_subdir(text: str) -> None:
    """Raise ConfigError if hydra.sweep.subdir could put a job folder outside the sweep
    folder (an absolute path, or a ``..`` segment): the report, resume and the sweep's
    lock only ever look inside it."""
    parts = text.replace("\\", "/").split("/")
    if text.startswith(("/", "~")) or ".." in parts:
        raise ConfigError(
            f"hydra.sweep.subdir={text} would write job folders outside the sweep folder: "
            "use a relative path without '..', such as ${hydra.job.num} or lr_${lr}"
        )


def _parse(overrides: list[str]) -> list:
    """The overrides parsed one by one, so a syntax error names its own override."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    parsed = []
    for line in overrides:
        try:
            parsed.append(parser.parse_override(line))
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "bad syntax"
            hint = (
                "put a value with non-ASCII letters in quotes: key='\"value\"'"
                if not line.isascii()
                else "check its brackets and quotes; a list is written [1,2], a string "
                "with spaces or commas key='\"a b\"'"
            )
            raise ConfigError(f"{line} is not a valid override ({reason}): {hint}") from None
    return parsed


def _did_you_mean(key: str) -> str:
    """``: did you mean lr?`` for a misspelt option or group (optimiser, epoch, Lr)."""
    known = [*GROUPS, *option_names()]
    nested = [name for name in known if name.rpartition(".")[2] == key.lower()]
    if len(nested) == 1:  # batch_size: optimizer.batch_size
        return f": did you mean {nested[0]}?"
    tail = key.lower().rpartition(".")[2]
    if "." in key and tail in known:  # optimizer.lr: lr
        return f": did you mean {tail}?"
    meant = closest(key, known)
    return f": did you mean {meant}?" if meant else ""


def _hydra_flags() -> dict:
    """Hydra's command-line flags (``-m``, ``--cfg``, ...) -> their argparse actions."""
    from hydra._internal.utils import get_args_parser

    return {name: a for a in get_args_parser()._actions for name in a.option_strings}


def check_words(args: list[str]) -> None:
    """Raise ConfigError for a word Hydra would refuse with its usage or a parse error:
    a flag it does not know, or a word that is neither an override (``key=value``,
    ``~key``) nor the value of the flag before it (``--cfg job``)."""
    from .cli import SUBCOMMANDS  # (cli imports this module only when it runs)

    modes: dict[str, str] = {}  # what Hydra is asked to do -> the flag that asked
    for arg, kind, action in _hydra_words(args):
        if kind == "value":
            continue
        if kind == "flag":
            name = arg.partition("=")[0]
            if action is None and name != "--check":
                import difflib

                known = [*_hydra_flags(), "--check"]
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f": did you mean {close[0]}?" if close else ""
                raise ConfigError(
                    f"{arg} is not a flag of nnexp{hint} (flags: -m for a sweep, --cfg job, "
                    "--help, --check; nnexp --help lists them all)"
                )
            if action is not None and action.dest in HYDRA_MODES:
                modes.setdefault(action.dest, name)
            continue
        if "=" in arg or arg.startswith("~"):
            continue
        if arg in option_names() or arg in GROUPS:
            allowed = CONSTRAINTS[arg].allowed if arg in CONSTRAINTS else None
            raise ConfigError(
                f"{arg} needs a value: write {arg}=VALUE"
                + (f" ({arg} must be {allowed})" if allowed else "")
            )
        import difflib

        close = difflib.get_close_matches(arg, SUBCOMMANDS, n=1, cutoff=0.6)
        hint = f": did you mean nnexp {close[0]}?" if close else ""
        raise ConfigError(
            f"{arg} is neither an override nor a command{hint} (an override is key=value, "
            f"such as lr=0.1; the commands are {', '.join(SUBCOMMANDS)})"
        )
    if len(modes) > 1:  # Hydra's words: a ValueError and its traceback
        raise ConfigError(
            f"{' and '.join(modes.values())} cannot be given together: Hydra does one "
            "thing at a time: a run (-r), a sweep (-m), print the config (--cfg), --info "
            "or --shell-completion (nnexp check -m ... lists a sweep's jobs without running)"
        )


# Hydra's flags that each say what it is to do; it refuses two of them at once.
HYDRA_MODES = ("run", "multirun", "cfg", "info", "shell_completion")


def flags_first(args: list[str]) -> list[str]:
    """``args`` with Hydra's flags (and their values) before the overrides, each group in
    its order: Hydra's parser takes the overrides as one run of words, so overrides on
    both sides of a flag (``lr=0.1,1 -m epochs=2``) got its usage and "unrecognized
    arguments". Call after ``check_words``, which refuses a flag Hydra does not know."""
    words = list(_hydra_words(args))
    hydras = [arg for arg, kind, action in words if kind == "value" or action is not None]
    return hydras + [arg for arg, kind, action in words if kind != "value" and action is None]


def _hydra_words(args: list[str]):
    """Each word of a command line as Hydra's parser reads it -> (word, kind, action):
    kind ``flag`` (``action``: its argparse action, None for a flag Hydra does not know;
    ``--multi`` abbreviates ``--multirun``), ``value`` (of the flag before it, such as
    ``job`` after ``--cfg``) or ``word`` (an override, or a word Hydra would refuse)."""
    flags = _hydra_flags()
    takes = None  # the flag whose value the next word may be
    for arg in args:
        if takes is not None and (takes.nargs is None or arg in (takes.choices or ())):
            takes = None
            yield arg, "value", None
            continue
        takes = None
        if not arg.startswith("-"):
            yield arg, "word", None
            continue
        name = arg.partition("=")[0]
        prefixed = [f for f in flags if f.startswith("--") and f.startswith(name)]
        action = flags.get(name) or (
            flags[prefixed[0]] if name.startswith("--") and len(prefixed) == 1 else None
        )
        if action is not None and "=" not in arg and action.nargs != 0:
            takes = action
        yield arg, "flag", action


def _group_value(key: str, value, options: list[str]) -> None:
    """Raise ConfigError unless ``value`` names one of the config group's ``options``
    (Hydra takes null, a number or an empty value for a group only to fail on it)."""
    if isinstance(value, str) and value in options:
        return
    shown = "null" if value is None else _shown(value)
    raise ConfigError(f"{key}={shown} does not exist: {key} must be one of " + ", ".join(options))


def _launcher_value(key: str, value) -> None:
    """Raise ConfigError for a hydra/... group value that is no config name at all."""
    if isinstance(value, str) and value:
        return
    shown = "null" if value is None else _shown(value)
    known = [*BUILTIN_LAUNCHERS, *LAUNCHER_PLUGINS] if key == "hydra/launcher" else []
    raise ConfigError(
        f"{key}={shown} is not a config name: {key} takes the name of one of its configs"
        + (f", such as {', '.join(known)}" if known else "")
    )


def _schema_node(key: str) -> bool:
    """Whether ``key`` is an option of the schema or a node holding options (not a
    config group, whose deletion falls back to the schema's defaults)."""
    return key not in GROUPS and any(
        name == key or name.startswith(key + ".") for name in option_names()
    )


def preflight(args: list[str]) -> None:
    """Check the command line's overrides before Hydra composes, so a bad value gets one
    line with our words instead of Hydra's multi-line report."""
    check_words(args)
    overrides = [a for a in args if not a.startswith("-") and "=" in a]
    overrides += [a for a in args if a.startswith("~") and "=" not in a]
    multirun = any(a in ("-m", "--multirun") for a in args)
    parsed = _parse(overrides)
    from .main import mode_is_unset  # (main imports this module)

    # A sweep value without -m is a mistake only where nothing else can make the command
    # a sweep: hydra.mode=MULTIRUN, or configs of the user's own, may.
    unswept = not multirun and mode_is_unset(args)
    keys = {o.key_or_group for o in parsed}
    plain = {}
    # Without a search's sweeper (Optuna), interval() reaches Hydra's basic sweeper,
    # which refuses it only after making the sweep's folder.
    searching = "hparams_search" in keys or "hydra/sweeper" in keys or not mode_is_unset(args)
    for override in parsed:
        key = override.key_or_group
        line = override.input_line
        if not key:
            raise ConfigError(
                f"{line} is not a valid override (no key before '='): write key=value, "
                "such as lr=0.1"
            )
        if override.is_delete() and _schema_node(key):
            raise ConfigError(
                f"~{key} would delete {key}, which every run reads: set it instead "
                f"({key}=...), or leave it out for its default"
            )
        if multirun and not searching and override.is_sweep_override():
            from hydra.core.override_parser.types import IntervalSweep

            if isinstance(override.value(), IntervalSweep):
                raise ConfigError(
                    f"{line} is a search interval, which only a search samples: sweep a "
                    f"list of values ({key}=0.01,0.1,1, or range(...)), or search with "
                    "hparams_search=... (Optuna)"
                )
        if unswept and override.is_sweep_override():
            # Hydra's words: "Ambiguous value for argument 'lr=0.1,1'", its hints cut off.
            raise ConfigError(
                f"{line} gives several values, which only a sweep runs: add -m to run one "
                f"job a value (python -m nnexp -m {shlex.quote(line)}); a list is written in brackets, "
                "[a,b]"
            )
        if key.startswith("hydra/") and not override.is_delete():
            for value in _sweep_values(override):
                _launcher_value(key, value)
        if key == "hydra/launcher" and not override.is_delete():
            for value in _sweep_values(override):
                check_launcher(str(value))
                if multirun:
                    check_cluster(str(value), keys)
        if key in SWEEPER_PLUGINS and not override.is_delete():
            for value in _sweep_values(override):
                check_sweeper(key, value)
        if key == "hydra.sweep.subdir" and not override.is_delete():
            check_subdir(override.input_line.partition("=")[2])
        if override.is_delete() or key.startswith("hydra"):
            continue
        if key in GROUPS:
            options = group_options(key)
            for value in _sweep_values(override):
                _group_value(key, value, options)
        elif key in CONSTRAINTS:
            values = _sweep_values(override)
            for value in values:
                check(key, value)
            if len(values) == 1:
                plain[key] = values[0]
        elif not override.is_add() and key not in option_names():
            raise ConfigError(
                f"{key} is not an option{_did_you_mean(key)} (add it with +{key}=... only if "
                f"you mean to extend the config): options are " + ", ".join(option_names())
            )
    if "seed" in plain and "rng" in plain:
        check_seed(plain["seed"], plain["rng"])
