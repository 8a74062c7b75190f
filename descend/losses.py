"""Losses as negative log-likelihoods of the distribution that the network's output describes.

Maximum likelihood chooses the parameters theta that maximise prod_i p_model(y_i | x_i; theta),
i.e. minimise the negative log-likelihood sum_i -log p_model(y_i | x_i; theta) (equivalently
the cross-entropy H(p_data, p_model), or KL(p_data || p_model) up to the constant H(p_data)).
Each loss below is that NLL for one output distribution:

- Normal N(y; f, sigma^2), sigma fixed:  (f - y)^2, up to scale and a constant   ``mse_loss``
- Normal N(y; mu, var), var predicted:   (log var + (y - mu)^2 / var) / 2           ``gaussian_nll_loss``
- Bernoulli(y; sigmoid(z)):              softplus(z) - y z                           ``binary_cross_entropy_with_logits``
- Bernoulli(y; p):                       -(y log p + (1 - y) log(1 - p))             ``binary_cross_entropy``
- Categorical(y; softmax(z)):            logsumexp(z) - z_y                          ``cross_entropy``
- Categorical(y; exp(log_p)):            -log_p_y                                    ``nll_loss``
- a given target distribution t:         sum_c t_c (log t_c - log_p_c)               ``kl_div``

Every function takes ``reduction``: "mean" (the default: the average over all loss terms -
the examples for cross_entropy and nll_loss, every element for the elementwise losses - a
minibatch estimate of the expected NLL), "sum", or "none" (the loss terms themselves).
Numbers, formulas and conventions match PyTorch (``torch.nn.functional``). The losses whose
derivative is closed-form are single fused ops: softmax + cross-entropy backpropagates
``(softmax(z) - onehot(y)) / N`` and sigmoid + binary cross-entropy ``(sigmoid(z) - y) / N``,
both stable for any logits (they are computed through log-sum-exp and softplus, never through
a probability that rounds to 0 or 1).

Inputs are checked before anything is computed: shapes must match, class labels must be
integers within range, targets may not contain NaN.

Each loss also exists as a ``Module`` (``CrossEntropyLoss()``, ``MSELoss()``, ...), holding its
options and called as ``loss_fn(output, target)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .kernels.elementwise import labels_in_range, softmax_xent_grad, softmax_xent_shift
from .nn.module import Module
from .tensor import Function, Tensor

__all__ = [
    "mse_loss", "gaussian_nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy",
    "cross_entropy", "nll_loss", "kl_div",
    "MSELoss", "GaussianNLLLoss", "BCEWithLogitsLoss", "BCELoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss",
]

_REDUCTIONS = ("mean", "sum", "none")
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# Up to this many classes, softmax cross-entropy works on a transposed copy of the logits.
_TRANSPOSE_MAX_CLASSES = 32


# ------------------------------------------------------------------------------ checks
def _check_reduction(fn: str, reduction: Any, allowed: tuple[str, ...] = _REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(
            f"{fn}: reduction must be one of {', '.join(repr(r) for r in allowed)}, got {reduction!r}"
        )
    return reduction


def _as_input(fn: str, name: str, x: Any) -> Tensor:
    """The network's output: a floating-point tensor (arrays are wrapped, without grad)."""
    if not isinstance(x, Tensor):
        array = np.asarray(x)
        if array.dtype.kind != "f":
            array = array.astype(np.float32)
        x = Tensor._make(array, False, None)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be floating point, got dtype {x.data.dtype}")
    return x


def _has_nan(array: np.ndarray) -> bool:
    if array.dtype.kind != "f" or array.size == 0:
        return False
    total = np.sum(array)
    return not np.isfinite(total) and bool(np.isnan(array).any())


