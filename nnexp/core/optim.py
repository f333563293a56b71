"""Update rules and their state: one table, name -> class with ``step(params, grads)``.

Parameters are updated in place. ``lr`` and every coefficient may be a float or an array
shaped ``(R, 1, 1)`` that broadcasts over a leading replica axis, so stacked replicas can
each have their own values. L2 weight decay adds ``weight_decay * W`` to the gradient of
every weight matrix (never to biases) before the rule sees it.

A replica must get the bits its own network gets, whose coefficients are Python floats:
NumPy rounds such a float to the parameters' dtype in each operation, and anything
derived from it (``1 - beta``, ``beta ** t``) is computed in Python first. So an array of
per-replica coefficients is rounded to the parameters' dtype once, after deriving what
the update needs from its float64 values, and ``beta ** t`` is Python's power for each
replica (NumPy's array power rounds differently for about one ``t`` in ten).
"""

from __future__ import annotations

import numpy as np

from .network import Params


def _coefficient(value, dtype):
    """A float stays a Python float; per-replica values become an array of ``dtype``."""
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value, dtype=np.float64).astype(dtype)


def _one_minus_power(beta, t: int, dtype):
    """1 - beta ** t, with Python's float power for each replica's beta."""
    if np.ndim(beta) == 0:
        return 1.0 - float(beta) ** t
    values = np.asarray(beta, dtype=np.float64)
    return (
        np.array([1.0 - b**t for b in values.ravel().tolist()]).reshape(values.shape).astype(dtype)
    )


class GradientDescent:
    """p <- p - lr * g

    Without weight decay the step is lr times a gradient that is linear in the output
    layer's delta, so ``delta_scale`` offers train to scale that one (n, k) array by lr
    instead of every parameter's gradient; train then says so with ``step(...,
    scaled=True)`` and the step subtracts the gradients as given. ``delta_scale`` is None
    where there is nothing to fold: a unit step, weight decay, or a rule that needs the
    raw gradient."""

    def __init__(self, params: Params, lr, weight_decay=0.0, **_):
        # 0-d arrays multiply without converting a Python float on every step.
        self.dtype = params.weights[0].dtype
        self.lr = np.asarray(lr, dtype=self.dtype)
        self.weight_decay = _coefficient(weight_decay, self.dtype)
        self.decays = bool(np.any(np.asarray(weight_decay) != 0))
        self.unit_step = not self.decays and bool(np.all(self.lr == 1))
        self.delta_scale = None if self.decays or self.unit_step else self.lr

    def _decayed(self, params: Params, grads: Params) -> list[np.ndarray]:
        if not self.decays:
            return grads.arrays()
        decayed = [g + self.weight_decay * w for g, w in zip(grads.weights, params.weights)]
        return decayed + grads.biases

    def step(self, params: Params, grads: Params, scaled: bool = False) -> None:
        """``scaled``: the gradients already carry lr (see ``delta_scale``)."""
        if scaled or self.unit_step:
            for p, g in zip(params.arrays(), grads.arrays()):
                p -= g
            return
        for p, g in zip(params.arrays(), self._decayed(params, grads)):
            p -= self.lr * g


class Momentum(GradientDescent):
    """v <- momentum * v + g;  p <- p - lr * v  (heavy ball, as PyTorch's SGD)."""

    def __init__(self, params: Params, lr, weight_decay=0.0, momentum=0.9, **_):
        super().__init__(params, lr, weight_decay)
        self.delta_scale = None
        self.momentum = _coefficient(momentum, self.dtype)
        self.velocity = [np.zeros_like(p) for p in params.arrays()]

    def step(self, params: Params, grads: Params, scaled: bool = False) -> None:
        for p, g, v in zip(params.arrays(), self._decayed(params, grads), self.velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v


class Adam(GradientDescent):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""

    def __init__(self, params: Params, lr, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8, **_):
        super().__init__(params, lr, weight_decay)
        self.delta_scale = None
        self.betas = (beta1, beta2)  # as given: the bias corrections' powers start from them
        self.beta1, self.beta2 = _coefficient(beta1, self.dtype), _coefficient(beta2, self.dtype)
        self.rest1 = _coefficient(1.0 - np.asarray(beta1, dtype=np.float64), self.dtype)
        self.rest2 = _coefficient(1.0 - np.asarray(beta2, dtype=np.float64), self.dtype)
        self.eps = _coefficient(eps, self.dtype)
        self.m = [np.zeros_like(p) for p in params.arrays()]
        self.v = [np.zeros_like(p) for p in params.arrays()]
        self.t = 0

    def step(self, params: Params, grads: Params, scaled: bool = False) -> None:
        self.t += 1
        c1, c2 = (_one_minus_power(beta, self.t, self.dtype) for beta in self.betas)
        for p, g, m, v in zip(params.arrays(), self._decayed(params, grads), self.m, self.v):
            m *= self.beta1
            m += self.rest1 * g
            v *= self.beta2
            v += self.rest2 * (g * g)
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


OPTIMIZERS: dict[str, type[GradientDescent]] = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "adam": Adam,
}
