"""Primitive ops (``Function`` subclasses) and the thin functions that apply them."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..tensor import Tensor, reject_torch_names
from .activations import ReLU, Sigmoid, Tanh
from .arithmetic import Add, Cast, Div, Mul, Neg, Pow, PowScalar, Sub
from .elementwise import Abs, Clip, Exp, Log, Maximum, Minimum, Sqrt, Where
from .linalg import Linear, MatMul
from .reduction import LogSumExp, Max, Mean, Min, Sum
from .shape import BroadcastTo, Concatenate, ExpandDims, GetItem, Reshape, Squeeze, Stack, Transpose
from .softmax import LogSoftmax, Softmax

__all__ = [
    "add", "sub", "mul", "div", "neg", "power", "exp", "log", "sqrt", "abs", "maximum",
    "minimum", "matmul", "linear", "sum", "mean", "max", "min", "reshape", "transpose",
    "swapaxes", "broadcast_to", "expand_dims", "squeeze", "concatenate", "stack", "where",
    "clip", "sigmoid", "tanh", "relu", "logsumexp", "softmax", "log_softmax",
]


def _t(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return like._other(x)
    return Tensor(x)


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, _t(b, a)
    b = _t(b)
    return _t(a, b), b


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(*_pair(a, b))


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(*_pair(a, b))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*_pair(a, b))


def div(a: Any, b: Any) -> Tensor:
    return Div.apply(*_pair(a, b))


def neg(a: Any) -> Tensor:
    return Neg.apply(_t(a))


def power(a: Any, b: Any) -> Tensor:
    if isinstance(a, Tensor) and not isinstance(b, (Tensor, np.ndarray)):
        return PowScalar.apply(a, exponent=b)
    return Pow.apply(*_pair(a, b))


def exp(a: Any) -> Tensor:
    return Exp.apply(_t(a))


def log(a: Any) -> Tensor:
    return Log.apply(_t(a))


def sqrt(a: Any) -> Tensor:
    return Sqrt.apply(_t(a))


def abs(a: Any) -> Tensor:  # noqa: A001 (mirrors numpy.abs)
    return Abs.apply(_t(a))


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(*_pair(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(*_pair(a, b))


def matmul(a: Any, b: Any) -> Tensor:
    return MatMul.apply(*_pair(a, b))


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W + b as one op (W has shape (in, out))."""
    if bias is None:
        return Linear.apply(_t(x, weight), weight)
    return Linear.apply(_t(x, weight), weight, bias)


def sum(a: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:  # noqa: A001
    if torch_names:
        reject_torch_names("sum", torch_names)
    return Sum.apply(_t(a), axis=axis, keepdims=keepdims)


def mean(a: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("mean", torch_names)
    return Mean.apply(_t(a), axis=axis, keepdims=keepdims)


def max(a: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:  # noqa: A001
    if torch_names:
        reject_torch_names("max", torch_names)
    return Max.apply(_t(a), axis=axis, keepdims=keepdims)


def min(a: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:  # noqa: A001
    if torch_names:
        reject_torch_names("min", torch_names)
    return Min.apply(_t(a), axis=axis, keepdims=keepdims)


def reshape(a: Any, shape: Sequence[int]) -> Tensor:
    return Reshape.apply(_t(a), shape=tuple(shape))


def transpose(a: Any, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose.apply(_t(a), axes=None if axes is None else tuple(axes))


def swapaxes(a: Any, axis1: int, axis2: int) -> Tensor:
    return _t(a).swapaxes(axis1, axis2)


def broadcast_to(a: Any, shape: Sequence[int]) -> Tensor:
    return BroadcastTo.apply(_t(a), shape=tuple(shape))


def expand_dims(a: Any, axis: Any) -> Tensor:
    return ExpandDims.apply(_t(a), axis=axis)


def squeeze(a: Any, axis: Any = None, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("squeeze", torch_names)
    return Squeeze.apply(_t(a), axis=axis)


def concatenate(tensors: Sequence[Any], axis: int = 0, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("concatenate", torch_names)
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate.apply(*[_t(t) for t in tensors], axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("stack", torch_names)
    if len(tensors) == 0:
        raise ValueError("stack needs at least one tensor")
    return Stack.apply(*[_t(t) for t in tensors], axis=axis)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if cond else b``; ``cond`` is a boolean array or tensor (no gradient)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond)
    if cond.dtype != bool:
        raise TypeError(f"where needs a boolean condition, got {cond.dtype}; compare first (e.g. x > 0)")
    return Where.apply(*_pair(a, b), cond=cond)


def clip(a: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    return Clip.apply(_t(a), low=min, high=max)


def sigmoid(a: Any) -> Tensor:
    return Sigmoid.apply(_t(a))


def tanh(a: Any) -> Tensor:
    return Tanh.apply(_t(a))


def relu(a: Any) -> Tensor:
    return ReLU.apply(_t(a))


def logsumexp(a: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("logsumexp", torch_names)
    return LogSumExp.apply(_t(a), axis=axis, keepdims=keepdims)


def softmax(a: Any, axis: int = -1, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("softmax", torch_names)
    return Softmax.apply(_t(a), axis=axis)


def log_softmax(a: Any, axis: int = -1, **torch_names: Any) -> Tensor:
    if torch_names:
        reject_torch_names("log_softmax", torch_names)
    return LogSoftmax.apply(_t(a), axis=axis)
