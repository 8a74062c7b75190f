"""``Module``: the base class of layers and networks.

A module owns ``Parameter`` objects and other modules (its children), both registered simply by
assigning them to attributes in ``__init__`` (as in PyTorch), and computes its output in
``forward``; calling the module calls ``forward``. From the registrations it derives the
dotted parameter names (``layers.0.weight``), ``state_dict``/``load_state_dict``, train/eval
mode and ``zero_grad``.

>>> from descend import nn
>>> class MLP(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.hidden = nn.Linear(4, 8)
...         self.out = nn.Linear(8, 2)
...     def forward(self, x):
...         return self.out(self.hidden(x).relu())
>>> [name for name, _ in MLP().named_parameters()]
['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import numpy as np

from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["Module", "IncompatibleKeys"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` did not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise ValueError(f"{kind} name must be non-empty and contain no '.', got {name!r}")


def _resolve_shared(own: Mapping[str, Parameter], values: dict[str, np.ndarray]) -> list[str]:
    """Leave one entry in ``values`` per shared parameter: the copy that differs from the
    parameter's current values (an edit), or the first when none does. Returns a problem
    for each parameter whose copies were edited to different values."""
    names: dict[int, list[str]] = {}
    for key in values:
        names.setdefault(id(own[key]), []).append(key)
    problems = []
    for keys in names.values():
        if len(keys) < 2:
            continue
        current = own[keys[0]].data
        as_param = {key: np.asarray(values[key], dtype=current.dtype) for key in keys}
        edited = [key for key in keys if not np.array_equal(as_param[key], current, equal_nan=True)]
        distinct = [key for key in edited if not np.array_equal(as_param[key], as_param[edited[0]], equal_nan=True)]
        if distinct:
            problems.append(
                f"{edited[0]!r} and {distinct[0]!r} name the same shared parameter but hold "
                "different new values; edit one name (or give all of them the same values)"
            )
            continue
        keep = edited[0] if edited else keys[0]
        for key in keys:
            if key != keep:
                del values[key]
    return problems


def _shape_of(value: Any) -> tuple[int, ...] | str:
    try:
        return tuple(np.shape(value.data if isinstance(value, Tensor) else value))
    except Exception:  # noqa: BLE001 (only used to describe a bad value)
        return "?"


class Module:
    """Base class of everything with parameters or sub-layers.

    Subclasses call ``super().__init__()`` first, assign ``Parameter`` and ``Module``
    attributes (they are registered in assignment order) and define ``forward``.
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}
        d["_modules"] = {}
        d["training"] = True

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before Module.__init__(): "
                    f"call super().__init__() first in {type(self).__name__}.__init__"
                )
            object.__setattr__(self, name, value)
            return
        modules = d["_modules"]
        if isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to {name!r}, a parameter of "
                    f"{type(self).__name__} (a Parameter or None is expected); to change its "
                    f"values, write them in place: module.{name}.data[...] = values"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to {name!r}, a submodule of "
                    f"{type(self).__name__} (a Module or None is expected)"
                )
            modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a placeholder such as an absent bias) under ``name``."""
        _check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter({name!r}) needs a Parameter or None, got {type(param).__name__}"
            )
        if param is None:
            self._modules.pop(name, None)
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name`` (any string without '.', e.g. "0")."""
        _check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) needs a Module or None, got {type(module).__name__}")
        if module is None:
            self._parameters.pop(name, None)
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    # ---------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their attribute names, in registration order."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and all its descendants, depth first; a module
        reachable by several paths is listed once unless ``remove_duplicate`` is False."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            kids = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module.named_children()
            ]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs: each module's own parameters in registration order,
        then its children's, depth first. A parameter shared by several modules is listed once
        (under its first name) unless ``remove_duplicate`` is False."""
        seen: set[int] = set()
        owners = self.named_modules(prefix, remove_duplicate) if recurse else iter([(prefix, self)])
        for owner_name, module in owners:
            for name, param in module._parameters.items():
                if param is None:
                    continue
                if remove_duplicate:
                    if id(param) in seen:
                        continue
                    seen.add(id(param))
                yield (f"{owner_name}.{name}" if owner_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The learnable parameters, each once, in the order of ``named_parameters``."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def num_parameters(self) -> int:
        """The number of learnable scalars (shared parameters counted once)."""
        return int(sum(p.data.size for p in self.parameters()))

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all
        descendants; it matters for layers such as ``Dropout``. Returns the module."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) needs a bool, got {type(mode).__name__}")
        for module in self.modules():
            module.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: set each ``.grad`` to None, or, with
        ``set_to_none=False``, fill existing gradient arrays with zeros in place."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad[...] = 0

    # --------------------------------------------------------------- state dict
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """An ordered dict from dotted parameter name to a copy of its values.

        Copies, not views (PyTorch returns tensors sharing the parameters' memory): a saved
        state does not change as training goes on. A shared parameter appears under every
        name that reaches it, as in PyTorch, each name with its own copy; ``load_state_dict``
        loads it from the copy that was edited (see there)."""
        return OrderedDict(
            (name, param.data.copy())
            for name, param in self.named_parameters(remove_duplicate=False)
        )

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters, in place.

        Every problem is found before anything is written, so on an error the module is
        unchanged: with ``strict`` (the default) the keys must match ``state_dict()`` exactly
        (missing and unexpected keys are errors); shapes must always match. Values are
        converted to each parameter's dtype. Returns the missing and unexpected keys.

        A parameter shared under several names (``net.a = net.b = layer``) is written once,
        from the one value among its names that differs from its current values (the edited
        copy; all equal: that value), so editing ``sd["a.weight"]`` alone is not undone by the
        stale copy under ``b.weight``. Different edits under two names are an error.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict needs a mapping from parameter name to array, got "
                f"{type(state_dict).__name__}"
            )
        own = OrderedDict(self.named_parameters(remove_duplicate=False))
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        values: dict[str, np.ndarray] = {}
        problems: list[str] = []
        mismatched: list[str] = []
        for key, param in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.dtype.kind not in "fiub":
                problems.append(f"{key!r} holds {array.dtype} values, not numbers")
            elif array.shape != param.data.shape:
                mismatched.append(
                    f"{key!r} has shape {array.shape} in the state dict but "
                    f"{param.data.shape} in the model"
                )
            else:
                values[key] = array

        def describe(keys: list[str], source: Mapping[str, Any]) -> str:
            return ", ".join(f"{key!r} (shape {_shape_of(source[key])})" for key in keys)

        if strict and missing:
            problems.insert(0, f"missing keys (in the model, not in the state dict): {describe(missing, own)}")
        if strict and unexpected:
            problems.insert(
                1 if strict and missing else 0,
                f"unexpected keys (in the state dict, not in the model): {describe(unexpected, state_dict)}",
            )
        if mismatched:
            problems.append("size mismatch: " + "; ".join(mismatched))
        problems.extend(_resolve_shared(own, values))
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__} failed, nothing was loaded: "
                + "; ".join(problems)
            )
        for key, array in values.items():
            own[key].data[...] = array
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The layer's own settings, shown inside the parentheses of its repr."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, module in self._modules.items():
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        text = f"{type(self).__name__}({self.extra_repr()}"
        if lines:
            text += "\n" + "\n".join(lines) + "\n"
        return text + ")"
