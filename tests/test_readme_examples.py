"""Every README training example learns, and so does every generated dataset with every
optimizer preset at its default learning rate.

The runs are built and trained in-process from the composed config (what the command
would train, without a subprocess); generated data gets a held-out quarter so the
accuracy asserted is on rows the network never trained on.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from nnexp.core.network import predict
from nnexp.edge.config import CONF_DIR, validate
from nnexp.run.setup import build

README = Path(__file__).resolve().parent.parent / "README.md"
OPTIMIZERS = sorted(p.stem for p in (CONF_DIR / "optimizer").glob("*.yaml"))

# Held-out accuracy a generated dataset must reach with the default network (one hidden
# layer of 4 sigmoid units); chance is 1 / classes. The [4] network cannot draw the
# spiral's arms, so its bar says "learns something", not "solves it".
DEFAULT_NET_FLOOR = {"xor": 0.9, "circles": 0.95, "gaussians": 0.9, "spiral": 0.6}
# The README's examples name their networks; these bars are for those networks.
EXAMPLE_FLOOR = {"xor": 0.95, "circles": 0.95, "gaussians": 0.9, "spiral": 0.75}


def compose_cfg(overrides: list[str]):
    with initialize_config_dir(str(CONF_DIR), version_base=None):
        cfg = compose("config", overrides=overrides)
    validate(cfg)
    return cfg


def held_out_accuracy(overrides: list[str]) -> float:
    """Train what ``python -m nnexp OVERRIDES`` trains; the final held-out accuracy."""
    setup = build(compose_cfg(overrides))
    history = setup.train()
    assert not history.diverged_at
    # The run keeps its best epoch's weights when it restores them (restore_best).
    at = history.epochs.index(int(history.best_epoch)) if history.restored else -1
    return float(history.columns["val_accuracy"][at])


def readme_training_commands() -> list[list[str]]:
    """The overrides of every single-run ``python -m nnexp`` line in README's bash blocks
    (sweeps, --help and --cfg train nothing or are covered by the sweep tests)."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if not line.startswith("python -m nnexp"):
                continue
            args = shlex.split(line)[3:]
            if any(a.startswith("-") for a in args):
                continue
            commands.append(args)
    return commands


def _option(args: list[str], key: str, default: str | None = None) -> str | None:
    for a in args:
        if a.startswith(key + "="):
            return a.split("=", 1)[1]
    return default


def test_the_readme_has_the_examples_this_file_checks():
    commands = readme_training_commands()
    datasets = {_option(c, "dataset", "red_blue") for c in commands}
    assert {"gender", "xor", "spiral", "csv"} <= datasets, datasets
    assert all(
        _option(c, "dataset") in (None, "csv", *DEFAULT_NET_FLOOR, "gender") for c in commands
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [c for c in readme_training_commands() if _option(c, "dataset") in EXAMPLE_FLOOR],
    ids=" ".join,
)
def test_each_generated_readme_example_learns(args):
    name = _option(args, "dataset")
    assert held_out_accuracy([*args, "dataset.val_fraction=0.25"]) >= EXAMPLE_FLOOR[name]


def test_the_readme_gender_example_learns_the_four_people():
    (args,) = [c for c in readme_training_commands() if _option(c, "dataset") == "gender"]
    setup = build(compose_cfg(args))
    setup.train()
    queries = setup.dataset.transform(setup.dataset.queries)
    emily, frank = predict(setup.net, setup.params, queries)[:, 0]
    assert emily > 0.9 and frank < 0.1  # 1 is female in the gender dataset


def people(n: int, seed: int) -> str:
    """An unscaled CSV: height in cm, weight in kg, age in years, sex from height and
    weight (as the README's first CSV example would be given one)."""
    rng = np.random.default_rng(seed)
    male = rng.random(n) < 0.5
    height = np.where(male, 178.0, 164.0) + 7.0 * rng.standard_normal(n)
    weight = np.where(male, 80.0, 63.0) + 9.0 * rng.standard_normal(n)
    age = rng.uniform(18, 80, n).round()
    rows = ["height,weight,age,label"]
    rows += [
        f"{h:.1f},{w:.1f},{a:.0f},{'m' if m else 'f'}"
        for h, w, a, m in zip(height, weight, age, male)
    ]
    return "\n".join(rows) + "\n"


@pytest.mark.slow
def test_the_readme_csv_examples_learn_on_an_unscaled_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text(people(400, 0), encoding="utf-8")
    commands = [c for c in readme_training_commands() if _option(c, "dataset") == "csv"]
    assert len(commands) >= 2
    for args in commands:
        args = [a for a in args if not a.startswith("dataset.features=")]
        # A held-out quarter unless the example holds out its own rows.
        extra = [] if _option(args, "dataset.val_fraction") else ["dataset.val_fraction=0.25"]
        assert held_out_accuracy([*args, *extra]) >= 0.85, args


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dataset", list(DEFAULT_NET_FLOOR))
def test_each_generated_dataset_learns_with_each_optimizer_at_its_default_lr(dataset, optimizer):
    args = [f"dataset={dataset}", f"optimizer={optimizer}", "dataset.val_fraction=0.25"]
    assert held_out_accuracy(args) >= DEFAULT_NET_FLOOR[dataset]


def test_three_gaussians_learn_with_the_defaults():
    # Three classes: a softmax output and cross-entropy, chosen by auto.
    args = ["dataset=gaussians", "dataset.classes=3", "dataset.val_fraction=0.25"]
    args += ["optimizer=adam", "epochs=200"]
    setup = build(compose_cfg(args))
    assert setup.net.n_outputs == 3 and setup.loss == "cross_entropy"
    assert held_out_accuracy(args) >= 0.85


@pytest.mark.slow
def test_a_three_arm_spiral_learns():
    args = ["dataset=spiral", "dataset.classes=3", "dataset.val_fraction=0.25"]
    args += ["model.hidden=[16,16]", "activation=relu", "optimizer=adam"]
    assert held_out_accuracy(args) >= 0.6  # chance is 1/3
