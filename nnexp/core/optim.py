"""Update rules and their state: one table, name -> class with ``step(params, grads)``.

Parameters are updated in place. Each rule takes its own coefficients and no others
(``coefficients`` lists them, by the names the config gives them). ``lr`` and every
coefficient may be a float or an array shaped ``(R, 1, 1)`` that broadcasts over a
leading replica axis, so stacked replicas can each have their own values; ``stacked``'s
``coefficient`` and ``one_minus_power`` round such arrays as each replica's own float
would be. L2 weight decay adds ``weight_decay * W`` to the gradient of every weight
matrix (never to biases) before the rule sees it.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

import numpy as np

from .network import Params
from .stacked import coefficient, one_minus, one_minus_power

Coefficient = Any  # a float, or an (R, 1, 1) array of one value per replica


class Optimizer(Protocol):
    """What ``train`` asks of an update rule: its step, and its lr to log."""

    lr: np.ndarray

    def step(self, params: Params, grads: Params) -> None: ...


class GradientDescent:
    """p <- p - lr * g"""

    def __init__(self, params: Params, lr: Coefficient, weight_decay: Coefficient = 0.0):
        # 0-d arrays multiply without converting a Python float on every step.
        self.dtype = params.weights[0].dtype
        self.lr = np.asarray(lr, dtype=self.dtype)
        self.weight_decay = coefficient(weight_decay, self.dtype)
        self.decays = bool(np.any(np.asarray(weight_decay) != 0))
        self.unit_step = not self.decays and bool(np.all(self.lr == 1))

    def _decayed(self, params: Params, grads: Params) -> list[np.ndarray]:
        if not self.decays:
            return grads.arrays()
        decayed = [g + self.weight_decay * w for g, w in zip(grads.weights, params.weights)]
        return decayed + grads.biases

    def step(self, params: Params, grads: Params) -> None:
        if self.unit_step:
            for p, g in zip(params.arrays(), grads.arrays()):
                p -= g
            return
        for p, g in zip(params.arrays(), self._decayed(params, grads)):
            p -= self.lr * g


class Momentum(GradientDescent):
    """v <- momentum * v + g;  p <- p - lr * v  (heavy ball, as PyTorch's SGD)."""

    def __init__(
        self,
        params: Params,
        lr: Coefficient,
        weight_decay: Coefficient = 0.0,
        momentum: Coefficient = 0.9,
    ):
        super().__init__(params, lr, weight_decay)
        self.momentum = coefficient(momentum, self.dtype)
        self.velocity = [np.zeros_like(p) for p in params.arrays()]

    def step(self, params: Params, grads: Params) -> None:
        for p, g, v in zip(params.arrays(), self._decayed(params, grads), self.velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v


class Adam(GradientDescent):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""

    def __init__(
        self,
        params: Params,
        lr: Coefficient,
        weight_decay: Coefficient = 0.0,
        beta1: Coefficient = 0.9,
        beta2: Coefficient = 0.999,
        eps: Coefficient = 1e-8,
    ):
        super().__init__(params, lr, weight_decay)
        self.betas = (beta1, beta2)  # as given: the bias corrections' powers start from them
        self.beta1, self.beta2 = coefficient(beta1, self.dtype), coefficient(beta2, self.dtype)
        self.rest1, self.rest2 = one_minus(beta1, self.dtype), one_minus(beta2, self.dtype)
        self.eps = coefficient(eps, self.dtype)
        self.m = [np.zeros_like(p) for p in params.arrays()]
        self.v = [np.zeros_like(p) for p in params.arrays()]
        self.t = 0

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        c1, c2 = (one_minus_power(beta, self.t, self.dtype) for beta in self.betas)
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


def coefficients(rule: type[GradientDescent]) -> tuple[str, ...]:
    """The coefficients ``rule`` takes, by name (``lr``, ``weight_decay``, ...)."""
    return tuple(name for name in inspect.signature(rule).parameters if name != "params")
