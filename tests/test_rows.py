"""Large batches' elementwise passes split by rows over threads: the same bits as one
pass over the whole array, for 1, 2 and 3 threads, every activation, both dtypes, single
networks and stacked replicas, with row counts that leave a ragged last block."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core import rows, stacked
from nnexp.core.activations import HIDDEN_ACTIVATIONS
from nnexp.core.network import Buffers, Network, backward, forward, init_params
from nnexp.core.optim import GradientDescent
from nnexp.core.rows import RowSplit
from nnexp.core.train import Split, encode_targets, train

THREADS = [1, 2, 3]


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    """Split arrays of 50 000 elements or more, so the tests' arrays stay small."""
    monkeypatch.setattr(rows, "MIN_ELEMENTS", 50_000)


def _whole(monkeypatch) -> None:
    """No array is large enough to be split: the plain single-pass path."""
    monkeypatch.setattr(rows, "MIN_ELEMENTS", 1 << 60)


def _problem(n: int, h: int, k: int, dtype, activation: str, output: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(dtype)
    labels = rng.integers(0, k if k > 1 else 2, n)
    net = Network(3, (h, h - 5), k, activation, output)
    return net, Split(X, encode_targets(labels, k, dtype), labels)


def test_blocks_cover_the_rows_once_aligned():
    split = RowSplit(10_001, 130, threads=3)
    starts = [b.start for b in split.blocks]
    assert starts[0] == 0 and split.blocks[-1].stop == 10_001
    assert all(b.stop == c.start for b, c in zip(split.blocks, split.blocks[1:]))
    assert all(b.start % rows.ALIGN == 0 for b in split.blocks)
    assert len(split.blocks) > 3  # more blocks than threads: a slowed thread takes fewer
    assert RowSplit.for_shape((100, 16), threads=2) is None  # small layers are not split
    assert RowSplit.for_shape((2, 1000, 25), threads=2) is not None  # replicas count


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_and_backward_same_bits_for_any_thread_count(activation, dtype, monkeypatch):
    # 4099 rows x 67 units: over the (test's) threshold, a ragged last block, odd widths.
    net, data = _problem(4099, 67, 3, dtype, activation, "softmax")
    params = init_params(net, "xavier", np.random.default_rng(1), dtype=dtype)
    delta = np.random.default_rng(2).normal(size=(4099, 3)).astype(dtype)

    def passes(threads):
        buffers = Buffers.like(net, params, data.X, threads)
        with np.errstate(over="ignore", under="ignore"):
            acts = forward(net, params, data.X, buffers)
            grads = backward(net, params, acts, delta.copy(), buffers)
        return [a.copy() for a in acts[1:]] + [g.copy() for g in grads.arrays()], buffers

    with monkeypatch.context() as m:
        _whole(m)
        expected, plain = passes(1)
    assert all(s is None for s in plain.splits)
    for threads in THREADS:
        got, buffers = passes(threads)
        assert buffers.splits[0] is not None and buffers.splits[0].threads == threads
        for e, g in zip(expected, got):
            np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize(
    "activation, output, loss, k",
    [
        ("tanh", "sigmoid", "bce", 1),
        ("sigmoid", "sigmoid", "sse", 1),
        ("relu", "softmax", "cross_entropy", 3),
    ],
)
def test_training_same_bits_for_any_thread_count(activation, output, loss, k, monkeypatch):
    # 1500 rows x 69 units: over the (test's) threshold, four blocks, the last ragged.
    net, data = _problem(1500, 69, k, np.float64, activation, output, seed=3)

    def run(threads):
        params = init_params(net, "xavier", np.random.default_rng(4))
        history = train(
            net, params, GradientDescent(params, 0.5), loss, data, epochs=4, threads=threads
        )
        return params, history

    with monkeypatch.context() as m:
        _whole(m)
        expected, expected_history = run(1)
    real_run = RowSplit.run
    used: list[tuple[int, int]] = []  # (threads, blocks) of every split pass

    def spy(self, fn):
        used.append((self.threads, len(self.blocks)))
        return real_run(self, fn)

    monkeypatch.setattr(RowSplit, "run", spy)
    for threads in THREADS:
        used.clear()
        params, history = run(threads)
        assert (threads, 4) in used  # the passes were split, over this many threads
        for e, g in zip(expected.arrays(), params.arrays()):
            np.testing.assert_array_equal(g, e)
        assert history.columns["loss"] == expected_history.columns["loss"]


def test_stacked_replicas_split_like_their_own_networks():
    # Each replica alone (1000 x 40 units) is under the threshold and never split; the
    # stack of 4 is, and must still give each replica its own network's bits.
    net = Network(3, (40, 21), 1, "tanh", "sigmoid")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1000, 3))
    delta = rng.normal(size=(4, 1000, 1))
    singles = [init_params(net, "xavier", np.random.default_rng(r)) for r in range(4)]
    params = stacked.stack(singles)
    for threads in THREADS:
        buffers = Buffers.like(net, params, X, threads)
        assert buffers.splits[0] is not None
        acts = forward(net, params, X, buffers)
        grads = backward(net, params, acts, delta.copy(), buffers)
        for r, single in enumerate(singles):
            own = Buffers.like(net, single, X, threads)
            assert own.splits[0] is None
            own_acts = forward(net, single, X, own)
            own_grads = backward(net, single, own_acts, delta[r].copy(), own)
            for a, b in zip(acts[1:], own_acts[1:]):
                np.testing.assert_array_equal(a[r], b)
            for g, h in zip(grads.arrays(), own_grads.arrays()):
                np.testing.assert_array_equal(g[r], h)


def test_a_failing_block_raises_in_the_caller():
    split = RowSplit(20_000, 64, threads=2)

    def fail(rows_: slice) -> None:
        if rows_.start > 0:
            raise FloatingPointError("block failed")

    with pytest.raises(FloatingPointError, match="block failed"):
        split.run(fail)