def _as_float_target(fn: str, name: str, target: Any, like: Tensor, shape: bool = True) -> Tensor:
    """A real-valued target: converted to ``like``'s dtype; NaN and (if ``shape``) a shape
    different from ``like``'s are errors."""
    if isinstance(target, Tensor):
        if target.data.dtype != like.data.dtype:
            if target.data.dtype.kind == "f":
                target = target.astype(like.data.dtype)
            else:
                target = Tensor._make(target.data.astype(like.data.dtype), False, None)
    else:
        array = np.asarray(target)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"{fn}: {name} must hold numbers, got dtype {array.dtype}")
        target = Tensor._make(array.astype(like.data.dtype, copy=False), False, None)
    if shape and target.data.shape != like.data.shape:
        raise ValueError(
            f"{fn}: input has shape {like.data.shape} but {name} has shape {target.data.shape}; "
            "they must be equal"
        )
    if _has_nan(target.data):
        index = tuple(int(i) for i in np.argwhere(np.isnan(target.data))[0])
        raise ValueError(f"{fn}: {name} contains NaN (first at index {index})")
    return target


def _as_labels(fn: str, target: Any, n: int, classes: int) -> np.ndarray:
    """Integer class labels of shape (n,), each in 0..classes-1."""
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: class labels must be integers, got dtype {labels.dtype}; convert them with "
            "labels.astype(np.int64)"
            + (" (or, for class probabilities, pass a float target of shape (N, C))"
               if labels.dtype.kind == "f" else "")
        )
    if labels.shape != (n,):
        raise ValueError(
            f"{fn}: expected one label per example, shape ({n},), but got labels of shape "
            f"{labels.shape}"
        )
    if not labels_in_range(labels, classes):
        low, high = labels.min(), labels.max()
        bad = int(low) if low < 0 else int(high)
        index = int(np.argmax(labels == bad))
        raise ValueError(
            f"{fn}: label {bad} (at index {index}) is out of range for {classes} classes; "
            f"labels must be in 0..{classes - 1}"
        )
    return labels


def _as_logits_2d(fn: str, name: str, x: Any) -> Tensor:
    x = _as_input(fn, name, x)
    if x.data.ndim != 2:
        raise ValueError(
            f"{fn}: {name} must have shape (N, C) (examples, classes), got shape {x.data.shape}"
        )
    if x.data.shape[0] == 0 or x.data.shape[1] == 0:
        raise ValueError(f"{fn}: {name} of shape {x.data.shape} is empty")
    return x


# The mean of no losses is undefined (NumPy would warn and give nan): as Tensor.mean, an error.
_EMPTY_MEAN = ("the mean loss of an empty batch is undefined; check for an empty batch, or use "
               "reduction='sum' (0 for no examples)")


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    # np.add.reduce is what np.sum and np.mean compute, without their Python-level overhead.
    if reduction == "mean":
        if loss.size == 0:
            raise ValueError(_EMPTY_MEAN)
        return np.asarray(np.add.reduce(loss, axis=None) / loss.dtype.type(loss.size))
    if reduction == "sum":
        return np.asarray(np.add.reduce(loss, axis=None))
    return loss


