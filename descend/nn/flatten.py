"""``Flatten``: merge axes into one, e.g. images (N, 28, 28) into vectors (N, 784)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge the axes ``start_axis`` .. ``end_axis`` (inclusive) into one.

    The default keeps the batch axis: (N, d1, d2, ...) -> (N, d1 * d2 * ...).
    """

    def __init__(self, start_axis: int = 1, end_axis: int = -1) -> None:
        super().__init__()
        self.start_axis = int(start_axis)
        self.end_axis = int(end_axis)

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        shape = x.data.shape
        ndim = len(shape)
        start = self.start_axis + ndim if self.start_axis < 0 else self.start_axis
        end = self.end_axis + ndim if self.end_axis < 0 else self.end_axis
        if not (0 <= start < max(ndim, 1) and 0 <= end < max(ndim, 1)) or start > end:
            raise ValueError(
                f"Flatten(start_axis={self.start_axis}, end_axis={self.end_axis}) cannot flatten "
                f"an input of shape {shape} ({ndim} axes)"
            )
        merged = 1
        for n in shape[start:end + 1]:
            merged *= n
        new_shape = shape[:start] + (merged,) + shape[end + 1:]
        if new_shape == shape:
            return x
        return x.reshape(new_shape)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"
