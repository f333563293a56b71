"""Stacked replicas round as their own networks do, whatever the BLAS kernel: every product
of a forward and backward pass, per replica, bit for bit. The shapes include those where a
single GEMM over replicas laid side by side rounds differently (a one-row input on
OpenBLAS's SkylakeX kernels; a long inner dimension on any kernel)."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core import stacked
from nnexp.core.network import Buffers, Network, backward, forward, init_params

SHAPES = [  # (inputs d, hidden h, rows n, replicas R)
    (2, 2, 1, 4),  # the gender tutorial with per-sample SGD
    (2, 3, 1, 8),
    (6, 2, 1, 3),
    (2, 4, 8, 100),  # red/blue
    (16, 4, 5, 16),
    (64, 33, 2, 8),
    (3, 7, 1000, 16),
    (2, 16, 1000, 32),
]


@pytest.mark.parametrize("d, h, n, R", SHAPES)
@pytest.mark.parametrize("shared", [True, False], ids=["shared-input", "own-inputs"])
def test_each_replica_gets_its_own_networks_bits(d, h, n, R, shared):
    net = Network(d, (h, 3), 1, "tanh", "sigmoid", bias=True)
    rng = np.random.default_rng(d * 1000 + h * 100 + n)
    singles = [init_params(net, "normal", np.random.default_rng(r)) for r in range(R)]
    X = rng.normal(size=(n, d)) if shared else rng.normal(size=(R, n, d))
    delta = rng.normal(size=(R, n, 1))
    params = stacked.stack(singles)
    buffers = Buffers.like(net, params, X)
    acts = forward(net, params, X, buffers)
    grads = backward(net, params, acts, delta, buffers)
    for r, single in enumerate(singles):
        x = X if shared else X[r]
        own_buffers = Buffers.like(net, single, x)
        own_acts = forward(net, single, x, own_buffers)
        own = backward(net, single, own_acts, delta[r], own_buffers)
        for layer, (mine, theirs) in enumerate(zip(acts[1:], own_acts[1:])):
            np.testing.assert_array_equal(mine[r], theirs, err_msg=f"activation {layer}")
        for name, mine, theirs in (
            ("weights", grads.weights, own.weights),
            ("biases", grads.biases, own.biases),
        ):
            for layer, (g, o) in enumerate(zip(mine, theirs)):
                np.testing.assert_array_equal(g[r], o, err_msg=f"{name} gradient {layer}")
