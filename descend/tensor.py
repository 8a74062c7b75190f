"""``Tensor``, a NumPy array that remembers how it was computed, and ``Function``, an op.

A ``Function`` subclass is one primitive op: ``forward`` maps input arrays to an output
array (saving what its derivative needs on ``self``), and ``backward`` maps the gradient of
the output to the gradients of the inputs (vector-Jacobian products), right beside it.
``Function.apply`` runs the forward pass on tensors and, when gradients are being recorded
and some input requires grad, links the result to the op so ``Tensor.backward`` can find it.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from . import autograd
from .autograd import _GradMode

__all__ = ["Tensor", "Function", "tensor", "zeros", "ones", "zeros_like", "ones_like"]

DEFAULT_DTYPE = np.dtype(np.float32)


class Function:
    """Base class of primitive ops: ``forward`` and ``backward`` side by side.

    ``backward(grad)`` returns one gradient per input, in input order (None where an input
    needs none); each may have the broadcast shape, since the engine sums it back to the
    input's shape with ``autograd.unbroadcast``. ``self.inputs`` holds the input tensors, so
    an op can skip work for inputs that do not require grad.
    """

    released = False
    inputs: tuple[Tensor, ...] = ()
    seq = 0  # the op's creation number (set by ``apply`` when it is recorded)
    # Hooks and retain_grad of the op's output (an ``autograd.TensorHooks``), or None.
    tensor_hooks: autograd.TensorHooks | None = None

    def forward(self, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> Sequence[np.ndarray | None]:
        raise NotImplementedError

    def release(self) -> None:
        """Drop the values saved for backward, keeping only the graph's edges."""
        d = self.__dict__
        inputs, seq = self.inputs, self.seq
        d.clear()
        d["inputs"] = inputs
        d["seq"] = seq
        d["released"] = True

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs: Any) -> Tensor:
        fn = _new(cls)
        try:
            data = fn.forward(*[t.data for t in inputs], **kwargs)
        except ValueError as error:
            shapes = ", ".join(str(t.data.shape) for t in inputs)
            raise _same_kind(error, f"{cls.__name__} of shapes {shapes}: {error}") from None
        out = _new(Tensor)
        out.data = data
        out.grad = None
        if _GradMode.enabled:
            for t in inputs:
                if t.requires_grad:
                    fn.inputs = inputs
                    fn.seq = next(_sequence)
                    out.requires_grad = True
                    out._ctx = fn
                    return out
        out.requires_grad = False
        out._ctx = None
        return out


def _same_kind(error: ValueError, message: str) -> ValueError:
    """``error``'s class with a new message, so a subclass (NumPy's AxisError, which is also
    an IndexError) stays catchable as such; a plain ValueError when the class cannot be
    built from a message alone."""
    try:
        return type(error)(message)
    except Exception:  # noqa: BLE001 (a subclass with another constructor signature)
        return ValueError(message)


