"""Elementwise passes over a large batch, split by rows over a few threads.

NumPy's ufuncs run on one core but release the GIL, so a layer of 100 000 rows can be
activated by two threads at once, each on its own block of rows. Every element is
computed by the same function from the same inputs as in one pass over the whole array,
so the result is bit for bit that of one pass whatever the number of threads (the tests
check 1, 2 and 3). Blocks are a multiple of ``ALIGN`` rows, so each block starts where a
SIMD loop over the whole array would be at the start of a vector, and are small enough
to stay in cache between the passes over them (bias, then activation; slope, then
product), which spares a trip to memory even on one thread.

Only arrays of ``MIN_ELEMENTS`` or more are split: below that, handing blocks to threads
did not pay on a shared 2-core machine (20 000 rows of 64 units: no gain; 100 000 of 128:
10-50% off an epoch), and small networks (the tutorials) keep their plain passes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_ELEMENTS = 1 << 21  # an array this large or larger is split (16 MB in float64)
BLOCK_ELEMENTS = 1 << 15  # elements a block aims at: 256 KB in float64, an L2's share
ALIGN = 64  # rows: every block but the last is a multiple of this many rows


def default_threads() -> int:
    """The cores this process may run on, at most 4 (past that memory bandwidth, not
    cores, bounds an elementwise pass)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, "nnexp-rows")
        return pool


def _forget_pools() -> None:
    # A forked child has the pools' objects but not their threads.
    _pools.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


class RowSplit:
    """Blocks of rows of arrays shaped ``(..., n, k)``, and the threads to run a pass
    over them: ``run(fn)`` calls ``fn(rows)`` with a ``slice`` of rows for every block,
    ``threads`` blocks at a time."""

    def __init__(self, n: int, k: int, threads: int):
        size = max(ALIGN, BLOCK_ELEMENTS // max(k, 1) // ALIGN * ALIGN)
        self.blocks = [slice(i, min(i + size, n)) for i in range(0, n, size)]
        self.threads = max(1, min(threads, len(self.blocks)))

    @classmethod
    def for_shape(cls, shape: tuple[int, ...], threads: int | None) -> RowSplit | None:
        """A split for arrays of ``shape`` ``(..., n, k)``, or None for a small one."""
        if int(np.prod(shape)) < MIN_ELEMENTS:
            return None
        return cls(shape[-2], shape[-1], default_threads() if threads is None else threads)

    def run(self, fn: Callable[[slice], object]) -> None:
        blocks = iter(self.blocks)

        def work() -> None:
            # Threads take the next block as they get free (next() on a list's iterator
            # is atomic under the GIL), so a thread the machine slows takes fewer.
            for rows in blocks:
                fn(rows)

        if self.threads == 1:
            work()
            return
        helpers = [_pool(self.threads - 1).submit(work) for _ in range(self.threads - 1)]
        try:
            work()
        finally:
            for helper in helpers:
                helper.result()

    def activate(
        self, z: np.ndarray, b: np.ndarray | None, function: Callable[..., np.ndarray]
    ) -> np.ndarray:
        """``function(z + b)`` written into ``z``: z (..., n, k), b (..., 1, k) or None."""

        def block(rows: slice) -> None:
            part = z[..., rows, :]
            if b is not None:
                part += b
            function(part, part)

        self.run(block)
        return z

    def times_slope(
        self,
        delta: np.ndarray,
        a: np.ndarray,
        derivative: Callable[..., np.ndarray],
        slope: np.ndarray | None = None,
    ) -> np.ndarray:
        """``delta *= derivative(a)``, the slope written into ``slope`` when given; all
        (..., n, k)."""

        def block(rows: slice) -> None:
            part = delta[..., rows, :]
            part *= derivative(a[..., rows, :], None if slope is None else slope[..., rows, :])

        self.run(block)
        return delta
