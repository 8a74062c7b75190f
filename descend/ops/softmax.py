"""Softmax and log-softmax along one axis, stable for any logits (the maximum is subtracted
before exponentiating)."""

from __future__ import annotations

import numpy as np

from ..tensor import Function
from .reduction import logsumexp_array, normalize_axis


def softmax_array(a: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


class Softmax(Function):
    """s = e^a / sum e^a;  for an upstream gradient g: dL/da = s (g - sum(g s))."""

    def forward(self, a, axis):
        (self.axis,) = normalize_axis(axis, a.ndim)
        self.out = softmax_array(a, self.axis)
        return self.out

    def backward(self, grad):
        s = self.out
        return (s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """l = a - logsumexp(a);  dL/da = g - softmax(a) sum(g)."""

    def forward(self, a, axis):
        (self.axis,) = normalize_axis(axis, a.ndim)
        self.out = a - logsumexp_array(a, self.axis)
        return self.out

    def backward(self, grad):
        return (grad - np.exp(self.out) * np.sum(grad, axis=self.axis, keepdims=True),)