def _scale(grad: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """d(reduced loss)/d(each element's loss), times the upstream gradient."""
    if reduction == "mean":
        return grad / grad.dtype.type(count)
    return grad


def _wants_grad(fn: Function, i: int) -> bool:
    return len(fn.inputs) > i and fn.inputs[i].requires_grad


# ------------------------------------------------------------------ Normal: MSE
class MSE(Function):
    """l = (x - y)^2;  dl/dx = 2 (x - y), dl/dy = -2 (x - y)."""

    def forward(self, x, y, reduction):
        self.diff = x - y
        self.reduction = reduction
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad):
        up = _scale(grad, self.reduction, self.diff.size)
        g = self.diff * (2 * up)
        return g, (-g if _wants_grad(self, 1) else None)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (f - y)^2: the NLL of a Normal with a fixed variance.

    If y ~ N(f(x; theta), sigma^2) with sigma fixed, then
    -log p(y | x) = (y - f)^2 / (2 sigma^2) + log(sigma sqrt(2 pi)); the second term and the
    factor 1/(2 sigma^2) do not depend on theta, so maximising the likelihood minimises
    sum_i (f(x_i) - y_i)^2, and its average is the lecture's MSE = (1/N) sum (f - y)^2.
    ``input`` and ``target`` have the same shape; "mean" averages over all elements.
    """
    fn = "mse_loss"
    _check_reduction(fn, reduction)
    input = _as_input(fn, "input", input)
    target = _as_float_target(fn, "target", target, input)
    return MSE.apply(input, target, reduction=reduction)


# -------------------------------------------------------- Normal: predicted variance
class GaussianNLL(Function):
    """l = (log v + (x - y)^2 / v) / 2 [+ log(2 pi) / 2], v = max(var, eps);
    dl/dx = (x - y) / v, dl/dy = -(x - y) / v, dl/dvar = (1/v - (x - y)^2 / v^2) / 2 (the clamp
    is treated as the identity, as in PyTorch, where it runs under no_grad)."""

    def forward(self, x, y, var, full, eps, reduction):
        self.reduction = reduction
        self.v = np.maximum(var, var.dtype.type(eps))
        self.diff = x - y
        self.ratio = self.diff / self.v
        loss = np.log(self.v) + self.diff * self.ratio
        loss *= 0.5
        if full:
            loss += loss.dtype.type(_HALF_LOG_2PI)
        self.count = loss.size
        return _reduce(loss, reduction)

    def backward(self, grad):
        up = _scale(grad, self.reduction, self.count)
        gx = self.ratio * up
        gy = -gx if _wants_grad(self, 1) else None
        gv = None
        if _wants_grad(self, 2):
            gv = (1 - self.diff * self.ratio) / self.v * (0.5 * up)
        return gx, gy, gv


def gaussian_nll_loss(
    input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """NLL of a Normal whose mean ``input`` and variance ``var`` are both predicted.

    For y ~ N(mu, v): -log p(y) = (log v + (y - mu)^2 / v) / 2 + log(2 pi) / 2; the constant is
    included only with ``full=True``. As in PyTorch, ``var`` is clamped to at least ``eps``
    for stability (the clamp does not stop its gradient), and may have the shape of ``input``
    (heteroscedastic), that shape without its last axis, or that shape with size 1 in exactly
    one axis (homoscedastic along it); a Python float is a constant variance. Negative
    variances are an error.
    """
    fn = "gaussian_nll_loss"
    _check_reduction(fn, reduction)
    input = _as_input(fn, "input", input)
    target = _as_float_target(fn, "target", target, input)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{fn}: var has negative entries (var={var})")
        var = Tensor._make(np.full(input.data.shape, var, dtype=input.data.dtype), False, None)
    else:
        var = _as_float_target(fn, "var", var, input, shape=False)
    vshape, ishape = var.data.shape, input.data.shape
    if vshape != ishape:
        if vshape == ishape[:-1]:
            var = var.expand_dims(-1)
        elif not (
            len(vshape) == len(ishape)
            and sum(v for i, v in zip(ishape, vshape) if i != v) == 1
        ):
            raise ValueError(
                f"{fn}: var has shape {vshape}, which does not fit input of shape {ishape}: use "
                f"{ishape}, {ishape[:-1]}, or {ishape} with one axis of size 1"
            )
    if var.data.size and np.min(var.data) < 0:
        raise ValueError(f"{fn}: var has negative entries (minimum {np.min(var.data)})")
    if eps < 0:
        raise ValueError(f"{fn}: eps must be non-negative, got {eps}")
    return GaussianNLL.apply(input, target, var, full=bool(full), eps=float(eps), reduction=reduction)


# ------------------------------------------------------------------ Bernoulli
class BCEWithLogits(Function):
    """l = (1 - y) z + w softplus(-z) with w = 1 + (pos_weight - 1) y (w = 1 without
    pos_weight), softplus(-z) = log(1 + e^-|z|) + max(-z, 0);
    dl/dz = w sigmoid(z) - pos_weight y  (= sigmoid(z) - y without pos_weight),
    dl/dy = -z + (pos_weight - 1) softplus(-z)."""

    def forward(self, z, y, pos_weight, reduction):
        self.reduction = reduction
        self.z, self.y, self.pos_weight = z, y, pos_weight
        self.e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
        self.softplus_neg = np.log1p(self.e) + np.maximum(-z, 0)
        if pos_weight is None:
            loss = (1 - y) * z + self.softplus_neg
        else:
            loss = (1 - y) * z + (1 + (pos_weight - 1) * y) * self.softplus_neg
        return _reduce(loss, reduction)

    def backward(self, grad):
        up = _scale(grad, self.reduction, self.z.size)
        z, y, pw, e = self.z, self.y, self.pos_weight, self.e
        s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        if pw is None:
            gz = (s - y) * up
        else:
            gz = ((1 + (pw - 1) * y) * s - pw * y) * up
        gy = None
        if _wants_grad(self, 1):
            gy = -z if pw is None else (pw - 1) * self.softplus_neg - z
            gy = gy * up
        return gz, gy


def binary_cross_entropy_with_logits(
    input: Any, target: Any, pos_weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy on logits: the NLL of a Bernoulli with p = sigmoid(z).

    -log p(y | z) = -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))
                  = y softplus(-z) + (1 - y) softplus(z) = (1 - y) z + softplus(-z),
    computed as (1 - y) z + log(1 + e^-|z|) + max(-z, 0), finite for any logit; its gradient is
    sigmoid(z) - y (a single fused op). ``pos_weight`` (broadcast along the last axis, one
    weight per output, not differentiated) multiplies the positive term
    y softplus(-z), as in PyTorch. ``target`` may be soft (any value in [0, 1]).
    """
    fn = "binary_cross_entropy_with_logits"
    _check_reduction(fn, reduction)
    input = _as_input(fn, "input", input)
    target = _as_float_target(fn, "target", target, input)
    _check_probability_target(fn, target)
    pw = None
    if pos_weight is not None:
        pw = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight)
        pw = pw.astype(input.data.dtype, copy=False)
        try:
            np.broadcast_shapes(pw.shape, input.data.shape)
        except ValueError:
            raise ValueError(
                f"{fn}: pos_weight of shape {pw.shape} does not broadcast against input of shape "
                f"{input.data.shape}; give one weight per output, shape ({input.data.shape[-1]},)"
            ) from None
        if _has_nan(pw):
            raise ValueError(f"{fn}: pos_weight contains NaN")
    return BCEWithLogits.apply(input, target, pos_weight=pw, reduction=reduction)


