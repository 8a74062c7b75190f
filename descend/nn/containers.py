"""``Sequential``: layers applied one after another."""

from __future__ import annotations

from typing import Any, Iterator

from .activation import ReLU, Tanh
from .linear import Linear
from .module import Module

_FUSED = {ReLU: "relu", Tanh: "tanh"}

__all__ = ["Sequential"]


class Sequential(Module):
    """Applies its layers in order: ``Sequential(f, g, h)(x) == h(g(f(x)))``.

    The layers are children named "0", "1", ..., so parameters are called ``0.weight``,
    ``2.bias`` and so on. A ``Sequential`` can be indexed (``model[0]``, ``model[-1]``; a slice
    gives a new ``Sequential`` sharing the layers), measured with ``len`` and iterated.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (named by its position) and return self."""
        if not isinstance(layer, Module):
            raise TypeError(
                f"Sequential takes Modules, got {type(layer).__name__} at position {len(self)}"
                + ("; for a function, wrap it in a Module" if callable(layer) else "")
            )
        self.add_module(str(len(self._modules)), layer)
        return self

    def forward(self, x: Any) -> Any:
        layers = list(self._modules.values())
        i, n = 0, len(layers)
        while i < n:
            layer = layers[i]
            # A Linear layer followed by a ReLU or Tanh layer (exactly those classes) runs as
            # one fused op: the same function, one pass less each way (see ops.linalg.Linear).
            if i + 1 < n and type(layer) is Linear and type(layers[i + 1]) in _FUSED:
                x = layer.forward(x, activation=_FUSED[type(layers[i + 1])])
                i += 2
                continue
            x = layer(x)
            i += 1
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Any:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        try:
            return layers[index]
        except IndexError:
            raise IndexError(
                f"Sequential index {index} is out of range for {len(layers)} layers"
            ) from None
        except TypeError:
            raise TypeError(
                f"Sequential indices must be integers or slices, got {type(index).__name__}"
            ) from None
