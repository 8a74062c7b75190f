"""The ``Optimizer`` base class: parameter groups kept in flat buffers, state, clipping.

Every algorithm (SGD, Adagrad, RMSprop, Adam, AdamW) is a subclass that only says which
hyperparameters it has, how to validate them and how to update one *run* of parameters: a
contiguous slice of the group's flat buffers. The update is written as a chain of small NumPy
transforms (``descend.optim.transforms``, the readable specification) and run by the
bit-identical fused kernel of ``descend.kernels`` when the compiled path is active
(``Run.kernels()``). The base class owns everything else.

Flat buffers (the performance design, see docs/optimizers.md):

* on construction, each parameter group gets ONE contiguous 1-D array holding all its
  parameters (their common dtype); every ``p.data`` is rebound to a reshaped view of it;
* likewise one gradient buffer whose views become ``p.grad`` (the engine accumulates into an
  existing ``.grad`` in place, so backward writes straight into the buffer);
* the optimizer state (momentum, moment estimates, ...) is flat buffers of the same length,
  plus preallocated scratch buffers, so that ``step()`` is a handful of in-place NumPy ufunc
  calls (``out=``) over the whole group, not a Python loop over parameters.

``step()`` first checks cheaply (by identity) that every ``p.data`` and ``p.grad`` is still its
view. A rebound ``p.data`` or a replaced ``p.grad`` (e.g. by ``Module.zero_grad()``, which sets
grads to None, followed by a backward that creates fresh arrays) is copied into the buffer and
the view is rebound. A parameter whose ``grad`` is None is skipped as in PyTorch: neither it
nor its state changes, and its own step count does not advance (which matters for Adam's bias
correction and Adagrad's lr_decay). Skipped parameters split the update into a few runs of
consecutive parameters; the common case (all gradients present) is a single run.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable

import numpy as np

from .. import kernels as _kernels
from ..autograd import enable_grad, set_grad_buffer
from ..tensor import Tensor
from .clip import clip_flat_
from .transforms import lerp_  # noqa: F401 (re-exported: its historical home)

__all__ = ["Optimizer"]

VARIANTS = ("pytorch", "lecture")
_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ------------------------------------------------------------------------------ validation
def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fmt_range(low: float, high: float, low_closed: bool, high_closed: bool) -> str:
    return f"{'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"


def check_real(
    owner: str,
    name: str,
    value: Any,
    low: float = 0.0,
    high: float = math.inf,
    low_closed: bool = True,
    high_closed: bool = False,
    hint: str = "",
) -> float:
    """Return ``value`` as a float if it is a real number in the given interval, else raise.

    The error names the optimizer, the hyperparameter, the bad value and the valid range.
    """
    valid = _fmt_range(low, high, low_closed, high_closed)
    if not _is_real(value):
        raise TypeError(
            f"{owner}: {name} must be a real number in {valid}, got {value!r} of type "
            f"{type(value).__name__}"
        )
    x = float(value)
    ok_low = x >= low if low_closed else x > low
    ok_high = x <= high if high_closed else x < high
    if not (ok_low and ok_high):  # also catches NaN
        raise ValueError(f"{owner}: invalid {name} {value!r}: must be in {valid}{hint}")
    return x


def check_bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def lr_value(owner: str, lr: Any, step: int) -> float:
    """The learning rate for update number ``step``: ``lr`` itself or ``lr(step)``."""
    if callable(lr):
        result = lr(step)
        try:
            value = float(result)
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: the lr schedule {lr!r} returned {result!r} of type "
                f"{type(result).__name__} at step {step}; a schedule must return a real number"
            ) from None
        if not (0.0 <= value < math.inf):
            raise ValueError(
                f"{owner}: the lr schedule {lr!r} returned {value!r} at step {step}; a learning "
                "rate must be finite and >= 0"
            )
        return value
    if not (0.0 <= lr < math.inf):
        raise ValueError(f"{owner}: invalid lr {lr!r}: must be a finite number >= 0")
    return lr


def check_lr(owner: str, lr: Any, name: str = "lr") -> float | Callable[[int], float]:
    """Validate an ``lr`` argument: a finite float >= 0, or a schedule (callable step -> lr)."""
    if isinstance(lr, bool):
        raise TypeError(f"{owner}: {name} must be a float or a schedule, got {lr!r}")
    if _is_real(lr):
        x = float(lr)
        if not (0.0 <= x < math.inf):
            raise ValueError(
                f"{owner}: invalid {name} {lr!r}: must be a finite float in [0, inf) or a "
                "schedule (a callable step -> lr)"
            )
        return x
    if callable(lr):
        lr_value(owner, lr, 0)  # fail now, not at the first update
        return lr
    raise TypeError(
        f"{owner}: {name} must be a float in [0, inf) or a schedule (a callable step -> lr), "
        f"got {lr!r} of type {type(lr).__name__}"
    )


# ------------------------------------------------------------------------------ flat groups
class _FlatGroup:
    """The buffers of one parameter group: parameters, gradients, state and scratch."""

    __slots__ = (
        "params", "shapes", "sizes", "offsets", "dtype", "size", "data", "grad",
        "data_views", "grad_views", "state", "steps", "uniform", "scratch",
    )

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.dtype = params[0].data.dtype
        self.shapes = [p.data.shape for p in params]
        self.sizes = [int(p.data.size) for p in params]
        self.offsets = [0]
        for n in self.sizes:
            self.offsets.append(self.offsets[-1] + n)
        self.size = self.offsets[-1]
        self.data = np.empty(self.size, dtype=self.dtype)
        self.grad = np.zeros(self.size, dtype=self.dtype)
        self.data_views = []
        self.grad_views = []
        for i, p in enumerate(params):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            dv = self.data[lo:hi].reshape(self.shapes[i])
            gv = self.grad[lo:hi].reshape(self.shapes[i])
            dv[...] = p.data
            p.data = dv
            # backward writes a gradient arriving while p.grad is None straight into the
            # buffer (autograd.set_grad_buffer), so zero_grad(set_to_none=True) costs nothing
            set_grad_buffer(p, gv)
            if p.grad is not None:
                _copy_grad(p, gv, i)
                p.grad = gv
            self.data_views.append(dv)
            self.grad_views.append(gv)
        self.state: dict[str, np.ndarray] = {}
        self.steps = [0] * len(params)  # updates done per parameter (PyTorch's state["step"])
        self.uniform = True  # all entries of steps are equal
        self.scratch: list[np.ndarray] = []

    def buffer(self, name: str, fill: float = 0.0) -> np.ndarray:
        """The flat state buffer ``name``, created (filled with ``fill``) on first use."""
        buf = self.state.get(name)
        if buf is None:
            buf = self.state[name] = np.full(self.size, fill, dtype=self.dtype)
        return buf

    def tmp(self, i: int) -> np.ndarray:
        while len(self.scratch) <= i:
            self.scratch.append(np.empty(self.size, dtype=self.dtype))
        return self.scratch[i]


def _copy_grad(p: Tensor, view: np.ndarray, index: int) -> None:
    g = p.grad
    g = g.data if isinstance(g, Tensor) else np.asarray(g)
    if g.shape != view.shape:
        raise ValueError(
            f"parameter {index} of shape {view.shape} has a .grad of shape {g.shape}; a "
            "gradient must have the shape of its parameter"
        )
    np.copyto(view, g, casting="same_kind")


class Run:
    """The slices ``[lo:hi]`` of a group's buffers that one vectorised update works on.

    For the common case (every gradient present, all step counts equal) the run is the whole
    group and the arrays are the buffers themselves.
    """

    __slots__ = ("group", "lo", "hi", "whole", "p", "g", "lr", "lr_next", "t", "factor")

    def __init__(self, group: _FlatGroup, lo: int, hi: int) -> None:
        self.group = group
        self.lo = lo
        self.hi = hi
        self.whole = lo == 0 and hi == group.size
        self.p = group.data if self.whole else group.data[lo:hi]
        self.g = group.grad if self.whole else group.grad[lo:hi]
        # The scalars of this update, read by the transforms (descend.optim.transforms) and
        # passed to the fused kernels: the learning rate, the next update's (the lecture's
        # Nesterov look-ahead), the 1-based update number and a step factor that transforms
        # may set (Adam's bias correction).
        self.lr = 0.0
        self.lr_next = 0.0
        self.t = 1
        self.factor = 1.0

    def step_size(self) -> float:
        """The scalar the update direction is multiplied by: ``-lr * factor``."""
        return -self.lr * self.factor

    @property
    def is64(self) -> bool:
        """Whether the buffers are float64 (else float32; other dtypes never take the C path)."""
        return self.group.dtype == np.float64

    def kernels(self):
        """The compiled kernels module when the C path is active and the buffers are
        float32/float64 (all flat buffers are contiguous), else None."""
        k = _kernels.fused()
        if k is None or self.group.dtype not in _FUSED_DTYPES:
            return None
        return k

    def state(self, name: str, fill: float = 0.0) -> np.ndarray:
        buf = self.group.buffer(name, fill)
        return buf if self.whole else buf[self.lo:self.hi]

    def has_state(self, name: str) -> bool:
        return name in self.group.state

    def tmp(self, i: int) -> np.ndarray:
        buf = self.group.tmp(i)
        return buf if self.whole else buf[self.lo:self.hi]


# ------------------------------------------------------------------------------- optimizer
class Optimizer:
    """Base class of the optimizers: parameter groups, flat buffers, state_dict, clipping.

    ``params`` is an iterable of tensors (one group) or of dicts (several groups: each has a
    ``"params"`` entry and may override any hyperparameter, as in PyTorch). ``lr`` of a group
    is a float or a schedule (callable ``step -> lr``), evaluated once per ``step()`` at the
    number of updates done before it. ``clip_norm`` clips the global L2 norm of all gradients
    before every update (``torch.nn.utils.clip_grad_norm_``). ``variant`` is ``"pytorch"``
    (default) or ``"lecture"``.

    Subclasses set ``_defaults`` (via ``__init__``), implement ``_validate(hp, where)`` and
    ``_update(hp, lr, t, run)``; ``t`` is the 1-based update number of the run's parameters.
    """

    _name = "Optimizer"

    def __init__(
        self,
        params: Iterable[Any],
        defaults: dict[str, Any],
        *,
        clip_norm: float | None = None,
        variant: str = "pytorch",
    ) -> None:
        self._name = type(self).__name__
        if variant not in VARIANTS:
            raise ValueError(
                f"{self._name}: unknown variant {variant!r}: must be one of "
                + ", ".join(repr(v) for v in VARIANTS)
            )
        self.variant = variant
        self.defaults = dict(defaults)
        self._validate(self.defaults, "")
        self.defaults = self._normalise(self.defaults)
        self.clip_norm = self._check_clip(clip_norm)
        self.last_grad_norm: float | None = None
        self.param_groups: list[dict[str, Any]] = []
        self._groups: list[_FlatGroup] = []
        self._step_count = 0

        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params must be an iterable of tensors or of dicts, got a single "
                "Tensor; pass [tensor]"
            )
        if isinstance(params, dict):
            params = [params]
        items = list(params)
        if not items:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if all(isinstance(x, dict) for x in items):
            groups = items
        elif any(isinstance(x, dict) for x in items):
            raise TypeError(
                f"{self._name}: params mixes tensors and dicts; pass either tensors (one group) "
                "or dicts with a 'params' entry (one per group)"
            )
        else:
            groups = [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    # --------------------------------------------------------------- subclass interface
    def _validate(self, hp: dict[str, Any], where: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _update(self, hp: dict[str, Any], lr: float, t: int, run: Run) -> None:  # pragma: no cover
        raise NotImplementedError

    def _normalise(self, hp: dict[str, Any]) -> dict[str, Any]:
        """Numbers as Python floats (bools stay bools, lr schedules stay callables)."""
        out = {}
        for k, v in hp.items():
            if k == "lr" and callable(v):
                out[k] = v
            elif isinstance(v, (bool, np.bool_)):
                out[k] = bool(v)
            elif isinstance(v, (tuple, list)):
                out[k] = tuple(float(x) for x in v)
            elif _is_real(v):
                out[k] = float(v)
            else:
                out[k] = v
        return out

    def _check_clip(self, clip_norm: Any) -> float | None:
        if clip_norm is None:
            return None
        return check_real(self._name, "clip_norm", clip_norm, 0.0, math.inf, low_closed=False)

    # -------------------------------------------------------------------------- groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        if not isinstance(group, dict):
            raise TypeError(f"{self._name}: a parameter group must be a dict, got {type(group).__name__}")
        index = len(self.param_groups)
        where = f" (param group {index})"
        if "params" not in group:
            raise ValueError(f"{self._name}: param group {index} has no 'params' entry")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(
                f"{self._name}: param group {index} has unknown hyperparameter(s) "
                f"{', '.join(unknown)}; valid ones: {', '.join(self.defaults)}"
            )
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        params = list(params)
        if not params:
            raise ValueError(f"{self._name}: param group {index} has an empty parameter list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        local: set[int] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{self._name}: parameter {i} of group {index} is a {type(p).__name__}, "
                    "not a descend Tensor"
                )
            if p.data.dtype.kind != "f":
                raise TypeError(
                    f"{self._name}: parameter {i} of group {index} has dtype {p.data.dtype}; "
                    "only floating-point tensors can be optimized"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{self._name}: parameter {i} of group {index} is not a leaf tensor (it was "
                    "computed by an op); optimize the tensors you created"
                )
            if p.grad is not None and np.shape(p.grad) != p.data.shape:
                raise ValueError(
                    f"{self._name}: parameter {i} of group {index} of shape {p.data.shape} has "
                    f"a .grad of shape {np.shape(p.grad)}"
                )
            if id(p) in seen or id(p) in local:
                raise ValueError(
                    f"{self._name}: parameter {i} of group {index} appears more than once in "
                    "the optimizer's parameter groups"
                )
            local.add(id(p))
        dtypes = {p.data.dtype for p in params}
        if len(dtypes) > 1:
            raise TypeError(
                f"{self._name}: param group {index} mixes dtypes "
                f"{', '.join(sorted(str(d) for d in dtypes))}; the parameters of a group share "
                "one flat buffer, so put parameters of different dtypes in separate groups"
            )
        hp = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self._validate(hp, where)
        hp = self._normalise(hp)
        flat = _FlatGroup(params)
        self.param_groups.append({"params": params, **hp})
        self._groups.append(flat)

    # ------------------------------------------------------------------------ accessors
    @property
    def step_count(self) -> int:
        """Number of updates done (``step()`` calls)."""
        return self._step_count

    @property
    def lr(self) -> float:
        """The learning rate the next update of the first group will use."""
        return lr_value(self._name, self.param_groups[0]["lr"], self._step_count)

    @lr.setter
    def lr(self, value: Any) -> None:
        """Set ``lr`` (a float or a schedule) of every group."""
        value = check_lr(self._name, value)
        for group in self.param_groups:
            group["lr"] = value

    @property
    def state(self) -> dict[Tensor, dict[str, Any]]:
        """Per-parameter view of the state, as in PyTorch: ``{param: {"step": n, name: view}}``.

        The arrays are views into the flat state buffers (writing to them changes the state).
        """
        out: dict[Tensor, dict[str, Any]] = {}
        for g in self._groups:
            for i, p in enumerate(g.params):
                lo, hi = g.offsets[i], g.offsets[i + 1]
                entry: dict[str, Any] = {"step": g.steps[i]}
                for name, buf in g.state.items():
                    entry[name] = buf[lo:hi].reshape(g.shapes[i])
                out[p] = entry
        return out

    # ------------------------------------------------------------------ flat buffers
    def gather_parameters(self) -> list[np.ndarray]:
        """The flat parameter buffer of every group, made current.

        Each group keeps its parameters in one contiguous 1-D array, and every parameter's
        ``.data`` is a view of it. A parameter whose ``.data`` was rebound since is copied
        back into the buffer (and viewed again) first. Writing into a returned buffer writes
        the parameters, which is how data-parallel training broadcasts rank 0's weights.
        """
        for g in self._groups:
            self._sync_data(g)
        return [g.data for g in self._groups]

    def gather_gradients(self) -> list[np.ndarray]:
        """The flat gradient buffer of every group, holding every parameter's current gradient.

        A gradient that is not already the parameter's view of the buffer is copied into it
        and ``.grad`` becomes that view; a parameter without a gradient (``None``) gets zeros
        and, from then on, a zero gradient of its own (so the next ``step()`` updates it, as
        it would update a parameter whose gradient is zero). Writing into a returned buffer
        writes the gradients the next ``step()`` uses: data-parallel training averages them
        over processes in place.
        """
        for g in self._groups:
            self._sync_data(g)
            for i, (p, gv) in enumerate(zip(g.params, g.grad_views)):
                if p.grad is gv:
                    continue
                if p.grad is None:
                    gv.fill(0)
                else:
                    _copy_grad(p, gv, i)
                p.grad = gv
        return [g.grad for g in self._groups]

    def _sync_data(self, g: _FlatGroup) -> None:
        for i, (p, dv) in enumerate(zip(g.params, g.data_views)):
            if p.data is not dv:
                data = p.data.data if isinstance(p.data, Tensor) else np.asarray(p.data)
                if data.shape != dv.shape:
                    raise ValueError(
                        f"{self._name}: parameter {i} was rebound to data of shape {data.shape}, "
                        f"but it had shape {dv.shape}; write values in place instead "
                        "(param.data[...] = value)"
                    )
                np.copyto(dv, data, casting="same_kind")
                p.data = dv

    def __repr__(self) -> str:
        lines = [f"{self._name}(variant={self.variant!r}, clip_norm={self.clip_norm!r}"]
        for i, group in enumerate(self.param_groups):
            hp = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {hp}")
        return "\n".join(lines) + "\n)"

    # ---------------------------------------------------------------------- zero_grad
    def zero_grad(self, set_to_none: bool = False) -> None:
        """Reset the gradients before the next backward.

        Default (``set_to_none=False``, PyTorch's old default): fill the flat gradient buffer
        with zeros; every ``p.grad`` that is an array becomes (again) its zeroed view, a
        ``None`` grad stays None. ``set_to_none=True`` sets every ``p.grad`` to None (as
        PyTorch 2's default) and is the faster choice: no fill, and backward writes each
        arriving gradient straight into the parameter's view of the flat buffer (the view is
        registered as the parameter's gradient buffer, see ``autograd.set_grad_buffer``), where a
        zero-filled buffer costs a fill plus an addition. A parameter that backward does not
        reach keeps ``grad`` None and is skipped by ``step()``, as in PyTorch. An array taken
        from ``p.grad`` before the reset is that view, so the next backward overwrites it.
        """
        for g in self._groups:
            if set_to_none:
                for p in g.params:
                    p.grad = None
                continue
            g.grad.fill(0)
            for p, gv in zip(g.params, g.grad_views):
                if p.grad is not gv and p.grad is not None:
                    p.grad = gv

    # ---------------------------------------------------------------------------- step
    def _sync(self, g: _FlatGroup) -> list[bool] | None:
        """Make the buffers hold the current values; return the skip mask (None: none skipped)."""
        skipped = None
        grad_views = g.grad_views
        # One pass for the common case (every value and gradient already in the buffers).
        for p, dv, gv in zip(g.params, g.data_views, grad_views):
            if p.data is not dv or p.grad is not gv:
                break
        else:
            return None
        self._sync_data(g)
        for i, (p, gv) in enumerate(zip(g.params, grad_views)):
            if p.grad is not gv:
                if p.grad is None:
                    if skipped is None:
                        skipped = [False] * len(g.params)
                    skipped[i] = True
                    gv.fill(0)  # keeps the global gradient norm right; p.grad stays None
                else:
                    _copy_grad(p, gv, i)
                    p.grad = gv
        return skipped

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Do one update of every parameter that has a gradient; return ``closure()`` if given.

        The learning rate of each group is evaluated once, at ``step_count`` (the number of
        updates done before this one).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        t_global = self._step_count
        lrs = [lr_value(self._name, group["lr"], t_global) for group in self.param_groups]
        masks = [self._sync(g) for g in self._groups]
        if self.clip_norm is not None:
            self.last_grad_norm = clip_flat_([g.grad for g in self._groups], self.clip_norm)
        for hp, lr, g, skipped in zip(self.param_groups, lrs, self._groups, masks):
            if skipped is None and g.uniform:
                t = g.steps[0] + 1
                self._update(hp, lr, t, Run(g, 0, g.size))
                g.steps = [t] * len(g.params)
                continue
            self._update_runs(hp, lr, g, skipped)
        self._step_count = t_global + 1
        return loss

    def _update_runs(self, hp: dict[str, Any], lr: float, g: _FlatGroup, skipped: list[bool] | None) -> None:
        """Slow path: runs of consecutive present parameters with equal step counts."""
        n = len(g.params)
        steps = g.steps
        i = 0
        while i < n:
            if skipped is not None and skipped[i]:
                i += 1
                continue
            j = i + 1
            while j < n and not (skipped is not None and skipped[j]) and steps[j] == steps[i]:
                j += 1
            t = steps[i] + 1
            self._update(hp, lr, t, Run(g, g.offsets[i], g.offsets[j]))
            for k in range(i, j):
                steps[k] = t
            i = j
        g.uniform = all(s == steps[0] for s in steps)

    # ---------------------------------------------------------------------- state_dict
    def state_dict(self) -> dict[str, Any]:
        """A snapshot (copies) of everything a restored optimizer needs to continue exactly.

        ``{"optimizer": class name, "variant", "step_count", "clip_norm",
        "param_groups": [hyperparameters + "param_shapes" + "dtype" + "param_steps"],
        "state": [{buffer name: flat array copy} per group]}``. The parameters' values are
        not included (they belong to the model's state_dict).
        """
        groups = []
        states = []
        for hp, g in zip(self.param_groups, self._groups):
            entry = {k: v for k, v in hp.items() if k != "params"}
            entry["param_shapes"] = [tuple(s) for s in g.shapes]
            entry["dtype"] = str(g.dtype)
            entry["param_steps"] = list(g.steps)
            groups.append(entry)
            states.append({name: buf.copy() for name, buf in g.state.items()})
        return {
            "optimizer": self._name,
            "variant": self.variant,
            "step_count": self._step_count,
            "clip_norm": self.clip_norm,
            "param_groups": groups,
            "state": states,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``: validated completely before anything changes."""
        name = self._name
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        missing = [k for k in ("optimizer", "variant", "step_count", "param_groups", "state") if k not in state_dict]
        if missing:
            raise ValueError(f"{name}.load_state_dict: the state_dict lacks {', '.join(missing)}")
        if state_dict["optimizer"] != name:
            raise ValueError(
                f"{name}.load_state_dict: the state_dict is of a {state_dict['optimizer']} "
                f"optimizer, not {name}"
            )
        if state_dict["variant"] != self.variant:
            raise ValueError(
                f"{name}.load_state_dict: the state_dict is of variant "
                f"{state_dict['variant']!r}, this optimizer has variant {self.variant!r}"
            )
        saved_groups = state_dict["param_groups"]
        saved_states = state_dict["state"]
        if len(saved_groups) != len(self._groups) or len(saved_states) != len(self._groups):
            raise ValueError(
                f"{name}.load_state_dict: the state_dict has {len(saved_groups)} parameter "
                f"group(s), this optimizer has {len(self._groups)}"
            )
        step_count = state_dict["step_count"]
        if not isinstance(step_count, numbers.Integral) or step_count < 0:
            raise ValueError(f"{name}.load_state_dict: invalid step_count {step_count!r}")
        clip_norm = self._check_clip(state_dict.get("clip_norm"))
        new_hps = []
        for index, (saved, saved_state, g) in enumerate(zip(saved_groups, saved_states, self._groups)):
            shapes = [tuple(s) for s in saved.get("param_shapes", ())]
            if len(shapes) != len(g.shapes):
                raise ValueError(
                    f"{name}.load_state_dict: param group {index} has {len(shapes)} "
                    f"parameters in the state_dict, {len(g.shapes)} in this optimizer"
                )
            for i, (a, b) in enumerate(zip(shapes, g.shapes)):
                if tuple(a) != tuple(b):
                    raise ValueError(
                        f"{name}.load_state_dict: parameter {i} of group {index} has shape "
                        f"{tuple(a)} in the state_dict but {tuple(b)} here"
                    )
            steps = list(saved.get("param_steps", ()))
            if len(steps) != len(g.shapes) or not all(isinstance(s, numbers.Integral) and s >= 0 for s in steps):
                raise ValueError(
                    f"{name}.load_state_dict: param group {index} has invalid param_steps {steps!r}"
                )
            for key, arr in saved_state.items():
                if not isinstance(arr, np.ndarray) or arr.shape != (g.size,):
                    shape = getattr(arr, "shape", type(arr).__name__)
                    raise ValueError(
                        f"{name}.load_state_dict: state {key!r} of group {index} has shape "
                        f"{shape}, expected ({g.size},)"
                    )
            hp = {k: v for k, v in saved.items() if k in self.defaults}
            absent = sorted(set(self.defaults) - set(hp))
            if absent:
                raise ValueError(
                    f"{name}.load_state_dict: param group {index} lacks hyperparameter(s) "
                    f"{', '.join(absent)}"
                )
            self._validate(hp, f" (param group {index} of the state_dict)")
            new_hps.append((self._normalise(hp), [int(s) for s in steps]))
        # Everything is valid: now change state.
        for group, g, (hp, steps), saved_state in zip(self.param_groups, self._groups, new_hps, saved_states):
            group.update(hp)
            g.steps = steps
            g.uniform = all(s == steps[0] for s in steps)
            g.state = {key: np.array(arr, dtype=g.dtype, copy=True) for key, arr in saved_state.items()}
        self._step_count = int(step_count)
        self.clip_norm = clip_norm
