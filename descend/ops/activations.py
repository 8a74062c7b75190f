"""The lecture's activations, each with its derivative computed from the saved output:
sigmoid' = s(1 - s), tanh' = 1 - t^2, relu' = [x > 0] (so relu'(0) = 0)."""

from __future__ import annotations

import numpy as np

from ..tensor import Function
from .elementwise import _require_float


def sigmoid_array(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-a) without overflow: e^-|a| is at most 1."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """s = 1 / (1 + e^-a);  ds/da = s (1 - s)."""

    def forward(self, a):
        _require_float("sigmoid", a)
        self.out = sigmoid_array(a)
        return self.out

    def backward(self, grad):
        s = self.out
        return (grad * s * (1 - s),)


class Tanh(Function):
    """t = tanh a;  dt/da = 1 - t^2."""

    def forward(self, a):
        _require_float("tanh", a)
        self.out = np.tanh(a)
        return self.out

    def backward(self, grad):
        t = self.out
        return (grad * (1 - t * t),)


class ReLU(Function):
    """r = max(a, 0);  dr/da = [a > 0], so relu'(0) = 0."""

    def forward(self, a):
        self.out = np.maximum(a, 0)
        return self.out

    def backward(self, grad):
        return (grad * (self.out > 0),)
