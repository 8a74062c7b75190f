"""The backpropagation engine: gradient mode, broadcasting reduction, and ``backward``.

This is the lecture's algorithm, written for tensor nodes. Forward propagation records every
op that involves a tensor with ``requires_grad`` as a node of a DAG (define-by-run). Backward
propagation visits the nodes in reverse topological order, starting with ``g_n = 1`` at the
output, and for each node ``i`` sums, over its successors ``j``, the vector-Jacobian products
``g_j * du_j/du_i``; each op supplies its own vector-Jacobian product in ``backward``.

The engine is duck-typed on three attributes of a tensor: ``_ctx`` (the op that made it, or
None for a leaf), ``requires_grad`` and ``grad``; it never imports the Tensor class.
"""

from __future__ import annotations

import functools
import heapq
import inspect
import sys
import threading
from typing import Any, Callable

import numpy as np

__all__ = [
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "unbroadcast", "backward",
]


class _GradModeState(threading.local):
    """Whether ops are recorded, per thread (as in PyTorch): one thread's ``no_grad()`` never
    changes what another records. A ``threading.local`` subclass, so each thread starts with
    grad enabled and the hot path is one attribute read."""

    def __init__(self) -> None:  # runs in each thread on its first use of the state
        # An instance attribute, not a class default: threading.local finds it in the thread's
        # own dict, the fast path of its attribute lookup (a class default costs twice as much).
        self.enabled = True


_GradMode = _GradModeState()


class _GradModeContext:
    """Base of the grad-mode context managers; each also works as a decorator.

    A decorated generator function keeps the mode while its body runs, and only then: the
    mode is set around each resumption of the generator and restored when it yields, so the
    caller's mode is untouched between items (PyTorch's ``_DecoratorContextManager``).
    """

    mode = True

    def __init__(self) -> None:
        # The modes to restore, per thread (one object may be entered by several threads at
        # once) and per object (a generator may yield inside a with-block, so the blocks of
        # different objects need not nest), a stack for re-entering the same object.
        self._previous: dict[int, list[bool]] = {}

    def __enter__(self) -> None:
        self._previous.setdefault(threading.get_ident(), []).append(_GradMode.enabled)
        _GradMode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        thread = threading.get_ident()
        stack = self._previous[thread]
        _GradMode.enabled = stack.pop()
        if not stack:
            del self._previous[thread]

    def clone(self) -> _GradModeContext:
        """A fresh context with the same mode (a decorator enters one per call)."""
        return self.__class__()

    def __call__(self, fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, fn: Callable) -> Callable:
        clone = self.clone

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with clone():
                            gen.close()
                        raise
                    except BaseException:  # noqa: BLE001 (forwarded into the generator)
                        with clone():
                            response = gen.throw(*sys.exc_info())
                    else:
                        with clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return generator


class no_grad(_GradModeContext):
    """Context manager (and decorator) that stops recording ops into the graph.

    Inside it, results of ops never require grad, so no graph nodes are created: use it for
    evaluation and for in-place parameter updates. The mode is per thread.
    """

    mode = False


