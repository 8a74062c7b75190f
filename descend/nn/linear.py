"""``Linear``: the fully connected layer y = x W + b."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.linalg import Linear as _LinearOp
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear"]


def _check_size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Linear: {name} must be an integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"Linear: {name} must be positive, got {value}")
    return int(value)


class Linear(Module):
    """y = x W + b, with ``weight`` W of shape (in_features, out_features) and ``bias`` b of
    shape (out_features,) (the lecture's layout; PyTorch's weight is W transposed).

    W starts Glorot/Xavier-uniform, U(-a, a) with a = sqrt(6 / (in + out)), drawn from ``rng``
    (default: ``descend.random.default_rng()``); b starts at zero. The forward pass is the
    fused op ``descend.linear``. ``x`` has shape (..., in_features); a non-tensor input is
    converted to the weight's dtype.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.in_features = _check_size("in_features", in_features)
        self.out_features = _check_size("out_features", out_features)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be floating point, got {dtype}")
        self.weight = Parameter(np.empty((self.in_features, self.out_features), dtype=dtype))
        init.xavier_uniform(self.weight, rng=rng)
        if bias:
            self.bias = Parameter(np.zeros(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any, activation: str | None = None) -> Tensor:
        """x W + b, or act(x W + b) in one fused op for ``activation`` "relu" or "tanh"
        (``Sequential`` passes the activation of a following ``ReLU``/``Tanh`` layer)."""
        weight = self.weight
        if not isinstance(x, Tensor):
            x = Tensor._make(np.asarray(x, dtype=weight.data.dtype), False, None)
        shape = x.data.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects inputs whose last "
                f"dimension is in_features={self.in_features}, but got an input of shape {shape} "
                f"(last dimension {shape[-1] if shape else 'missing'})"
            )
        if x.data.dtype != weight.data.dtype:
            raise TypeError(
                f"Linear({self.in_features}, {self.out_features}) has {weight.data.dtype} "
                f"parameters but got a {x.data.dtype} input; convert it first, e.g. "
                f"x.astype(np.{weight.data.dtype})"
            )
        if len(shape) == 1:
            # A single example: the fused op's weight gradient expects a batch axis.
            return self.forward(x.reshape(1, -1), activation).reshape(-1)
        if self.bias is None:
            return _LinearOp.apply(x, weight, activation=activation)
        return _LinearOp.apply(x, weight, self.bias, activation=activation)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
