"""Reductions over ``axis`` (an int, a tuple of ints, or None for all axes): sum, mean, max,
min, and the numerically stable log-sum-exp."""

from __future__ import annotations

import numpy as np

from ..tensor import Function


try:  # NumPy >= 1.25; before that the class lived in the top-level namespace
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    AxisError = np.AxisError  # type: ignore[attr-defined,misc]


def axis_error(axis, ndim: int) -> AxisError:
    """The error for an axis out of range: an ``AxisError``, both a ValueError and an
    IndexError (as in NumPy), so code written for either library catches it."""
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    return AxisError(
        f"axis {axis} is out of range for a tensor with {ndim} dimensions "
        f"(valid axes: {low} to {high})"
    )


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes, with a clear error when out of range.

    A 0-d tensor accepts axis 0 or -1, as PyTorch does: it reduces over nothing (the result
    is the value itself), so code written for any number of dimensions works on scalars.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(isinstance(ax, (int, np.integer)) for ax in axes):
        raise TypeError(f"axis must be an int, a tuple of ints or None, got {axis!r}")
    result = []
    for ax in axes:
        if ndim == 0:
            if ax not in (0, -1):
                raise axis_error(ax, ndim)
            continue
        if not -ndim <= ax < ndim:
            raise axis_error(ax, ndim)
        result.append(int(ax) % ndim)
    if len(set(result)) != len(result) or (ndim == 0 and len(axes) > 1):
        raise ValueError(f"axis {axis} repeats an axis")
    return tuple(sorted(result))


def normalize_single_axis(axis, ndim: int) -> int | None:
    """One axis as a non-negative int (softmax and the like); None for a 0-d tensor, whose
    only accepted axes are 0 and -1 (see ``normalize_axis``)."""
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    axes = normalize_axis(axis, ndim)
    return axes[0] if axes else None


def reduced_count(shape: tuple[int, ...], axes: tuple[int, ...], name: str) -> int:
    """How many values each output of a mean/max/min reduction summarises; an error when
    none (the mean, max or min of no numbers is undefined; NumPy would warn and give nan)."""
    count = 1
    for ax in axes:
        count *= shape[ax]
    if count == 0:
        where = "an empty tensor" if len(axes) == len(shape) else (
            f"axis {axes[0] if len(axes) == 1 else axes} of size 0 (shape {shape})")
        raise ValueError(
            f"{name} over {where}: the {name} of no values is undefined; "
            f"check for an empty batch or selection (sum() of nothing is 0)"
        )
    return count


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
        self.count = reduced_count(a.shape, self.axes, "mean")
        return np.mean(a, axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        grad = expand_reduced(grad, self.axes, self.keepdims) / grad.dtype.type(self.count)
        return (np.broadcast_to(grad, self.shape),)


class Max(Function):
    """z = max of a over axes; the gradient is split evenly among tied maxima (as torch.amax).

    NaN propagates (the max of values containing NaN is NaN), and so does the gradient: it
    goes to the NaN position(s), as ``torch.max()`` does (``torch.amax`` gives nan everywhere).
    """

    reduce = staticmethod(np.max)

    def forward(self, a, axis, keepdims):
        self.a = a
        self.axes = normalize_axis(axis, a.ndim)
        reduced_count(a.shape, self.axes, type(self).__name__.lower())
        self.keepdims = keepdims
        self.out = self.reduce(a, axis=self.axes, keepdims=True)
        return self.out if keepdims else np.squeeze(self.out, axis=self.axes)

    def backward(self, grad):
        mask = self.a == self.out
        if self.a.dtype.kind == "f" and np.isnan(self.out).any():
            mask |= np.isnan(self.a) & np.isnan(self.out)
        count = mask.sum(axis=self.axes, keepdims=True)
        return (mask * (expand_reduced(grad, self.axes, self.keepdims) / count).astype(grad.dtype),)


class Min(Max):
    """z = min of a over axes; the gradient is split evenly among tied minima."""

    reduce = staticmethod(np.min)


def logsumexp_array(a: np.ndarray, axes, keepdims: bool = True) -> np.ndarray:
    """log sum exp a over axes, computed as m + log sum exp(a - m) with m the maximum, so no
    exponential overflows; an all -inf slice gives -inf, not nan, and so does an empty one
    (the log of an empty sum, 0)."""
    empty = {"initial": -np.inf} if a.size == 0 else {}  # np.max of nothing raises otherwise
    m = np.max(a, axis=axes, keepdims=True, **empty)
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