class enable_grad(_GradModeContext):
    """Context manager (and decorator) that turns recording back on (e.g. inside ``no_grad``)."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(mode)`` sets the grad mode of this thread at once; used as a context
    manager (or decorator) it restores the previous mode on exit, as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(mode) needs a bool, got {type(mode).__name__}")
        self.mode = mode
        self._before = _GradMode.enabled
        _GradMode.enabled = mode

    def __enter__(self) -> None:
        pass  # the mode was set on construction; __exit__ restores the one before it

    def __exit__(self, *exc: Any) -> None:
        _GradMode.enabled = self._before

    def clone(self) -> _GradModeContext:
        context = _GradModeContext()
        context.mode = self.mode
        return context

    def __call__(self, fn: Callable) -> Callable:
        _GradMode.enabled = self._before  # as a decorator it changes nothing now
        return super().__call__(fn)


def is_grad_enabled() -> bool:
    """Whether ops are currently recorded into the graph (in this thread)."""
    return _GradMode.enabled


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` back to ``shape``, undoing NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1; the
    derivative of a copy is the sum of the copies' gradients, so those axes are summed.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _topological_order(root) -> list:
    """Nodes reachable from ``root`` that require grad, each after all of its inputs.

    An iterative depth-first search: a Python recursion would fail on deep graphs (the
    tests backpropagate through a chain of 100,000 ops). ``backward`` itself does not need
    it (it orders the ops by their creation number); it is kept for inspecting a graph.
    """
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for parent in ctx.inputs:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def backward(root, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), contracted with ``grad``, into every leaf's ``.grad``.

    ``grad`` has the shape of ``root``. A node used several times receives the sum of its
    successors' contributions; leaves add into an existing ``.grad`` (in place, so a
    preallocated gradient buffer stays the same array). Unless ``retain_graph`` is true the
    values each op saved for its backward are released, and a second backward through the
    same graph raises an error.

    Order: every op gets an increasing sequence number when it is recorded, and an op's
    inputs are always recorded before it, so visiting the ops from the highest number down
    (a heap of the ops that have received a gradient) is a reverse topological order: an op
    runs its backward only after every op that consumed its output has run. This needs no
    separate graph traversal and no recursion. Leaves accumulate as soon as a contribution
    arrives (addition is order-independent).
    """
    ctx = root._ctx
    if ctx is None:
        hooks = getattr(root, "_hooks", None)
        _accumulate_leaf(root, grad if hooks is None else hooks.run(grad))
        return
    pending = {ctx: grad}  # op -> gradient of its output, summed over its consumers
    hooked_leaves: dict[int, list] = {}  # leaves with hooks get their total, once, at the end
    heap = [(-ctx.seq, ctx)]
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        ctx = pop(heap)[1]
        g = pending.pop(ctx)
        if ctx.released:
            raise RuntimeError(
                f"backward through the graph of {type(ctx).__name__} a second time: its saved "
                "values were freed by the first backward(). Call the first backward with "
                "retain_graph=True, or recompute the forward pass."
            )
        if ctx.tensor_hooks is not None:  # register_hook / retain_grad on the op's output
            g = ctx.tensor_hooks.run(g)
        input_grads = ctx.backward(g)
        if not retain_graph:
            ctx.release()
        for parent, pg in zip(ctx.inputs, input_grads):
            if pg is None or not parent.requires_grad:
                continue
            if pg.shape != parent.data.shape:
                pg = unbroadcast(pg, parent.data.shape)
            pctx = parent._ctx
            if pctx is None:
                if getattr(parent, "_hooks", None) is None:
                    if pg is getattr(parent, "_grad_buffer", None) and parent.grad is None \
                            and pg.dtype == parent.data.dtype:
                        # The op wrote it into the leaf's buffer (``grad_destination``): it
                        # becomes the grad as it is, which is what _accumulate_leaf would do.
                        parent.grad = pg
                    else:
                        _accumulate_leaf(parent, pg)
                else:
                    entry = hooked_leaves.get(id(parent))
                    if entry is None:
                        hooked_leaves[id(parent)] = [parent, pg]
                    else:
                        entry[1] = entry[1] + pg
                continue
            previous = pending.get(pctx)
            if previous is None:
                pending[pctx] = pg
                push(heap, (-pctx.seq, pctx))
            else:
                # Out of place: op backwards may hand the same array to several inputs.
                pending[pctx] = previous + pg
    for leaf, g in hooked_leaves.values():
        _accumulate_leaf(leaf, leaf._hooks.run(g))


