"""Matrix multiplication with NumPy's semantics (1-D operands, batched stacks), and the fused
linear layer x W + b."""

from __future__ import annotations

import numpy as np

from ..autograd import grad_destination
from ..kernels.elementwise import ACTIVATIONS, activation_backward, bias_activation_
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
    """y = act(x W + b) for x of shape (N, in), W (in, out), b (out,), in one op, where act is
    the identity (``activation=None``), ``"relu"`` or ``"tanh"``:
    with G = dL/dy and Z = x W + b, dL/dZ = G act'(Z) (relu' = [y > 0], tanh' = 1 - y^2,
    from the saved output y), dL/dx = dL/dZ W^T, dL/dW = x^T dL/dZ, dL/db = sum over the
    batch of dL/dZ.

    The bias addition and the activation are one pass (``descend.kernels.bias_activation_``),
    and so are the activation's derivative and the bias gradient's sum
    (``descend.kernels.activation_backward``). Gradients of W and b go straight into the
    optimizer's flat buffer when it has one (``autograd.grad_destination``): the same numbers,
    one pass less over the parameters.
    """

    def forward(self, x, weight, bias=None, activation=None):
        _check_matmul(x, weight)
        self.x, self.weight = x, weight
        out = x @ weight
        self.activation = activation
        if activation is None:
            if bias is not None:
                out += bias
            return out
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose from {', '.join(ACTIVATIONS)} or None")
        bias_activation_(out, bias, activation)
        self.out = out
        return out

    def backward(self, grad):
        inputs = self.inputs
        x = self.x
        b = inputs[2] if len(inputs) > 2 and inputs[2].requires_grad else None
        grad_b = None
        activation = self.activation
        if activation is not None:
            out = self.out
            dtype = grad.dtype
            if b is not None and dtype == b.data.dtype == out.dtype:
                grad_b = grad_destination(b, dtype)
                if grad_b is None:
                    grad_b = np.empty(b.data.shape, dtype=dtype)
                grad = activation_backward(grad, out, activation, grad_b)
            else:
                grad = activation_backward(grad, out, activation)
        grad_x = grad @ self.weight.T if inputs[0].requires_grad else None
        grad_w = None
        if x.ndim != 2:  # one example (in,), or leading batch axes (..., in): as (rows, in)
            x = x.reshape(-1, x.shape[-1])
            grad = grad.reshape(-1, grad.shape[-1])
        w = inputs[1]
        if w.requires_grad:
            grad_w = grad_destination(w)
            if grad_w is None:
                grad_w = x.T @ grad
            else:
                np.matmul(x.T, grad, out=grad_w)
        if b is not None and grad_b is None:
            # The sum over the batch as ones(N) @ G: a BLAS product is about twice as fast
            # as np.add.reduce along axis 0, for small and large batches alike.
            ones = _ones(grad.shape[0], grad.dtype)
            grad_b = grad_destination(b, grad.dtype)
            if grad_b is None:
                grad_b = np.dot(ones, grad)
            else:
                np.dot(ones, grad, out=grad_b)
        return grad_x, grad_w, grad_b


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
