"""Matrix multiplication with NumPy's semantics (1-D operands, batched stacks), and the fused
linear layer x W + b."""

from __future__ import annotations

import numpy as np

from ..autograd import grad_buffer
from ..tensor import Function


def _check_matmul(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul needs operands with at least one dimension; use * for scalars")
    k_left = a.shape[-1]
    k_right = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_left != k_right:
        raise ValueError(
            f"matmul shapes {a.shape} @ {b.shape} do not match: the left operand's last "
            f"dimension ({k_left}) must equal the right operand's "
            f"{'only' if b.ndim == 1 else 'second-to-last'} dimension ({k_right})"
        )


class MatMul(Function):
    """Z = A B;  dL/dA = G B^T, dL/dB = A^T G (over the last two axes; leading axes broadcast,
    and a 1-D operand is treated as a row (left) or column (right) vector)."""

    def forward(self, a, b):
        _check_matmul(a, b)
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # the dot product: a scalar output
            return grad * b, grad * a
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)
        grad_a = grad_b = None
        if self.inputs[0].requires_grad:
            grad_a = np.matmul(grad, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if self.inputs[1].requires_grad:
            grad_b = np.matmul(np.swapaxes(a2, -1, -2), grad)
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


class Linear(Function):
    """y = x W + b for x of shape (N, in), W (in, out), b (out,), in one op:
    dL/dx = G W^T, dL/dW = x^T G, dL/db = sum over the batch of G.

    When W (or b) is a leaf whose ``grad`` is None and that has a registered gradient buffer
    (an optimizer's flat buffer, see ``autograd.grad_buffer``), its gradient is written
    straight into the buffer (``matmul(..., out=)``) instead of being returned for the engine
    to copy there: the same numbers, one pass less over the parameters.
    """

    def forward(self, x, weight, bias=None):
        _check_matmul(x, weight)
        self.x, self.weight = x, weight
        out = x @ weight
        if bias is not None:
            out += bias
        return out

    def backward(self, grad):
        inputs = self.inputs
        x = self.x
        grad_x = grad @ self.weight.T if inputs[0].requires_grad else None
        grad_w = grad_b = None
        if x.ndim != 2:  # one example (in,), or leading batch axes (..., in): as (rows, in)
            x = x.reshape(-1, x.shape[-1])
            grad = grad.reshape(-1, grad.shape[-1])
        w = inputs[1]
        if w.requires_grad:
            buffer = _direct_buffer(w)
            if buffer is None:
                grad_w = x.T @ grad
            else:
                np.matmul(x.T, grad, out=buffer)
                w.grad = buffer
        if len(inputs) > 2 and inputs[2].requires_grad:
            # The sum over the batch as ones(N) @ G: a BLAS product is about twice as fast
            # as np.add.reduce along axis 0, for small and large batches alike.
            b = inputs[2]
            ones = _ones(grad.shape[0], grad.dtype)
            buffer = _direct_buffer(b, grad.dtype)
            if buffer is None:
                grad_b = np.dot(ones, grad)
            else:
                np.dot(ones, grad, out=buffer)
                b.grad = buffer
        return grad_x, grad_w, grad_b


def _direct_buffer(t, dtype=None):
    """The buffer to write ``t``'s gradient into directly, or None (then return it)."""
    if t._ctx is not None or t.grad is not None or getattr(t, "_hooks", None) is not None:
        return None  # (a leaf with hooks gets its gradient through the engine, which runs them)
    buffer = grad_buffer(t)
    if buffer is None or (dtype is not None and buffer.dtype != dtype) or not buffer.flags.c_contiguous:
        return None
    return buffer


_ONES: dict = {}


def _ones(n: int, dtype) -> np.ndarray:
    """A cached read-only vector of n ones."""
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype=dtype)
        ones.flags.writeable = False
    return ones