_new = object.__new__
# The seed gradient of backward() on a one-element tensor, per (shape, dtype): copying a cached
# array is several times cheaper than np.ones (a Python function) on every training step.
_ONES: dict = {}
# Every recorded op gets the next number; an op's inputs are recorded before it, so
# decreasing numbers are a reverse topological order for the backward pass.
_sequence = itertools.count()


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to an ndarray: Python floats become float32, as in PyTorch."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        array = data.copy()
    else:
        array = np.array(data)
        if array.dtype == np.float64:
            array = array.astype(DEFAULT_DTYPE)
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        array = array.astype(DEFAULT_DTYPE)
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"cannot make a tensor of dtype {array.dtype}: descend tensors hold floating-point, "
            "integer or boolean numbers"
        )
    return array


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``data`` is the underlying ``numpy.ndarray``. If ``requires_grad`` is true, ops on this
    tensor are recorded, and ``backward()`` accumulates d(output)/d(this) into ``grad`` (an
    ndarray of the same shape, or None before the first backward).
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_grad_buffer", "_hooks", "__weakref__")
    # NumPy defers to our reflected operators (``array + tensor`` calls ``__radd__``).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._ctx: Function | None = None
        # Where backward puts this leaf's gradient when ``grad`` is None: an optimizer sets it
        # to the leaf's view of its flat gradient buffer (see ``autograd._accumulate_leaf``).
        self._grad_buffer: np.ndarray | None = None
        self._hooks: autograd.TensorHooks | None = None  # a leaf's gradient hooks
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, ctx: Function | None) -> Tensor:
        """Wrap an op's result without copying or validating it (the hot path)."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._grad_buffer = None
        t._hooks = None
        return t

    @classmethod
    def from_array(cls, data: np.ndarray) -> Tensor:
        """A constant tensor (no gradient) that wraps ``data`` without copying or validating it:
        for input batches on a hot path. ``data`` must not change while the tensor is in use."""
        return cls._make(data, False, None)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place; only floating-point tensors can have gradients.

        Only a leaf's flag can change: a tensor computed by a recorded op is part of the graph,
        and turning its flag off would silently cut the graph (``detach()`` does that openly).
        """
        if self._ctx is not None and not requires_grad:
            raise RuntimeError(
                f"requires_grad_(False) on a non-leaf tensor (the output of "
                f"{type(self._ctx).__name__}): only leaves' flags can change, and this would "
                "silently cut the graph; use t.detach() for a tensor cut off from the graph"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor, but this one is "
                f"{self.data.dtype}; create it with dtype=np.float32 (or float64)"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # ----------------------------------------------------------------- array-like facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records gradients."""
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != DEFAULT_DTYPE:
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut off from the graph (shares memory, requires no grad)."""
        return Tensor._make(self.data, False, None)

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype``; differentiable between floating-point types."""
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def zero_grad(self) -> None:
        self.grad = None

    # ------------------------------------------------------------ seeing gradients
    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward (leaves always do).

        The lecture's g(i) for an intermediate node u(i): after ``loss.backward()``, ``.grad``
        holds d(loss)/d(this), accumulated over backward calls like a leaf's.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "retain_grad() on a tensor that does not require grad: it has no gradient; "
                "make an input of its computation require grad (outside no_grad())"
            )
        if self._ctx is not None:
            self._node_hooks().retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf on which ``retain_grad()`` was called."""
        hooks = self._ctx.tensor_hooks if self._ctx is not None else None
        return hooks is not None and hooks.retained is not None

    def register_hook(self, hook: Callable[[np.ndarray], Any]) -> autograd.HookHandle:
        """Call ``hook(grad)`` with this tensor's gradient each time backward computes it.

        ``grad`` is a read-only ndarray of this tensor's shape (for a leaf: the total of the
        backward pass, before it is added into ``.grad``). A hook may return a replacement
        gradient (an array or Tensor of the same shape), which is what flows on to the inputs
        (or into a leaf's ``.grad``); returning None keeps the gradient. Hooks run in
        registration order. Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook() on a tensor that does not require grad: backward never "
                "computes its gradient"
            )
        if not callable(hook):
            raise TypeError(f"register_hook needs a callable, got {type(hook).__name__}")
        return self._node_hooks().add(hook)

    def _node_hooks(self) -> autograd.TensorHooks:
        """This tensor's hooks: on the op that made it (non-leaf) or on itself (leaf)."""
        owner = self._ctx if self._ctx is not None else self
        attribute = "tensor_hooks" if self._ctx is not None else "_hooks"
        hooks = getattr(owner, attribute, None)
        if hooks is None:
            hooks = autograd.TensorHooks()
            setattr(owner, attribute, hooks)
        return hooks

    # ----------------------------------------------------------------------- backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor, accumulating gradients into the leaves' ``.grad``.

        ``grad`` is d(loss)/d(self); it may be omitted only for a one-element tensor (it is
        then 1, the lecture's ``g_n = 1``).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the computation "
                "had requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a grad argument needs a single-element output, but this "
                    f"tensor has shape {self.shape}; reduce it to a scalar (e.g. .sum() or .mean()) "
                    f"or pass grad= an array of shape {self.shape}"
                )
            data = self.data
            key = (data.shape, data.dtype)
            one = _ONES.get(key)
            if one is None:
                one = _ONES[key] = np.ones(data.shape, dtype=data.dtype)
            grad = one.copy()  # a fresh array: an op's backward may write into its gradient
        else:
            grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad=...) got a grad of shape {grad.shape} for a tensor of shape "
                    f"{self.shape}; they must be equal"
                )
            grad = grad.astype(self.dtype, copy=False)
        autograd.backward(self, grad, retain_graph=retain_graph)

    # ------------------------------------------------------------------ arithmetic
    def _other(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            return other
        if isinstance(other, np.ndarray):
            return Tensor._make(other, False, None)
        # Python numbers take this tensor's dtype, so float32 stays float32.
        dtype = self.data.dtype if self.data.dtype.kind == "f" else None
        return Tensor._make(np.asarray(other, dtype=dtype), False, None)

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, self._other(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(self._other(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, self._other(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self._other(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, self._other(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self._other(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, self._other(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self._other(other), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, self._other(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self._other(other), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (Tensor, np.ndarray)):
            return ops.Pow.apply(self, self._other(exponent))
        return ops.PowScalar.apply(self, exponent=exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return ops.Pow.apply(self._other(base), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    # Comparisons give plain boolean tensors: they are not differentiable.
    def _compare(self, other: Any, ufunc) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self.data, other), False, None)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self.data)

    # -------------------------------------------------------------- elementwise maths
    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.Clip.apply(self, low=min, high=max)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    # ---------------------------------------------------------------------- reductions
    def sum(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **torch_names: Any
    ) -> Tensor:
        if torch_names:
            reject_torch_names("sum", torch_names)
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **torch_names: Any
    ) -> Tensor:
        if torch_names:
            reject_torch_names("mean", torch_names)
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **torch_names: Any
    ) -> Tensor:
        if torch_names:
            reject_torch_names("max", torch_names)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **torch_names: Any
    ) -> Tensor:
        if torch_names:
            reject_torch_names("min", torch_names)
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def logsumexp(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **torch_names: Any
    ) -> Tensor:
        if torch_names:
            reject_torch_names("logsumexp", torch_names)
        return ops.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1, **torch_names: Any) -> Tensor:
        if torch_names:
            reject_torch_names("softmax", torch_names)
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1, **torch_names: Any) -> Tensor:
        if torch_names:
            reject_torch_names("log_softmax", torch_names)
        return ops.LogSoftmax.apply(self, axis=axis)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Indices of the maxima (no gradient)."""
        return Tensor._make(np.argmax(self.data, axis=axis), False, None)

    # ------------------------------------------------------------------------- shapes
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def flatten(self, start_axis: int = 0) -> Tensor:
        """Merge the axes from ``start_axis`` on into one."""
        return self.reshape(self.shape[:start_axis] + (-1,))

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> Tensor:
        return ops.Transpose.apply(self, axes=None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        for axis in (axis1, axis2):
            if not -self.ndim <= axis < self.ndim:
                raise ops.reduction.axis_error(axis, self.ndim)
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return ops.Transpose.apply(self, axes=tuple(axes))

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def expand_dims(self, axis: int | tuple[int, ...] | None = None, **torch_names: Any) -> Tensor:
        if torch_names or axis is None:
            reject_torch_names("expand_dims", torch_names)
        return ops.ExpandDims.apply(self, axis=axis)

    def squeeze(self, axis: int | tuple[int, ...] | None = None, **torch_names: Any) -> Tensor:
        if torch_names:
            reject_torch_names("squeeze", torch_names)
        return ops.Squeeze.apply(self, axis=axis)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=index)


def reject_torch_names(fn: str, names: dict) -> None:
    """Unknown keywords of an axis-taking method: name descend's (NumPy's) spelling when the
    caller used PyTorch's (``dim``, ``keepdim``)."""
    hints = {"dim": "axis", "keepdim": "keepdims"}
    for name in names:
        if name in hints:
            raise TypeError(
                f"{fn}() got {name}=: descend follows NumPy's names, so write "
                f"{hints[name]}= (PyTorch's {name}= means the same)"
            )
    if not names:
        raise TypeError(f"{fn}() missing its axis argument")
    raise TypeError(f"{fn}() got an unexpected keyword argument {next(iter(names))!r}")


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Create a tensor from an array, a nested list or a number (copying the data).

    With ``dtype=None``, Python floats become float32, Python ints int64, NumPy arrays keep
    their dtype (float16 becomes float32).
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(shape: int | tuple[int, ...], requires_grad: bool = False, dtype: Any = DEFAULT_DTYPE) -> Tensor:
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(shape: int | tuple[int, ...], requires_grad: bool = False, dtype: Any = DEFAULT_DTYPE) -> Tensor:
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(t.data), requires_grad=requires_grad)


from . import ops  # noqa: E402  (the ops are built on Tensor and Function)