def _check_probability_target(fn: str, target: Tensor) -> None:
    """A binary target is a probability: outside [0, 1] the loss is unbounded below, and
    training would push the logits to infinity (PyTorch does not check)."""
    if target.data.size:
        low, high = np.min(target.data), np.max(target.data)
        if not (low >= 0 and high <= 1):
            raise ValueError(
                f"{fn}: target must be probabilities in [0, 1] (labels 0/1 or soft labels), but "
                f"it ranges over [{low}, {high}]; for class indices use cross_entropy"
            )


class BCE(Function):
    """l = -(y max(log p, -100) + (1 - y) max(log(1 - p), -100));
    dl/dp = (p - y) / max(p (1 - p), 1e-12), dl/dy = max(log(1 - p), -100) - max(log p, -100)
    (PyTorch's clamps)."""

    def forward(self, p, y, reduction):
        self.reduction = reduction
        self.p, self.y = p, y
        with np.errstate(divide="ignore"):
            self.log_p = np.maximum(np.log(p), -100)
            self.log_1mp = np.maximum(np.log1p(-p), -100)
        loss = (y - 1) * self.log_1mp - y * self.log_p
        return _reduce(loss, reduction)

    def backward(self, grad):
        up = _scale(grad, self.reduction, self.p.size)
        p, y = self.p, self.y
        # PyTorch's floor is the float32 constant 1e-12f, also in float64.
        gp = (p - y) / np.maximum(p * (1 - p), p.dtype.type(np.float32(1e-12))) * up
        gy = (self.log_1mp - self.log_p) * up if _wants_grad(self, 1) else None
        return gp, gy