class TensorHooks:
    """The gradient hooks of one tensor, and whether a non-leaf keeps its gradient.

    ``run(g)`` calls each hook in registration order with the tensor's gradient ``g`` (a
    read-only array: a hook returns a replacement rather than editing it, since op backwards
    may share one array between inputs); a hook returning an array (or Tensor) replaces the
    gradient passed on, None keeps it. Then, if ``retain_grad()`` was called on a non-leaf,
    the final gradient is added into its ``.grad``, as PyTorch does after all hooks.
    """

    __slots__ = ("hooks", "retained", "_next_id")

    def __init__(self) -> None:
        self.hooks: dict[int, Callable] = {}
        self.retained = None  # a weak reference to the non-leaf tensor that keeps its grad
        self._next_id = 0

    def add(self, hook: Callable) -> HookHandle:
        key = self._next_id
        self._next_id += 1
        self.hooks[key] = hook
        return HookHandle(self.hooks, key)

    def run(self, g: np.ndarray) -> np.ndarray:
        for hook in list(self.hooks.values()):
            view = np.asarray(g).view()  # (an op may hand on a NumPy scalar for a 0-d tensor)
            view.flags.writeable = False
            result = hook(view)
            if result is not None:
                result = np.asarray(getattr(result, "data", result))
                if result.shape != g.shape:
                    raise ValueError(
                        f"gradient hook {getattr(hook, '__name__', hook)!r} returned shape "
                        f"{result.shape} for a gradient of shape {g.shape}; a hook must return "
                        "an array of the gradient's shape, or None to keep it"
                    )
                g = result.astype(g.dtype, copy=False)
        if self.retained is not None:
            tensor = self.retained()
            if tensor is not None:
                if tensor.grad is None:
                    tensor.grad = np.array(g, dtype=tensor.data.dtype, copy=True)
                else:
                    np.add(tensor.grad, g, out=tensor.grad, casting="unsafe")
        return g


class HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict, key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


def _accumulate_leaf(leaf, g: np.ndarray) -> None:
    """Add ``g`` into ``leaf.grad``: in place into an existing array; when there is none,
    into the leaf's gradient buffer (see ``set_grad_buffer``) if it has one, else into a fresh
    copy. A ``g`` that *is* the buffer (an op wrote it there, see ``grad_destination``)
    becomes ``leaf.grad`` without a copy."""
    grad = leaf.grad
    if grad is not None:
        np.add(grad, g, out=grad, casting="unsafe")
        return
    buffer = grad_buffer(leaf)
    if buffer is None:
        leaf.grad = np.array(g, dtype=leaf.data.dtype, copy=True)
        return
    if g is not buffer:
        np.copyto(buffer, g, casting="unsafe")
    leaf.grad = buffer


# ----------------------------------------------------------- gradient buffers (optimizers)
# The one way gradients reach an optimizer's flat buffer without extra copies:
#   1. the optimizer registers each parameter's view of its flat gradient buffer with
#      ``set_grad_buffer(param, view)``;
#   2. when backward reaches a leaf whose ``grad`` is None, the engine writes the gradient
#      into that view and makes it ``leaf.grad`` (``_accumulate_leaf``); with an existing
#      ``grad`` it adds in place, so a zero-filled buffer stays the same array;
#   3. an op that can compute an input's gradient straight into memory (``Linear``'s
#      ``matmul(..., out=)``) asks ``grad_destination(leaf)`` for the view, writes it and
#      returns it as that input's gradient; the engine sees it is the buffer and skips the copy.


def set_grad_buffer(leaf, buffer: np.ndarray | None) -> None:
    """Register ``buffer`` (an array of the leaf's shape and dtype, or None to unregister) as
    where backward puts ``leaf``'s gradient when ``leaf.grad`` is None."""
    if buffer is not None and (buffer.shape != leaf.data.shape or buffer.dtype != leaf.data.dtype):
        raise ValueError(
            f"a gradient buffer must have the leaf's shape {leaf.data.shape} and dtype "
            f"{leaf.data.dtype}, got {buffer.shape} {buffer.dtype}"
        )
    leaf._grad_buffer = buffer


def grad_buffer(leaf):
    """The array backward may write ``leaf``'s gradient into when ``leaf.grad`` is None, or
    None. It must have the leaf's shape and dtype; anything else is ignored."""
    buffer = getattr(leaf, "_grad_buffer", None)
    if buffer is None or buffer.shape != leaf.data.shape or buffer.dtype != leaf.data.dtype:
        return None
    return buffer


def grad_destination(leaf, dtype=None):
    """Where an op may write ``leaf``'s gradient itself (then returning that array as the
    gradient): its registered, C-contiguous buffer when ``leaf`` is a leaf without a
    ``grad`` yet and without hooks (the engine runs those on the gradient before storing it)
    (and the buffer has ``dtype``, if given); else None (return a fresh array)."""
    if leaf._ctx is not None or leaf.grad is not None or getattr(leaf, "_hooks", None) is not None:
        return None
    buffer = grad_buffer(leaf)
    if buffer is None or (dtype is not None and buffer.dtype != dtype) or not buffer.flags.c_contiguous:
        return None
    return buffer
