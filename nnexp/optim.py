"""Update rules and their state: one table, name -> class with ``step(params, grads)``.

Parameters are updated in place. ``lr`` and every coefficient may be a float or an array
shaped ``(R, 1, 1)`` that broadcasts over a leading replica axis, so stacked replicas can
each have their own values. L2 weight decay adds ``weight_decay * W`` to the gradient of
every weight matrix (never to biases) before the rule sees it.
"""
from __future__ import annotations

import numpy as np

from .network import Params


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
        self.lr = np.asarray(lr, dtype=params.weights[0].dtype)
        self.weight_decay = weight_decay
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
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in params.arrays()]

    def step(self, params: Params, grads: Params, scaled: bool = False) -> None:
        for p, g, v in zip(params.arrays(), self._decayed(params, grads), self.velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v


class Adam(GradientDescent):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""

    def __init__(self, params: Params, lr, weight_decay=0.0, beta1=0.9, beta2=0.999,
                 eps=1e-8, **_):
        super().__init__(params, lr, weight_decay)
        self.delta_scale = None
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params.arrays()]
        self.v = [np.zeros_like(p) for p in params.arrays()]
        self.t = 0

    def step(self, params: Params, grads: Params, scaled: bool = False) -> None:
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for p, g, m, v in zip(params.arrays(), self._decayed(params, grads), self.m, self.v):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


OPTIMIZERS: dict[str, type[GradientDescent]] = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "adam": Adam,
}
