"""Layers and networks: ``Module``, ``Parameter``, ``Linear``, ``Sequential``, ``Flatten``,
the activations ``ReLU``/``Tanh``/``Sigmoid``, ``Dropout``, and the initialisers in ``init``.

The loss classes of ``descend.losses`` (``CrossEntropyLoss``, ``MSELoss``, ...) are reachable
here too, as ``descend.nn.CrossEntropyLoss``.
"""

from __future__ import annotations

from typing import Any

from . import init
from .activation import ReLU, Sigmoid, Tanh
from .containers import Sequential
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .module import IncompatibleKeys, Module
from .parameter import Parameter
from .residual import Residual

__all__ = [
    "Module", "Parameter", "IncompatibleKeys", "Linear", "Sequential", "Flatten", "ReLU",
    "Tanh", "Sigmoid", "Dropout", "Residual", "init",
]

_LOSS_CLASSES = (
    "MSELoss", "GaussianNLLLoss", "BCEWithLogitsLoss", "BCELoss", "CrossEntropyLoss",
    "NLLLoss", "KLDivLoss",
)


def __getattr__(name: str) -> Any:
    # losses.py builds on nn.Module, so it is imported on first use rather than here.
    if name in _LOSS_CLASSES:
        from .. import losses

        return getattr(losses, name)
    raise AttributeError(f"module 'descend.nn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LOSS_CLASSES))
