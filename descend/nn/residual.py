"""``Residual``: a skip connection around a block, y = x + F(x) (He et al. 2016).

The gradient flows through both paths: dL/dx = dL/dy + (dF/dx)^T dL/dy. The identity term
means that, however deep a stack of residual blocks, the gradient reaching the first block
contains the gradient at the last one unchanged -- the reason residual networks train at
depths where plain stacks do not, and why their loss landscapes stay smooth (Li et al. 2018,
"Visualizing the Loss Landscape of Neural Nets", Figure 1, shown in the lecture).
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .module import Module

__all__ = ["Residual"]


class Residual(Module):
    """``Residual(block)``: ``y = x + block(x)``; ``block`` must keep the input's shape.

    >>> import numpy as np, descend as ds
    >>> from descend.nn import Linear, ReLU, Residual, Sequential
    >>> layer = Residual(Sequential(Linear(8, 8), ReLU(), Linear(8, 8)))
    >>> layer(ds.tensor(np.zeros((2, 8), dtype=np.float32))).shape
    (2, 8)

    The block is the child ``block``, so its parameters are named ``block.0.weight`` and so on.
    Backward needs no code of its own: the sum's gradient goes to both summands.
    """

    def __init__(self, block: Module) -> None:
        super().__init__()
        if not isinstance(block, Module):
            raise TypeError(
                f"Residual takes a Module (the block F of y = x + F(x)), got {type(block).__name__}"
                + ("; for a function, wrap it in a Module" if callable(block) else "")
            )
        self.block = block

    def forward(self, x: Any) -> Tensor:
        out = self.block(x)
        in_shape = tuple(getattr(x, "shape", ()))
        if tuple(out.shape) != in_shape:
            raise ValueError(
                f"Residual: the block maps shape {in_shape} to {tuple(out.shape)}, but y = x + F(x) "
                "needs F(x) of the input's shape; make the block's last layer output "
                f"{in_shape[-1] if in_shape else 'the input size'} features"
            )
        return x + out