def binary_cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities: the NLL of a Bernoulli with parameter p.

    -log p(y) = -(y log p + (1 - y) log(1 - p)). As in PyTorch each log is clamped at -100, so
    p = 0 or 1 gives a finite loss; prefer ``binary_cross_entropy_with_logits`` on logits,
    which is exact and stable. ``input`` must lie in [0, 1].
    """
    fn = "binary_cross_entropy"
    _check_reduction(fn, reduction)
    input = _as_input(fn, "input", input)
    target = _as_float_target(fn, "target", target, input)
    _check_probability_target(fn, target)
    if input.data.size:
        low, high = np.min(input.data), np.max(input.data)
        if not (low >= 0 and high <= 1):
            raise ValueError(
                f"{fn}: input must be probabilities in [0, 1], but it ranges over [{low}, {high}]; "
                "for logits use binary_cross_entropy_with_logits"
            )
    return BCE.apply(input, target, reduction=reduction)


# ------------------------------------------------------------------ Categorical
class SoftmaxCrossEntropy(Function):
    """Softmax + cross-entropy with integer labels y, with label smoothing eps:
    l = logsumexp(z) - (1 - eps) z_y - (eps / C) sum_c z_c;
    dl/dz = softmax(z) - (1 - eps) onehot(y) - eps / C.

    Forward: one pass of log-softmax, saving e = exp(z - max z) and its row sums s.
    Backward: p = e * (g / s) is a fresh array, and the labels' entries are decreased in place.
    With few classes (the common case, e.g. 10) the rows are short and NumPy reduces along
    them slowly, so the work is done on a transposed (C, N) copy, reducing across rows; the
    shift-and-transpose and the gradient are then single passes
    (``descend.kernels.softmax_xent_shift`` / ``softmax_xent_grad``), exp, the sums and log
    stay NumPy's.
    """

    def forward(self, z, labels, smoothing, reduction):
        n, classes = z.shape
        self.transposed = transposed = classes <= _TRANSPOSE_MAX_CLASSES
        if transposed:
            e, picked = softmax_xent_shift(z, labels)  # a fresh (C, N) array, one pass
        else:
            e = z - np.maximum.reduce(z, axis=1, keepdims=True)
            picked = e[np.arange(n), labels]
        axis = 0 if transposed else 1
        if smoothing:
            mean_shifted = np.add.reduce(e, axis=axis) / e.dtype.type(classes)
        np.exp(e, out=e)
        s = np.add.reduce(e, axis=axis)
        loss = np.log(s)
        if smoothing:
            loss -= (1 - smoothing) * picked + smoothing * mean_shifted
        else:
            loss -= picked
        self.e, self.s, self.labels = e, s, labels
        self.smoothing, self.reduction = smoothing, reduction
        return _reduce(loss, reduction)

    def backward(self, grad):
        n = self.labels.shape[0]
        up = _scale(grad, self.reduction, n)
        eps = self.smoothing
        if self.transposed and not eps:
            return softmax_xent_grad(self.e, self.s, self.labels, up), None
        coef = up / self.s
        rows = np.arange(n)
        if self.transposed:
            p = np.multiply(self.e.T, coef[:, None], order="C")
        else:
            p = np.multiply(self.e, coef[:, None])
        if eps:
            classes = p.shape[1]
            p[rows, self.labels] -= up * (1 - eps)
            p -= (up * (eps / classes))[..., None] if up.ndim else up * (eps / classes)
        else:
            p[rows, self.labels] -= up
        return p, None


class SoftCrossEntropy(Function):
    """Cross-entropy with target probabilities t (after smoothing t' = (1 - eps) t + eps / C):
    l = -sum_c t'_c log softmax(z)_c;  dl/dz = softmax(z) sum_c t'_c - t',
    dl/dt = -(1 - eps) log softmax(z)."""

    def forward(self, z, t, smoothing, reduction):
        classes = z.shape[1]
        if smoothing:
            t = t * (1 - smoothing) + smoothing / classes
        m = np.max(z, axis=1, keepdims=True)
        shifted = z - m
        self.log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        self.t, self.smoothing, self.reduction = t, smoothing, reduction
        return _reduce(-np.sum(t * self.log_p, axis=1), reduction)

    def backward(self, grad):
        up = _scale(grad, self.reduction, self.t.shape[0])
        up = up[:, None] if up.ndim else up
        t = self.t
        gz = (np.exp(self.log_p) * np.sum(t, axis=1, keepdims=True) - t) * up
        gt = None
        if _wants_grad(self, 1):
            gt = self.log_p * (-(1 - self.smoothing) * up)
        return gz, gt


def cross_entropy(
    input: Any, target: Any, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C): the NLL of a Categorical with p = softmax(z).

    With integer labels ``target`` (N,): -log softmax(z)_y = logsumexp(z) - z_y, computed
    through a stable log-sum-exp as one fused op whose gradient is softmax(z) - onehot(y)
    (divided by N for "mean"). With class probabilities ``target`` (N, C) (floating point):
    -sum_c t_c log softmax(z)_c, the cross-entropy H(t, p).

    ``label_smoothing`` eps replaces the target distribution by (1 - eps) t + eps / C (for
    labels, t = onehot(y)), exactly as PyTorch does.
    """
    fn = "cross_entropy"
    _check_reduction(fn, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input = _as_logits_2d(fn, "input", input)
    n, classes = input.data.shape
    target_dtype = (target.data if isinstance(target, Tensor) else np.asarray(target)).dtype
    if target_dtype.kind == "f" and np.ndim(target.data if isinstance(target, Tensor) else target) == 2:
        target = _as_float_target(fn, "target", target, input)
        return SoftCrossEntropy.apply(
            input, target, smoothing=float(label_smoothing), reduction=reduction
        )
    labels = _as_labels(fn, target, n, classes)
    return SoftmaxCrossEntropy.apply(
        input, smoothing=float(label_smoothing), reduction=reduction, labels=labels
    )


class NLL(Function):
    """l = -log_p[y];  dl/dlog_p = -onehot(y)."""

    def forward(self, log_p, labels, reduction):
        self.shape, self.labels, self.reduction = log_p.shape, labels, reduction
        self.rows = np.arange(log_p.shape[0])
        return _reduce(-log_p[self.rows, labels], reduction)

    def backward(self, grad):
        up = _scale(grad, self.reduction, self.shape[0])
        g = np.zeros(self.shape, dtype=grad.dtype)
        g[self.rows, self.labels] = -up
        return (g,)


def nll_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """-log p_y for log-probabilities ``input`` (N, C) and integer labels ``target`` (N,): the
    NLL of a Categorical given by its log-probabilities (e.g. the output of ``log_softmax``;
    ``nll_loss(log_softmax(z), y) == cross_entropy(z, y)``)."""
    fn = "nll_loss"
    _check_reduction(fn, reduction)
    input = _as_logits_2d(fn, "input", input)
    labels = _as_labels(fn, target, *input.data.shape)
    return NLL.apply(input, labels=labels, reduction=reduction)


class KLDiv(Function):
    """Pointwise KL term l = t (log t - x) (0 where t = 0), or with log targets
    l = e^t (t - x);  dl/dx = -t (or -e^t), dl/dt = log t + 1 - x (0 where t = 0), or
    e^t (t + 1 - x)."""

    def forward(self, x, t, log_target, reduction):
        self.x, self.t, self.log_target, self.reduction = x, t, log_target, reduction
        if log_target:
            self.et = np.exp(t)
            loss = self.et * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                self.log_t = np.log(t)
            t_log_t = np.where(t == 0, 0, t * self.log_t)
            loss = t_log_t - t * x
        self.count = loss.size if reduction == "mean" else (x.shape[0] if x.ndim else 1)
        return _reduce_kl(loss, reduction)

    def backward(self, grad):
        up = grad
        if self.reduction in ("mean", "batchmean"):
            up = grad / grad.dtype.type(self.count)
        x, t = self.x, self.t
        gx = -(self.et if self.log_target else t) * up
        gt = None
        if _wants_grad(self, 1):
            if self.log_target:
                gt = self.et * (t + 1 - x) * up
            else:
                gt = np.where(t == 0, 0, (self.log_t + 1 - x)) * up
        return gx, gt


def _reduce_kl(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "batchmean":
        n = loss.shape[0] if loss.ndim else 1
        if n == 0:
            raise ValueError(_EMPTY_MEAN)
        return np.asarray(np.sum(loss) / loss.dtype.type(n), dtype=loss.dtype)
    return _reduce(loss, reduction)


def kl_div(input: Any, target: Any, log_target: bool = False, reduction: str = "mean") -> Tensor:
    """KL(t || p) for log-probabilities ``input`` = log p and a target distribution t.

    KL(t || p) = sum_c t_c (log t_c - log p_c) = H(t, p) - H(t): the cross-entropy minus the
    target's entropy, which does not depend on the model, so minimising it is maximum
    likelihood of p with soft targets. With ``log_target`` the target is given as log t.
    As in PyTorch, "mean" averages over all elements (not the KL divergence), while
    "batchmean" divides the sum by the batch size input.shape[0] (the mean KL per example).
    """
    fn = "kl_div"
    _check_reduction(fn, reduction, _REDUCTIONS + ("batchmean",))
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError(f"{fn}: log_target must be a bool, got {log_target!r} (pass reduction=... by name)")
    input = _as_input(fn, "input", input)
    target = _as_float_target(fn, "target", target, input)
    return KLDiv.apply(input, target, log_target=bool(log_target), reduction=reduction)


# ------------------------------------------------------------------ as Modules
class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(type(self).__name__, reduction, self._reductions)

    _reductions = _REDUCTIONS

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """``mse_loss`` as a module: the NLL of a Normal with fixed variance."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """``gaussian_nll_loss`` as a module: called as ``loss_fn(mean, target, var)``."""

    def __init__(self, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = bool(full), float(eps)

    def forward(self, input: Any, target: Any, var: Any) -> Tensor:
        return gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"full={self.full}, eps={self.eps}, reduction={self.reduction!r}"


class BCEWithLogitsLoss(_Loss):
    """``binary_cross_entropy_with_logits`` as a module: Bernoulli NLL on logits."""

    def __init__(self, pos_weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.pos_weight = pos_weight

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, pos_weight=self.pos_weight, reduction=self.reduction
        )


class BCELoss(_Loss):
    """``binary_cross_entropy`` as a module: Bernoulli NLL on probabilities."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """``cross_entropy`` as a module: Categorical NLL on logits (N, C)."""

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:
        return cross_entropy(input, target, reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}"


class NLLLoss(_Loss):
    """``nll_loss`` as a module: Categorical NLL on log-probabilities (N, C)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, reduction=self.reduction)


class KLDivLoss(_Loss):
    """``kl_div`` as a module (reductions "mean", "batchmean", "sum", "none")."""

    _reductions = _REDUCTIONS + ("batchmean",)

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = bool(log_target)

    def forward(self, input: Any, target: Any) -> Tensor:
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
