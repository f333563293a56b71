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
from ..core.train import Split, encode_targets

TARGET_ROWS = 2000  # log_every's default keeps metrics.csv near this many rows


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
    # (epoch, Params) taken during training for learning.html (run/learning.py).
    snapshots: list = field(default_factory=list)


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


def load_dataset(dc) -> Dataset:
    if dc.kind == "builtin":
        data = BUILTIN[dc.name]()
    elif dc.kind == "generated":
        data = generate(dc.name, dc.n, dc.noise, dc.seed)
    else:
        from .csv_data import load_csv

        data = load_csv(dc.path, dc.target, features=_plain(dc.features))
    data = with_queries(data, _plain(dc.queries))
    data = hold_out(data, dc.val_fraction, dc.seed)
    return standardized(data) if dc.standardize else data


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


def make_rng(cfg):
    # The tutorial presets draw through NumPy's legacy generator; a RandomState seeded
    # with s gives exactly the numbers np.random.seed(s) would, without global state.
    if cfg.rng == "legacy":
        return np.random.RandomState(cfg.seed)
    return np.random.default_rng(cfg.seed)


def default_log_every(epochs: int) -> int:
    return max(1, math.ceil(epochs / TARGET_ROWS))


def build(cfg, dataset: Dataset | None = None) -> Setup:
    dataset = dataset or load_dataset(cfg.dataset)
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
    params = init_params(net, cfg.model.init, rng, cfg.model.init_scale, dtype)
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
    )
    return Setup(
        dataset, net, params, optimizer, split(dataset.X, dataset.labels), validation, rng, kwargs
    )
