"""Arithmetic: add, sub, mul, div, neg, pow, and dtype casts.

Gradients may have the broadcast shape; the engine reduces them to each input's shape.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Function


class Add(Function):
    """z = a + b;  dz/da = dz/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """z = a - b;  dz/da = 1, dz/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.inputs[1].requires_grad else None)


class Mul(Function):
    """z = a * b;  dz/da = b, dz/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        a, b = self.inputs
        return (grad * self.b if a.requires_grad else None,
                grad * self.a if b.requires_grad else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = -a/b^2 = -z/b."""

    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad / self.b
        return (grad_a if a.requires_grad else None,
                -grad_a * self.out if b.requires_grad else None)


class Neg(Function):
    """z = -a."""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class PowScalar(Function):
    """z = a^p for a constant p;  dz/da = p a^(p-1), and exactly 0 for p = 0 (z = 1 is
    constant, even at a = 0 where p a^(p-1) would be 0 * inf = nan; PyTorch's convention)."""

    def forward(self, a, exponent):
        self.a, self.p = a, exponent
        return a ** exponent

    def backward(self, grad):
        p = self.p
        if p == 2:
            return (grad * (2 * self.a),)
        if p == 0:
            return (np.zeros_like(grad),)
        with np.errstate(divide="ignore"):  # 0 ** (p - 1) = inf for p < 1: the slope is infinite
            return (grad * (p * self.a ** (p - 1)),)


class Pow(Function):
    """z = a^b for tensors;  dz/da = b a^(b-1), dz/db = a^b log a.

    At the edges PyTorch's limit conventions hold: where b = 0, dz/da = 0 (z = 1 for every a,
    instead of 0 * 0^-1 = nan at a = 0); where a = 0 and b >= 0, dz/db = 0 (instead of
    0 * log 0 = nan).
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad_b = None
        if a.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_a = grad * self.b * self.a ** (self.b - 1)
            grad_a = np.where(self.b == 0, 0, grad_a).astype(grad_a.dtype, copy=False)
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.log(self.a)
            log_a = np.where((self.a == 0) & (self.b >= 0), 0, log_a)
            grad_b = grad * self.out * log_a
        return grad_a, grad_b


class Cast(Function):
    """z = a converted to another dtype; the gradient is converted back."""

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.dtype),)
