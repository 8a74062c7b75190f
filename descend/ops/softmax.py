"""Softmax and log-softmax along one axis, stable for any logits (the maximum is subtracted
before exponentiating). A 0-d tensor is a distribution over one value: softmax 1, log-softmax
0, with axis 0 or -1 (as in PyTorch)."""

from __future__ import annotations

import numpy as np

from ..tensor import Function
from .reduction import logsumexp_array, normalize_single_axis


def softmax_array(a: np.ndarray, axis: int) -> np.ndarray:
    empty = {"initial": -np.inf} if a.size == 0 else {}  # np.max of nothing raises otherwise
    e = np.exp(a - np.max(a, axis=axis, keepdims=True, **empty))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


class Softmax(Function):
    """s = e^a / sum e^a;  for an upstream gradient g: dL/da = s (g - sum(g s))."""

    def forward(self, a, axis):
        self.axis = normalize_single_axis(axis, a.ndim)  # None for a 0-d tensor
        self.out = softmax_array(a, self.axis)
        return self.out

    def backward(self, grad):
        s = self.out
        return (s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """l = a - logsumexp(a);  dL/da = g - softmax(a) sum(g)."""

    def forward(self, a, axis):
        self.axis = normalize_single_axis(axis, a.ndim)  # None for a 0-d tensor
        self.out = a - logsumexp_array(a, self.axis)
        return self.out

    def backward(self, grad):
        return (grad - np.exp(self.out) * np.sum(grad, axis=self.axis, keepdims=True),)
