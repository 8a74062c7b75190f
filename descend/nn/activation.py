"""The lecture's activations as layers: ``ReLU``, ``Tanh``, ``Sigmoid``.

Each applies the corresponding fused op (derivatives relu' = [x > 0], tanh' = 1 - t^2,
sigmoid' = s(1 - s), computed from the saved output).
"""

from __future__ import annotations

from typing import Any

from .. import ops
from ..tensor import Tensor
from .module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid"]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.ReLU.apply(_tensor(x))


class Tanh(Module):
    """tanh x elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.Tanh.apply(_tensor(x))


class Sigmoid(Module):
    """1 / (1 + e^-x) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.Sigmoid.apply(_tensor(x))
