"""dtype=float32 end to end: every array stays float32, the numbers follow float64's to
float32's precision, and the probability losses stay finite where float32 rounds
1 - 1e-15 to 1."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli import compose_config

from nnexp.core.losses import LOSSES, PROB_EPS, prob_eps
from nnexp.core.network import Buffers, backward, forward
from nnexp.core.train import output_delta
from nnexp.run.execute import run
from nnexp.run.setup import build

# (loss, overrides that make it valid): every loss, a hidden activation each, every
# optimiser and batching, so a float64 constant anywhere on a path shows up.
CASES = [
    ("sse", ["activation=sigmoid", "optimizer=gd"]),
    ("mse", ["activation=relu", "optimizer=momentum", "lr=0.05"]),
    ("bce", ["activation=tanh", "optimizer=adam", "lr=0.01"]),
    (
        "cross_entropy",
        [
            "activation=leaky_relu",
            "optimizer=minibatch",
            "lr=0.1",
            "model.output_activation=softmax",
        ],
    ),
    ("bce", ["activation=identity", "optimizer=sgd", "lr=0.05", "optimizer.weight_decay=0.01"]),
]


def compose_cfg(*overrides: str):
    return compose_config(
        "dataset=circles",
        "dataset.n=60",
        "epochs=30",
        "model.hidden=[6,5]",
        "model.init=xavier",
        "progress=false",
        *overrides,
    )


def trained(*overrides: str):
    cfg = compose_cfg(*overrides)
    setup = build(cfg)
    history = setup.train()
    return setup, history


@pytest.mark.parametrize("loss,overrides", CASES)
def test_float32_training_stays_float32(loss, overrides):
    setup, history = trained(
        f"loss={loss}", "dtype=float32", "dataset.val_fraction=0.25", *overrides
    )
    assert setup.data.X.dtype == setup.data.Y.dtype == np.float32
    assert setup.validation.X.dtype == np.float32
    assert all(p.dtype == np.float32 for p in setup.params.arrays())
    state = [a for v in vars(setup.optimizer).values() if isinstance(v, list) for a in v]
    assert all(a.dtype == np.float32 for a in state)
    for column in ("loss", "val_loss"):
        assert all(np.asarray(v).dtype == np.float32 for v in history.columns[column])
    assert history.diverged_at == 0
    # One step by hand: activations, output delta and gradients, with and without buffers.
    X, Y = setup.data.X, setup.data.Y
    for buffers in (None, Buffers.like(setup.net, setup.params, X)):
        with np.errstate(over="ignore", under="ignore"):
            acts = forward(setup.net, setup.params, X, buffers)
            delta = output_delta(setup.net, loss)(acts[-1], Y)
            grads = backward(setup.net, setup.params, acts, delta, buffers)
        assert all(a.dtype == np.float32 for a in acts)
        assert delta.dtype == np.float32
        assert all(g.dtype == np.float32 for g in grads.arrays())


@pytest.mark.parametrize("loss,overrides", CASES)
def test_float32_follows_float64(loss, overrides):
    single, h32 = trained(f"loss={loss}", "dtype=float32", *overrides)
    double, h64 = trained(f"loss={loss}", "dtype=float64", *overrides)
    # Same draws rounded once to float32, then 30 epochs of float32 rounding on top.
    for p32, p64 in zip(single.params.arrays(), double.params.arrays()):
        np.testing.assert_allclose(p32, p64, rtol=1e-2, atol=2e-3)
    np.testing.assert_allclose(
        np.array(h32.columns["loss"], dtype=float),
        np.array(h64.columns["loss"], dtype=float),
        rtol=2e-3,
        atol=1e-5,
    )
    assert h32.columns["accuracy"][-1] == pytest.approx(h64.columns["accuracy"][-1], abs=0.05)


def test_prob_eps_is_the_float64_one_in_float64():
    # float64 keeps its digits: the tutorials' results depend on nothing else here.
    assert prob_eps(np.float64) == PROB_EPS
    eps32 = prob_eps(np.float32)
    assert np.float32(1) - np.float32(eps32) < 1 and np.float32(eps32) > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_probabilities_cost_a_finite_loss(dtype):
    wrong = np.array([[1.0], [0.0], [1.0]], dtype)  # confident and wrong
    y = np.array([[0.0], [1.0], [1.0]], dtype)
    for name in ("bce",):
        value, grad = LOSSES[name].value(wrong, y), LOSSES[name].grad(wrong, y)
        assert np.isfinite(value) and value > 10
        assert np.all(np.isfinite(grad)) and grad.dtype == dtype
    probs = np.array([[1.0, 0.0], [0.0, 1.0]], dtype)
    onehot = np.array([[0.0, 1.0], [0.0, 1.0]], dtype)
    assert np.isfinite(LOSSES["cross_entropy"].value(probs, onehot))
    assert np.all(np.isfinite(LOSSES["cross_entropy"].grad(probs, onehot)))


def test_float32_bce_on_separable_data_does_not_diverge():
    # With eps 1e-15, float32 clipped a saturated sigmoid to exactly 1, log(1 - p) was
    # -inf and the run was reported as diverged around epoch 80.
    _, history = trained(
        "dataset=gaussians",
        "dataset.n=100",
        "dataset.noise=0",
        "loss=bce",
        "activation=tanh",
        "lr=5",
        "model.init_scale=5",
        "epochs=2000",
        "dtype=float32",
    )
    assert history.diverged_at == 0
    assert np.isfinite(history.columns["loss"][-1]) and history.columns["loss"][-1] < 1e-3


def test_float32_run_folder(tmp_path):
    cfg = compose_cfg("dtype=float32", "loss=bce", "activation=tanh", "lr=0.5")
    summary = run(cfg, tmp_path)
    assert summary["status"] == "ok"
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["config"]["dtype"] == "float32"
    with np.load(tmp_path / "model.npz") as model:
        assert model["W0"].dtype == np.float32
