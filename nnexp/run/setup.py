"""A validated config -> the objects one run trains: dataset, network, parameters,
optimiser, encoded splits and the generator.

Hydra-free: takes any mapping with the schema's keys (a DictConfig or nested dicts
read with attribute access), so the batched launcher and the tests build runs the same
way the task does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.data import BUILTIN, Dataset, generate, hold_out, standardized, with_queries
from ..core.network import Network, Params, init_params
from ..core.optim import OPTIMIZERS, Optimizer, coefficients
from ..core.train import History, Split, encode_targets
from ..core.train import train as train_loop

TARGET_ROWS = 2000  # log_every's default keeps metrics.csv near this many rows
DEFAULT_MAX_MEMORY_GB = 8.0  # a third of a 24 GiB machine: room for two parallel jobs
# loss=auto: the loss whose gradient cancels the output activation's derivative (the
# closed-form deltas in core/losses.py); any other output gets the mean squared error.
AUTO_LOSS = {"sigmoid": "bce", "softmax": "cross_entropy"}
# model.init=auto: He keeps relu-like layers' variance, Glorot (xavier) the others'.
AUTO_INIT = {"relu": "he", "leaky_relu": "he"}
# dataset.val_fraction=auto (the CSV preset's): a fifth of the rows held out, so early
# stopping and restore_best have a validation loss to watch, from AUTO_VAL_ROWS rows up
# (a fifth of them is 20 rows); fewer rows than that train on all of them.
AUTO_VAL_FRACTION = 0.2
AUTO_VAL_ROWS = 100


class ConfigError(ValueError):
    """A bad option value; the message is the one line the user sees."""


@dataclass
class Setup:
    """Everything ``train`` needs, built from a validated config."""

    dataset: Dataset
    net: Network
    params: Params
    optimizer: Optimizer
    data: Split
    validation: Split | None
    rng: object
    train_kwargs: dict
    # Options given as auto and what they resolved to: {"loss": "bce", "model.init": ...}.
    resolved: dict = field(default_factory=dict)
    # (epoch, Params) taken during training for learning.html (run/learning.py).
    snapshots: list = field(default_factory=list)

    @property
    def loss(self) -> str:
        return self.resolved["loss"]

    def train(self, on_log=None) -> History:
        """Train this setup's parameters in place with its resolved loss; the History."""
        return train_loop(
            self.net,
            self.params,
            self.optimizer,
            self.loss,
            self.data,
            rng=self.rng,
            validation=self.validation,
            on_log=on_log,
            **self.train_kwargs,
        )


def select(cfg, dotted: str):
    """The value at a dotted option name (``optimizer.momentum``) of a config or nested
    dicts."""
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def coefficient_option(name: str) -> str:
    """The option that holds an optimiser's coefficient: ``lr`` at the top,
    ``optimizer.<name>`` for the rest."""
    return name if name == "lr" else f"optimizer.{name}"


def dataset_key(cfg) -> str:
    """A config's dataset options as JSON: configs with equal keys load equal datasets."""
    import json

    from omegaconf import OmegaConf

    return json.dumps(OmegaConf.to_container(cfg.dataset, resolve=True), sort_keys=True)


def load_dataset(dc) -> Dataset:
    if dc.kind == "builtin":
        data = BUILTIN[dc.name]()
    elif dc.kind == "generated":
        data = generate(dc.name, dc.n, dc.noise, dc.seed, dc.classes)
    else:
        from .csv_data import load_csv

        data = load_csv(dc.path, dc.target, features=_plain(dc.features))
    return prepared(data, dc)


def prepared(data: Dataset, dc) -> Dataset:
    """A loaded dataset as ``dc`` (the dataset options) wants it: with its queries, the
    validation rows held out, the features standardised."""
    data = with_queries(data, _plain(dc.queries))
    data = hold_out(data, val_fraction(dc.val_fraction, len(data.X)), dc.seed)
    return standardized(data) if dc.standardize else data


def val_fraction(option, rows: int) -> float:
    """The fraction of ``rows`` held out: the option's, or for ``auto`` AUTO_VAL_FRACTION
    from AUTO_VAL_ROWS rows up and none below."""
    if option == "auto":
        return AUTO_VAL_FRACTION if rows >= AUTO_VAL_ROWS else 0.0
    return float(option)


def _plain(node):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node) if hasattr(node, "_content") else node


def output_layer(cfg, n_classes: int) -> tuple[int, str]:
    """(number of outputs, output activation): one sigmoid for two classes, a softmax
    over the classes for more, unless the config names the output activation."""
    act = cfg.model.output_activation
    if act == "auto":
        act = "sigmoid" if n_classes == 2 else "softmax"
    n_outputs = 1 if n_classes == 2 and act != "softmax" else n_classes
    if cfg.loss == "cross_entropy" and act != "softmax":
        raise ConfigError(
            f"loss=cross_entropy needs a softmax output, not {act}: "
            "use loss=bce for a sigmoid output or model.output_activation=softmax"
        )
    if cfg.loss == "bce" and act != "sigmoid":
        raise ConfigError(
            f"loss=bce needs a sigmoid output, not {act}: use loss=cross_entropy with softmax"
        )
    return n_outputs, act


