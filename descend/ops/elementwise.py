"""Elementwise maths: exp, log, sqrt, abs, maximum, minimum, where, clip."""

from __future__ import annotations

import numpy as np

from ..tensor import Function


def _require_float(name: str, a: np.ndarray) -> None:
    if a.dtype.kind != "f":
        raise TypeError(
            f"{name} of a {a.dtype} tensor: {name} is defined here for floating-point tensors "
            f"only; convert first, e.g. t.astype(np.float32)"
        )


class Exp(Function):
    """z = e^a;  dz/da = e^a = z."""

    def forward(self, a):
        _require_float("exp", a)
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    """z = ln a;  dz/da = 1/a."""

    def forward(self, a):
        _require_float("log", a)
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Function):
    """z = sqrt(a);  dz/da = 1 / (2 sqrt(a))."""

    def forward(self, a):
        _require_float("sqrt", a)
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Function):
    """z = |a|;  dz/da = sign(a), taking sign(0) = 0 as PyTorch does."""

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad):
        return (grad * np.sign(self.a),)


def _nan_share(share: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Route the gradient of maximum/minimum to a NaN operand: NaN propagates, so the output
    came from it (half each when both are NaN). The shares still sum to 1; PyTorch instead
    gives the full gradient to both operands wherever one is NaN."""
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return share
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    if not (a_nan.any() or b_nan.any()):
        return share
    share = np.where(a_nan, 1, np.where(b_nan, 0, share))
    return np.where(a_nan & b_nan, 0.5, share).astype(share.dtype, copy=False)


class Maximum(Function):
    """z = max(a, b) elementwise; the gradient goes to the larger input, split evenly on ties
    (PyTorch's convention), and to a NaN input (NaN propagates; see ``_nan_share``)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, grad):
        share = np.where(self.a == self.b, 0.5, (self.a > self.b).astype(grad.dtype))
        share = _nan_share(share, self.a, self.b)
        return grad * share, grad * (1 - share)


class Minimum(Function):
    """z = min(a, b) elementwise; the gradient goes to the smaller input, split on ties, and
    to a NaN input."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, grad):
        share = np.where(self.a == self.b, 0.5, (self.a < self.b).astype(grad.dtype))
        share = _nan_share(share, self.a, self.b)
        return grad * share, grad * (1 - share)


class Where(Function):
    """z = a where cond else b; cond is a constant boolean array."""

    def forward(self, a, b, cond):
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, grad):
        zero = np.zeros((), dtype=grad.dtype)
        return np.where(self.cond, grad, zero), np.where(self.cond, zero, grad)


class Clip(Function):
    """z = min(max(a, low), high);  dz/da = [low <= a <= high] (PyTorch's clamp convention).

    A NaN input passes through (z = NaN) and so does its gradient (dz/da = 1 there), as for
    max: the gradient leads back to where a NaN came from. PyTorch's clamp gives it 0.
    """

    def forward(self, a, low, high):
        if low is None and high is None:
            raise ValueError("clip needs at least one of min and max")
        self.a, self.low, self.high = a, low, high
        return np.clip(a, low, high)

    def backward(self, grad):
        inside = np.ones(self.a.shape, dtype=bool)
        if self.low is not None:
            inside &= self.a >= self.low
        if self.high is not None:
            inside &= self.a <= self.high
        if self.a.dtype.kind == "f":
            inside |= np.isnan(self.a)
        return (grad * inside,)
