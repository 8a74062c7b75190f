"""Dropout (Srivastava et al. 2014), in its "inverted" form.

In training, each element is kept with probability 1 - p and scaled by 1 / (1 - p):
``y = x * mask / (1 - p)`` with ``mask ~ Bernoulli(1 - p)``, so ``E[y] = x`` and nothing needs
rescaling at test time, when dropout is the identity. The derivative is the same scaled mask:
``dL/dx = g * mask / (1 - p)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import as_rng
from ..tensor import Function, Tensor
from .module import Module

__all__ = ["DropoutFunction", "dropout", "Dropout"]


def _check_p(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"dropout probability p must be a number, got {p!r}")
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability p must satisfy 0 <= p < 1, got {p}")
    return float(p)


class DropoutFunction(Function):
    """y = x * m with m = mask / (1 - p) saved;  dL/dx = g * m."""

    def forward(self, x, p, rng):
        if x.dtype.kind != "f":
            raise TypeError(f"dropout needs a floating-point tensor, got {x.dtype}")
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        keep = rng.random(x.shape, dtype=dtype) >= p
        self.mask = np.multiply(keep, x.dtype.type(1 / (1 - p)), dtype=x.dtype)
        return x * self.mask

    def backward(self, grad):
        return (grad * self.mask,)


def dropout(
    x: Any, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None
) -> Tensor:
    """Inverted dropout of ``x`` with drop probability ``p`` when ``training``; the identity
    otherwise (and when p = 0). ``rng`` defaults to ``descend.random.default_rng()``."""
    p = _check_p(p)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not training or p == 0:
        return x
    return DropoutFunction.apply(x, p=p, rng=as_rng(rng))


class Dropout(Module):
    """Inverted dropout layer: active in training mode, the identity after ``eval()``.

    The mask is drawn from ``rng`` (a ``numpy.random.Generator``); with None, from
    ``descend.random.default_rng()`` at the time of each call, so ``manual_seed`` affects it.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = _check_p(p)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"Dropout: rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
        self.rng = rng

    def forward(self, x: Any) -> Tensor:
        return dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
