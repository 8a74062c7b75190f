"""Reductions over ``axis`` (an int, a tuple of ints, or None for all axes): sum, mean, max,
min, and the numerically stable log-sum-exp."""

from __future__ import annotations

import numpy as np

from ..tensor import Function


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes, with a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
        result.append(int(ax) % max(ndim, 1))
    if len(set(result)) != len(result):
        raise ValueError(f"axis {axis} repeats an axis")
    return tuple(sorted(result))


def expand_reduced(grad: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Reinsert the reduced axes (as size 1) so ``grad`` broadcasts against the input."""
    if keepdims or not axes:
        return grad
    return np.expand_dims(grad, axes)


class Sum(Function):
    """z = sum of a over axes;  dz/da = 1 (the gradient is copied along the summed axes)."""

    def forward(self, a, axis, keepdims):
        self.shape = a.shape
        self.axes = normalize_axis(axis, a.ndim)
        self.keepdims = keepdims
        return np.sum(a, axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return (np.broadcast_to(expand_reduced(grad, self.axes, self.keepdims), self.shape),)


class Mean(Function):
    """z = (1/n) sum of a over axes;  dz/da = 1/n."""

    def forward(self, a, axis, keepdims):
        self.shape = a.shape
        self.axes = normalize_axis(axis, a.ndim)
        self.keepdims = keepdims
        self.count = int(np.prod([a.shape[ax] for ax in self.axes]))
        return np.mean(a, axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        grad = expand_reduced(grad, self.axes, self.keepdims) / grad.dtype.type(self.count)
        return (np.broadcast_to(grad, self.shape),)


class Max(Function):
    """z = max of a over axes; the gradient is split evenly among tied maxima (as torch.amax)."""

    reduce = staticmethod(np.max)

    def forward(self, a, axis, keepdims):
        if a.size == 0:
            raise ValueError(f"{type(self).__name__.lower()} of an empty tensor")
        self.a = a
        self.axes = normalize_axis(axis, a.ndim)
        self.keepdims = keepdims
        self.out = self.reduce(a, axis=self.axes, keepdims=True)
        return self.out if keepdims else np.squeeze(self.out, axis=self.axes)

    def backward(self, grad):
        mask = self.a == self.out
        count = mask.sum(axis=self.axes, keepdims=True)
        return (mask * (expand_reduced(grad, self.axes, self.keepdims) / count).astype(grad.dtype),)


class Min(Max):
    """z = min of a over axes; the gradient is split evenly among tied minima."""

    reduce = staticmethod(np.min)


def logsumexp_array(a: np.ndarray, axes, keepdims: bool = True) -> np.ndarray:
    """log sum exp a over axes, computed as m + log sum exp(a - m) with m the maximum, so no
    exponential overflows; an all -inf slice gives -inf, not nan."""
    m = np.max(a, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):  # log 0 = -inf is the right answer for all -inf
        out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axes)


class LogSumExp(Function):
    """z = log sum_i e^(a_i);  dz/da_i = e^(a_i - z) = softmax(a)_i."""

    def forward(self, a, axis, keepdims):
        self.a = a
        self.axes = normalize_axis(axis, a.ndim)
        self.keepdims = keepdims
        self.out = logsumexp_array(a, self.axes)
        return self.out if keepdims else np.squeeze(self.out, axis=self.axes)

    def backward(self, grad):
        return (expand_reduced(grad, self.axes, self.keepdims) * np.exp(self.a - self.out),)
