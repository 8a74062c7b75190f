"""The network's elementwise kernels: the NumPy reference beside the dispatch to C.

Each public function computes its result with the compiled kernel (``_fused.c``) when the C
path is active and the arrays are float32/float64 of one dtype and C-contiguous, and with the
NumPy reference (the ``_reference`` functions right below it) otherwise. The two do the same
IEEE operations in the same order, so they are bit-identical (``tests/test_kernels.py``).
Functions whose math needs NumPy's own ``exp``/``log``/``tanh`` (not correctly rounded, so a
C libm would differ in the last bit) leave those calls to NumPy on both paths.
"""

from __future__ import annotations

import numpy as np

from . import fused

__all__ = ["bias_activation_", "activation_backward", "softmax_xent_shift", "softmax_xent_grad",
           "labels_in_range", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "tanh")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NUMPY = (np.ndarray, np.generic)


def _c_ready(*arrays: np.ndarray | None):
    """The kernels module if the C path is active and every array is a C-contiguous float32
    or float64 array of one dtype (None entries ignored), else None."""
    k = fused()
    if k is None:
        return None
    dtype = None
    for a in arrays:
        if a is None:
            continue
        if dtype is None:
            dtype = a.dtype
        if a.dtype != dtype or dtype not in _FLOATS or not a.flags.c_contiguous:
            return None
    return k


# ------------------------------------------------------------- bias + activation forward
def bias_activation_(h: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """``h <- act(h + bias)`` in place, for h of shape (..., M) and bias (M,) (or None).

    relu(x) = x for x > 0 (and NaN), else +0.0; tanh is NumPy's. Returns h."""
    if activation == "relu" and bias is not None and h.ndim >= 1 and bias.shape == h.shape[-1:]:
        k = _c_ready(h, bias)
        if k is not None:
            cols = h.shape[-1]
            k.bias_relu(h, bias, h.dtype == np.float64, h.size // max(cols, 1), cols)
            return h
    return _bias_activation_reference(h, bias, activation)


def _bias_activation_reference(h: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    if bias is not None:
        np.add(h, bias, out=h, casting="unsafe")
    if activation == "relu":
        np.maximum(h, 0, out=h)
        # np.maximum(-0.0, 0) is -0.0 or +0.0 depending on NumPy's code path; adding +0.0
        # makes it +0.0 and changes nothing else (NaN stays NaN).
        np.add(h, 0.0, out=h)
    else:
        np.tanh(h, out=h)
    return h


# ------------------------------------------------- activation backward + bias gradient
def activation_backward(
    grad: np.ndarray, out: np.ndarray, activation: str, bias_grad: np.ndarray | None = None
) -> np.ndarray:
    """The gradient before the activation, ``grad * act'(out)`` (a new array, C-ordered),
    given the activation's output ``out``: relu' = [out > 0], tanh' = 1 - out^2. With
    ``bias_grad`` (shape (M,)), also write the sum of the result over all leading axes into
    it (row after row, from 0), the gradient of a bias added before the activation."""
    if grad.shape == out.shape and out.ndim >= 1:
        k = _c_ready(grad, out, bias_grad)
        if k is not None and (bias_grad is None or bias_grad.shape == out.shape[-1:]):
            cols = out.shape[-1]
            gz = np.empty(out.shape, dtype=out.dtype)
            k.activation_backward(grad, out, gz, bias_grad, out.dtype == np.float64,
                                  activation == "tanh", out.size // max(cols, 1), cols)
            return gz
    return _activation_backward_reference(grad, out, activation, bias_grad)


def _activation_backward_reference(grad, out, activation, bias_grad):
    if activation == "relu":
        gz = np.multiply(grad, out > 0)
    else:
        t = np.multiply(out, out)
        np.subtract(1, t, out=t)
        gz = np.multiply(grad, t)
    gz = np.ascontiguousarray(gz)
    if bias_grad is not None:
        np.add.reduce(gz.reshape(-1, gz.shape[-1]), axis=0, out=bias_grad)
    return gz


# ---------------------------------------------------------- softmax + cross-entropy
# With few classes the work is done on a transposed (C, N) array, so that NumPy reduces
# across rows (fast) rather than along short rows (slow); see losses.SoftmaxCrossEntropy.
def softmax_xent_shift(z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For logits z (N, C) and in-range integer labels (N,): ``e = (z - max_c z)^T`` as a
    new C-ordered (C, N) array, and ``picked = e[label_i, i]`` (N,)."""
    n, classes = z.shape
    k = _c_ready(z)
    if k is not None and n and classes and labels.dtype == np.int64 and labels.flags.c_contiguous:
        e = np.empty((classes, n), dtype=z.dtype)
        picked = np.empty(n, dtype=z.dtype)
        k.xent_shift(z, labels, e, picked, z.dtype == np.float64, n, classes)
        return e, picked
    e = np.array(z.T, order="C")
    e -= np.maximum.reduce(e, axis=0)
    return e, e[labels, np.arange(n)]


def softmax_xent_grad(e: np.ndarray, s: np.ndarray, labels: np.ndarray, up: np.ndarray) -> np.ndarray:
    """dL/dz = softmax - onehot, scaled: ``p = e^T * coef[:, None]`` (N, C) with
    ``coef = up / s`` (s: the sums of e over the classes), then ``p[i, label_i] -= up`` (up:
    the scalar upstream factor, or one per example)."""
    classes, n = e.shape
    k = _c_ready(e, s)
    if (k is not None and isinstance(up, _NUMPY) and up.ndim == 0 and up.dtype == e.dtype and n
            and labels.dtype == np.int64 and labels.flags.c_contiguous and s.shape == (n,)):
        p = np.empty((n, classes), dtype=e.dtype)
        k.xent_grad(e, s, labels, p, e.dtype == np.float64, n, classes, float(up))
        return p
    coef = up / s
    p = np.multiply(e.T, coef[:, None], order="C")
    p[np.arange(n), labels] -= up
    return p


def labels_in_range(labels: np.ndarray, classes: int) -> bool:
    """Whether every integer label is in ``0..classes-1``: one pass (in C for int64 labels)."""
    k = fused()
    if k is not None and labels.dtype == np.int64 and labels.flags.c_contiguous:
        return k.labels_in_range(labels, labels.size, classes)
    if not labels.size:
        return True
    # One reduction instead of min and max: viewed as unsigned integers, negative labels are
    # huge, so the maximum is >= classes exactly when some label is out of range.
    unsigned = labels if labels.dtype.kind == "u" else labels.view(f"u{labels.dtype.itemsize}")
    return bool(np.maximum.reduce(unsigned, axis=None) < classes)
