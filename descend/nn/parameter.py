"""``Parameter``: a tensor that a ``Module`` learns."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A floating-point ``Tensor`` with ``requires_grad=True`` that modules register as learnable.

    Assigning a ``Parameter`` to an attribute of a ``Module`` registers it, so it appears in
    ``parameters()``, ``named_parameters()`` and ``state_dict()``. The data is copied; Python
    floats become float32. Ops on a parameter give plain tensors.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=False, dtype=dtype)
        if self.data.dtype.kind != "f":
            raise TypeError(
                f"a Parameter must be floating point, got dtype {self.data.dtype}; "
                "pass dtype=np.float32 (or float64)"
            )
        self.requires_grad = bool(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
