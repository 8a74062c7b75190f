"""Parameter initialisers, each filling a tensor (or ndarray) in place and returning it.

Fans follow descend's layout, where a dense weight has shape ``(in, out)`` (and a convolution
kernel ``(..., in, out)``, the receptive field first): ``fan_in = in * receptive``,
``fan_out = out * receptive``. (PyTorch stores ``(out, in)``; the fans are the same numbers.)

- Glorot/Xavier (Glorot & Bengio 2010) keeps the variance of activations and of gradients
  roughly constant for linear/tanh-like units: ``Var W = 2 / (fan_in + fan_out)``, so
  ``xavier_uniform`` draws from U(-a, a) with ``a = gain sqrt(6 / (fan_in + fan_out))`` and
  ``xavier_normal`` from N(0, gain^2 2 / (fan_in + fan_out)).
- He/Kaiming (He et al. 2015) compensates for ReLU zeroing half its inputs:
  ``Var W = gain^2 / fan`` with ``gain = sqrt(2)`` for ReLU.

Random initialisers take ``rng``, a ``numpy.random.Generator``; None means
``descend.random.default_rng()``. Values are drawn in float64 and then stored in the tensor's
dtype, so the same seed gives the same numbers (up to rounding) in float32 and float64.
Writing in place keeps a parameter's array (and any flat buffer it is a view of) intact.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from ..random import as_rng
from ..tensor import Tensor

__all__ = [
    "calculate_fan_in_and_fan_out", "calculate_gain", "uniform", "normal", "constant", "zeros",
    "ones", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "kaiming_uniform", "kaiming_normal", "he_uniform", "he_normal",
]

T = TypeVar("T", Tensor, np.ndarray)


def _array(t: Any) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.data
    if isinstance(t, np.ndarray):
        return t
    raise TypeError(f"init functions fill a Tensor or an ndarray in place, got {type(t).__name__}")


def _fill(t: T, values: Any) -> T:
    array = _array(t)
    if array.dtype.kind != "f":
        raise TypeError(f"init needs a floating-point tensor, got dtype {array.dtype}")
    array[...] = values
    return t


def calculate_fan_in_and_fan_out(shape: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` = (..., in, out) (at least 2 axes)."""
    if isinstance(shape, (Tensor, np.ndarray)):
        shape = shape.shape
    shape = tuple(int(n) for n in shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 axes (in, out), got shape {shape}"
        )
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation (PyTorch's values): 1 for linear and sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu, 3/4 for selu."""
    linear = {"linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"unknown nonlinearity {nonlinearity!r}; use one of linear, sigmoid, tanh, relu, "
        "leaky_relu, selu"
    )


def uniform(t: T, low: float = 0.0, high: float = 1.0, rng: np.random.Generator | None = None) -> T:
    """Fill with draws from U(low, high)."""
    if not low <= high:
        raise ValueError(f"uniform needs low <= high, got low={low}, high={high}")
    return _fill(t, as_rng(rng).uniform(low, high, size=_array(t).shape))


def normal(t: T, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None) -> T:
    """Fill with draws from N(mean, std^2)."""
    if not std >= 0:
        raise ValueError(f"normal needs std >= 0, got {std}")
    return _fill(t, as_rng(rng).normal(mean, std, size=_array(t).shape))


def constant(t: T, value: float) -> T:
    """Fill with ``value``."""
    return _fill(t, value)


def zeros(t: T) -> T:
    return _fill(t, 0)


def ones(t: T) -> T:
    return _fill(t, 1)


def xavier_uniform(t: T, gain: float = 1.0, rng: np.random.Generator | None = None) -> T:
    """Glorot/Xavier uniform: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(t, -bound, bound, rng=rng)


def xavier_normal(t: T, gain: float = 1.0, rng: np.random.Generator | None = None) -> T:
    """Glorot/Xavier normal: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t).shape)
    return normal(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def _kaiming_std(t: Any, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t).shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform(
    t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "relu",
    rng: np.random.Generator | None = None,
) -> T:
    """He/Kaiming uniform: U(-b, b) with b = gain sqrt(3 / fan) (gain sqrt(2) for relu; ``a``
    is the negative slope for leaky_relu)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform(t, -bound, bound, rng=rng)


def kaiming_normal(
    t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "relu",
    rng: np.random.Generator | None = None,
) -> T:
    """He/Kaiming normal: N(0, std^2) with std = gain / sqrt(fan)."""
    return normal(t, 0.0, _kaiming_std(t, a, mode, nonlinearity), rng=rng)


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
he_uniform = kaiming_uniform
he_normal = kaiming_normal