def resolve(cfg, output_activation: str, rows: int) -> dict:
    """The loss, the initialisation and the validation fraction a run uses: the
    config's, or what ``auto`` picks for its activations and its ``rows`` (training and
    validation)."""
    loss = cfg.loss if cfg.loss != "auto" else AUTO_LOSS.get(output_activation, "mse")
    init = cfg.model.init
    if init == "auto":
        init = AUTO_INIT.get(cfg.activation, "xavier")
    fraction = val_fraction(cfg.dataset.val_fraction, rows)
    return {"loss": loss, "model.init": init, "dataset.val_fraction": fraction}


def watching(cfg, has_validation: bool) -> dict:
    """train's early-stopping arguments: the config's, or none when the monitored metric
    does not exist (a val_ metric without a held-out split)."""
    es = cfg.early_stopping
    if es.monitor.startswith("val_") and not has_validation:
        return {"patience": None, "monitor": es.monitor, "restore_best": False}
    return {"patience": es.patience, "monitor": es.monitor, "restore_best": cfg.restore_best}


def make_rng(cfg):
    # The tutorial presets draw through NumPy's legacy generator; a RandomState seeded
    # with s gives exactly the numbers np.random.seed(s) would, without global state.
    if cfg.rng == "legacy":
        return np.random.RandomState(cfg.seed)
    return np.random.default_rng(cfg.seed)


def default_log_every(epochs: int) -> int:
    return max(1, math.ceil(epochs / TARGET_ROWS))


GIB = 2**30
# Arrays alive at once, in units of the parameter count and of rows x units: the
# parameters, their gradients, up to two optimiser moments and the copy a run saves;
# each unit's pre-activation, activation and delta over the rows of a pass.
PARAMETER_COPIES = 5
ACTIVATION_COPIES = 3


def memory_estimate(cfg, n: int, d: int, n_classes: int) -> tuple[float, str]:
    """(bytes one run allocates at its peak, roughly, and what dominates) for ``n`` rows
    of ``d`` features and ``n_classes`` classes: parameters, the activations of a pass
    over all rows (metrics are computed on the full set whatever the batch), one-hot
    targets and the data in two copies (raw, and as the network sees it)."""
    itemsize = np.dtype(select(cfg, "dtype")).itemsize
    n_outputs = 1 if n_classes == 2 else n_classes
    sizes = [d, *list(select(cfg, "model.hidden")), n_outputs]
    parameters = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    units = sum(sizes[1:])
    parts = {
        f"{parameters:.3g} parameters": PARAMETER_COPIES * parameters * itemsize,
        f"{n} rows x {units} units of activations": ACTIVATION_COPIES * n * units * itemsize,
        f"one-hot targets of {n} rows x {n_outputs} classes": 2 * n * n_outputs * itemsize,
        f"{n} rows x {d} features": n * d * (8 + itemsize) + 8 * n,
    }
    return float(sum(parts.values())), max(parts, key=parts.__getitem__)


def check_memory(cfg, n: int, d: int, n_classes: int) -> None:
    """Raise ConfigError when a run would allocate more than ``max_memory_gb``: past it
    NumPy would fail with a MemoryError mid-run, or the machine would start swapping."""
    limit = float(cfg.get("max_memory_gb", None) or DEFAULT_MAX_MEMORY_GB)
    need, largest = memory_estimate(cfg, n, d, n_classes)
    if need > limit * GIB:
        raise ConfigError(
            f"this run would need about {need / GIB:.3g} GiB ({largest}), more than "
            f"max_memory_gb={limit:g}: make model.hidden or the dataset smaller, or raise "
            "max_memory_gb if the machine has the memory"
        )


def build(cfg, dataset: Dataset | None = None) -> Setup:
    dataset = dataset or load_dataset(cfg.dataset)
    check_memory(cfg, len(dataset.X), dataset.n_features, dataset.n_classes)
    n_outputs, out_act = output_layer(cfg, dataset.n_classes)
    net = Network(
        dataset.n_features,
        tuple(cfg.model.hidden),
        n_outputs,
        cfg.activation,
        out_act,
        cfg.model.bias,
    )
    dtype = np.dtype(cfg.dtype)
    rng = make_rng(cfg)
    rows = len(dataset.X) + (0 if dataset.X_val is None else len(dataset.X_val))
    resolved = resolve(cfg, out_act, rows)
    params = init_params(net, resolved["model.init"], rng, cfg.model.init_scale, dtype)
    o = cfg.optimizer
    rule = OPTIMIZERS[o.name]
    optimizer = rule(
        params, **{name: select(cfg, coefficient_option(name)) for name in coefficients(rule)}
    )

    def split(X, labels):
        return Split(
            dataset.transform(X).astype(dtype), encode_targets(labels, n_outputs, dtype), labels
        )

    validation = None if dataset.X_val is None else split(dataset.X_val, dataset.labels_val)
    kwargs = dict(
        epochs=cfg.epochs,
        batch_size=o.batch_size,
        shuffle=o.shuffle,
        log_every=cfg.log_every or default_log_every(cfg.epochs),
        **watching(cfg, validation is not None),
    )
    return Setup(
        dataset,
        net,
        params,
        optimizer,
        split(dataset.X, dataset.labels),
        validation,
        rng,
        kwargs,
        resolved,
    )
